"""Grade one submission in a private scratch course (a worker's job, local or on a cluster).

The worker builds a scratch course (the config, a copy of a template gradebook holding
only the assignment, the one submitted notebook) and runs, there:

1. a repair pass: not-JSON is reported; cells whose type a student changed get
   it back, deleted read-only cells are restored from the release (duplicated
   ids are left to nbgrader's ``DeduplicateIds``);
2. ``nbgrader autograde`` with the kernel in the sandbox (docs/sandbox.md), under
   limits: a per-cell timeout, a wall-clock limit for the whole notebook, memory and
   processes (a cgroup per submission where one can be had, rlimits otherwise);
3. the trusted verify (sandboxed functions on hidden inputs), recorded in the
   private gradebook; its verdicts are added to the feedback;
4. ``nbgrader generate_feedback``.

It hands back a ``StudentResult`` (plain data) and the autograded notebook and feedback;
only the parent (``grade``) writes the course's gradebook.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.instructor.calibrate import Calibration
from autograder.instructor.course import course_config, db_url
from autograder.instructor.gradebook import scratch_engine
from autograder.instructor.intake import Handin, read_handin
from autograder.instructor.late import penalty_plugin, record_lateness
from autograder.instructor.limits import Options
from autograder.instructor.nbgrader_run import add_trusted_summary, autograde, last_error, nbgrader_api
from autograder.instructor.repair import repair
from autograder.instructor.sandbox import KernelSandbox, Limits
from autograder.instructor.untrusted import student_option
from autograder.instructor.verify import kernel_claims, partial_credit, record, verify_notebook


@dataclass
class StudentResult:
    """What a worker hands back: plain data, written to ``grading/<a>/<student>.json``."""

    student: str
    assignment: str
    # ok | malformed | kernel-crash (the student's code killed it) | timeout | nbgrader-error
    # | grader-error (the grader failed, e.g. the kernel did not start; regrade)
    # | invalid-id (not graded: the folder's name is not a valid student id)
    status: str = "ok"
    notes: list[str] = field(default_factory=list)  # one line each for the report
    cells: dict[str, dict] = field(default_factory=dict)  # grade_id -> auto/trusted/problem
    flags: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for docs/scaling.md
    # how the scores went into the gradebook: 2 = the trusted score as nbgrader's automatic
    # score, the manual score left to people (1, files without this field: as the manual score)
    scheme: int = 2
    late: dict = field(default_factory=dict)  # late.Lateness: submitted, due, seconds_late, penalty

    @property
    def total(self) -> float:
        return sum(c["trusted"] for c in self.cells.values())


def grade_one(
    course: Path,
    assignment: str,
    student: str,
    template_db: Path,
    opts: Options,
    kernel: KernelSandbox | None = None,
    limits: Calibration | None = None,
    handin: Handin | None = None,
) -> StudentResult:
    """Grade one submission in a scratch course; never raises for a bad submission.

    ``kernel`` contains the notebook's kernel (None only with ``--unsafe-no-sandbox``);
    ``limits`` are the per-cell and per-function time limits (see ``calibrate``);
    ``handin`` is what the student handed in, when read elsewhere (a cluster's parent),
    else it is read from the course's ``submitted/`` folder.
    """
    start = time.perf_counter()
    result = StudentResult(student, assignment)
    # the notebook alone, a regular file read with a bound: no link, no extra file
    # (nbgrader would copy it into the feedback as it is) reaches grading
    handin = handin or read_handin(course, student, assignment)
    result.notes += handin.notes
    with (
        tempfile.TemporaryDirectory(prefix=f"grade-{student}-") as tmp,
        scratch_engine(db_url(Path(tmp))),  # nbgrader opens the scratch gradebook about ten times
    ):
        scratch = Path(tmp)
        shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
        shutil.copy(template_db, scratch / "gradebook.db")
        submitted = scratch / "submitted" / student / assignment
        submitted.mkdir(parents=True)
        notebook = submitted / f"{assignment}.ipynb"
        if handin.notebook is not None:
            notebook.write_bytes(handin.notebook)
        if handin.timestamp:  # nbgrader's autograde reads the submission time from here
            (submitted / "timestamp.txt").write_text(handin.timestamp + "\n", encoding="utf-8")
        api = nbgrader_api(scratch, opts, kernel, limits.cells if limits else None)
        mark = time.perf_counter()
        if handin.notebook is not None and repair(notebook, assignment, result.notes):
            result.status, note = autograde(api, assignment, student, opts)
            result.notes += [note] if note else []
        else:
            result.status = "malformed"
        result.phases["autograde"], mark = time.perf_counter() - mark, time.perf_counter()
        results = verify_notebook(
            assignment,
            notebook,
            Limits(function_seconds=opts.function_timeout),
            limits.functions if limits else None,
            partial=partial_credit(course_config(scratch)),
        )
        result.phases["verify"], mark = time.perf_counter() - mark, time.perf_counter()
        faults = [r.grader_fault for r in results if r.grader_fault]
        if faults:  # those functions' zeros are the grader's, not the student's: grade again
            result.status = "grader-error"
            result.notes.append(
                f"{'; '.join(faults)}; this is not the student's doing: regrade with --force "
                f"{student_option(student)}"
            )
        from nbgrader.api import Gradebook

        with Gradebook(db_url(scratch)) as gb:
            claims = kernel_claims(gb, assignment, student, [r.grade_id for r in results])
            flags = record(gb, assignment, student, results)
            # the penalty on the trusted score (autograde's own was on the kernel's claim)
            plugin = penalty_plugin(course_config(scratch))
            lateness = record_lateness(gb, assignment, student, handin.timestamp, plugin)
            result.late = asdict(lateness)
            for r in results:
                result.cells[r.grade_id] = {
                    "function": r.function,
                    "auto": claims[r.grade_id],  # the kernel's claim, kept for the record
                    "trusted": r.score,
                    "max": r.max_points,
                    "problem": "" if r.outcome.passed else r.outcome.message(),
                    "parts": r.parts_text(),  # which part earned what, when partly right
                }
        if result.status != "ok":  # the note already says why nbgrader has no scores
            flags = [f for f in flags if f.nbgrader_score is not None]
        result.flags = [asdict(f) for f in flags]
        autograded = scratch / "autograded" / student / assignment / f"{assignment}.ipynb"
        if autograded.exists():
            add_trusted_summary(autograded, results, lateness)
            feedback = api.generate_feedback(assignment, student, force=True)
            if not feedback["success"]:
                result.notes.append("feedback could not be generated: " + last_error(feedback))
        result.phases["feedback"] = time.perf_counter() - mark
        _publish(scratch, course, assignment, student)
    result.seconds = time.perf_counter() - start
    return result


def init_worker(opts: Options, log: Path) -> None:
    """Set up a worker process once: limits inherited by every kernel it starts, and its
    chatter (nbgrader's log, the kernels' stderr) sent to a log file, not the progress bar."""
    size = opts.memory_mb * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    os.environ.update(
        {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    )
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def _publish(scratch: Path, course: Path, assignment: str, student: str) -> None:
    """Move the scratch course's autograded notebook and feedback into the course."""
    for kind in ("autograded", "feedback"):
        src = scratch / kind / student / assignment
        dst = course / kind / student / assignment
        if dst.exists():
            shutil.rmtree(dst)
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dst)
