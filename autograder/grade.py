"""``python -m autograder grade``: grade a whole class, in parallel, resumably, safely.

For each submission a worker process builds a private scratch course (the
config, a copy of a template gradebook holding only the assignment, the one
submitted notebook) and runs, there:

1. a repair pass: not-JSON is reported; cells whose type a student changed get
   it back, deleted read-only cells are restored from the release (duplicated
   ids are left to nbgrader's ``DeduplicateIds``);
2. ``nbgrader autograde`` with the kernel in the sandbox (docs/sandbox.md), under
   limits: a per-cell timeout, a wall-clock limit for the whole notebook, memory and
   processes (a cgroup per submission where one can be had, rlimits otherwise);
3. the trusted verify (sandboxed functions on hidden inputs), recorded in the
   private gradebook; its verdicts are added to the feedback;
4. ``nbgrader generate_feedback``.

Only the parent writes the course gradebook: SQLite takes one writer at a time
(nbgrader's FAQ), so workers never open it. The parent copies each finished
student's scores in and commits at once, and writes ``grading/<assignment>/<student>.json``
last: a student with that file is done, which is what makes a killed run
resumable. Reports (grades CSV, flags, plots, nbgrader's export) are built from
the gradebook and those files at the end.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder.calibrate import Calibration, calibrate
from autograder.checks import HIDDEN_ENV
from autograder.cluster import cluster_label
from autograder.course import db_url, gradebook_url, nbgrader
from autograder.expected import packed_hidden_vectors
from autograder.gradebook import set_scores
from autograder.limits import Options
from autograder.nbgrader_run import add_trusted_summary, autograde, last_error, nbgrader_api
from autograder.notebook import NotebookError
from autograder.paths import ASSIGNMENTS
from autograder.repair import repair
from autograder.report import print_summary, students_of, write_reports
from autograder.sandbox import KernelSandbox, Limits, backend, student_library
from autograder.verify import hidden_tasks, record, verify_notebook


@dataclass
class StudentResult:
    """What a worker hands back: plain data, written to ``grading/<a>/<student>.json``."""

    student: str
    assignment: str
    # ok | malformed | kernel-crash (the student's code killed it) | timeout | nbgrader-error
    # | grader-error (the grader failed, e.g. the kernel did not start; regrade)
    status: str = "ok"
    notes: list[str] = field(default_factory=list)  # one line each for the report
    cells: dict[str, dict] = field(default_factory=dict)  # grade_id -> auto/trusted/problem
    flags: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for docs/scaling.md

    @property
    def total(self) -> float:
        return sum(c["trusted"] for c in self.cells.values())


# --- the worker ---------------------------------------------------------------------


def grade_one(
    course: Path,
    assignment: str,
    student: str,
    template_db: Path,
    opts: Options,
    kernel: KernelSandbox | None = None,
    limits: Calibration | None = None,
) -> StudentResult:
    """Grade one submission in a scratch course; never raises for a bad submission.

    ``kernel`` contains the notebook's kernel (None only with ``--unsafe-no-sandbox``);
    ``limits`` are the per-cell and per-function time limits (see ``calibrate``).
    """
    start = time.perf_counter()
    result = StudentResult(student, assignment)
    with tempfile.TemporaryDirectory(prefix=f"grade-{student}-") as tmp:
        scratch = Path(tmp)
        shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
        shutil.copy(template_db, scratch / "gradebook.db")
        submitted = scratch / "submitted" / student / assignment
        shutil.copytree(course / "submitted" / student / assignment, submitted)
        notebook = submitted / f"{assignment}.ipynb"
        if not notebook.exists():
            others = sorted(submitted.glob("*.ipynb"))
            if len(others) == 1:
                result.notes.append(f"the notebook was handed in as {others[0].name}; graded as such")
                others[0].rename(notebook)
        api = nbgrader_api(scratch, opts, kernel, limits.cells if limits else None)
        mark = time.perf_counter()
        if repair(notebook, assignment, result.notes):
            result.status, note = autograde(api, assignment, student, opts)
            result.notes += [note] if note else []
        else:
            result.status = "malformed"
        result.phases["autograde"], mark = time.perf_counter() - mark, time.perf_counter()
        results = verify_notebook(
            assignment,
            notebook,
            Limits(wall_seconds=opts.function_timeout),
            limits.functions if limits else None,
        )
        result.phases["verify"], mark = time.perf_counter() - mark, time.perf_counter()
        from nbgrader.api import Gradebook

        with Gradebook(db_url(scratch)) as gb:
            flags = record(gb, assignment, student, results)
            for r in results:
                grade = gb.find_grade(r.grade_id, assignment, assignment, student)
                result.cells[r.grade_id] = {
                    "function": r.function,
                    "auto": grade.auto_score,
                    "trusted": r.score,
                    "max": r.max_points,
                    "problem": "" if r.outcome.passed else r.outcome.message(),
                }
        if result.status != "ok":  # the note already says why nbgrader has no scores
            flags = [f for f in flags if f.nbgrader_score is not None]
        result.flags = [asdict(f) for f in flags]
        autograded = scratch / "autograded" / student / assignment / f"{assignment}.ipynb"
        if autograded.exists():
            add_trusted_summary(autograded, results)
            feedback = api.generate_feedback(assignment, student, force=True)
            if not feedback["success"]:
                result.notes.append("feedback could not be generated: " + last_error(feedback))
        result.phases["feedback"] = time.perf_counter() - mark
        _publish(scratch, course, assignment, student)
    result.seconds = time.perf_counter() - start
    return result


def _init_worker(opts: Options, log: Path) -> None:
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


# --- the parent ---------------------------------------------------------------------


def state_file(course: Path, assignment: str, student: str) -> Path:
    return course / "grading" / assignment / f"{student}.json"


def require_sandbox(unsafe: bool) -> None:
    """Fail closed: no student code runs without bubblewrap unless asked for in so many words."""
    if backend() != "bubblewrap" and not unsafe:
        raise SystemExit(
            "Refusing to run student code: bubblewrap is not working here, so a submission could read "
            "solutions/ and rewrite the gradebook. Install it (`apt-get install bubblewrap`) or enable "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1); "
            "--unsafe-no-sandbox grades anyway and says so in the reports."
        )


def sandbox_label(unsafe: bool) -> str:
    if unsafe and backend() != "bubblewrap":
        return "NONE (--unsafe-no-sandbox)"
    from autograder import cgroups

    budget = "a cgroup per submission" if cgroups.available() else "per-process rlimits only (no cgroup)"
    return f"{backend()}, processes and memory: {budget}"


def kernel_sandbox(assignment: str, folder: Path, opts: Options) -> KernelSandbox | None:
    """Write what a submission's kernel may read (the student side of the package, the
    course data, the hidden cases) to ``folder``; None when grading without a sandbox,
    where the unsandboxed kernels find the hidden cases through the environment."""
    hidden = folder / "hidden"
    hidden.mkdir()
    np.savez(hidden / f"{assignment}.npz", **packed_hidden_vectors(assignment))
    if backend() != "bubblewrap":
        os.environ[HIDDEN_ENV] = str(hidden)
        return None
    return KernelSandbox(student_library(folder / "library"), hidden, opts.memory_mb * 1024**2)


def prepare_gradebooks(course: Path, assignment: str, scratch: Path, gradebook: str | None = None) -> Path:
    """Make sure the course gradebook (``gradebook``, a database URL; default: the course's
    ``gradebook.db``) knows the assignment; return a template gradebook holding the
    assignment only (each worker starts from a copy of it). nbgrader runs in this
    process: the forked workers inherit it imported."""
    from nbgrader.api import Gradebook, MissingEntry

    scratch.mkdir(parents=True, exist_ok=True)
    shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    os.symlink(course / "solutions", scratch / "solutions")
    template = scratch / "gradebook.db"
    for url in (db_url(scratch), gradebook or db_url(course)):
        with Gradebook(url) as gb:
            try:
                gb.find_assignment(assignment).notebooks[0].grade_cells[0]
                continue
            except (MissingEntry, IndexError):
                pass
        # generate_assignment records the assignment's cells in the gradebook at url
        run = nbgrader_api(scratch, gradebook=url).generate_assignment(assignment, force=True, create=True)
        if not run["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed: {last_error(run)}")
    return template


def merge(course: Path, result: StudentResult, gradebook: str | None = None) -> None:
    """Copy one student's scores into the course gradebook (``gradebook``, a database URL;
    default: the course's ``gradebook.db``) in one transaction, then mark the student done."""
    from nbgrader.api import Gradebook

    with Gradebook(gradebook or db_url(course)) as gb:
        set_scores(
            gb,
            result.assignment,
            result.student,
            {gid: cell["trusted"] for gid, cell in result.cells.items()},
            auto={gid: cell["auto"] for gid, cell in result.cells.items()},
        )
    path = state_file(course, result.assignment, result.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a half-written file never marks a student done


def grade_class(
    course: Path, assignment: str, opts: Options = Options(), students: list[str] | None = None
) -> list[StudentResult]:
    """Grade every submission of ``assignment`` (or only ``students``) not graded yet (all
    of them with ``force``); return the results of every student graded so far. Locally
    in a process pool, or on the Dask cluster of ``opts.scheduler``; into the gradebook
    ``opts.db_url``, else the one ``nbgrader_config.py`` names, else the course's
    ``gradebook.db``."""
    course = course.resolve()
    require_sandbox(opts.unsafe_no_sandbox)
    gradebook = gradebook_url(course, opts.db_url)
    submitted = students_of(course, assignment)
    selected = students or submitted
    # the reports cover the class: grading one late student must not leave them alone in grades.csv
    everyone = list(dict.fromkeys([*submitted, *selected]))
    todo = [s for s in selected if opts.force or not state_file(course, assignment, s).exists()]
    where = cluster_label(opts) if opts.scheduler else f"{opts.workers} worker(s)"
    print(
        f"Grading {assignment}: {len(selected)} submission(s), {len(selected) - len(todo)} already graded, "
        f"{where}, sandbox: {sandbox_label(opts.unsafe_no_sandbox)}"
    )
    log = course / "grading" / assignment / "workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if todo:
        hidden_tasks(assignment)  # computed (and written to disk) once here; forked workers inherit it
    tqdm.monitor_interval = 0  # no monitor thread in a process that forks
    errors: dict[str, Exception] = {}
    with (
        tempfile.TemporaryDirectory(prefix="grade-template-") as tmp,
        tqdm(total=len(todo), unit="nb", desc=assignment, dynamic_ncols=True) as bar,
    ):
        template = prepare_gradebooks(course, assignment, Path(tmp) / "template", gradebook)
        kernel = kernel_sandbox(assignment, Path(tmp), opts) if todo else None
        limits = calibrate(assignment, kernel, opts.cell_timeout) if todo else None
        failed = 0

        def done(result: StudentResult) -> None:
            nonlocal failed
            merge(course, result, gradebook)
            failed += result.status != "ok"
            bar.set_postfix(done=bar.n + 1 - failed, failed=failed)
            bar.update()

        if opts.scheduler:
            from autograder.cluster import grade_on_cluster

            errors = grade_on_cluster(course, assignment, todo, template, opts, limits, done)
        else:
            errors = _grade_locally(course, assignment, todo, template, opts, kernel, limits, log, done)
    for student, exc in errors.items():
        print(
            f"The grader failed on {student} ({type(exc).__name__}: {exc}); see {log}. Rerun grade to retry."
        )
    return [
        load_result(course, assignment, s) for s in everyone if state_file(course, assignment, s).exists()
    ]


def _grade_locally(
    course: Path,
    assignment: str,
    todo: list[str],
    template: Path,
    opts: Options,
    kernel: KernelSandbox | None,
    limits: Calibration | None,
    log: Path,
    done: Callable[[StudentResult], None],
) -> dict[str, Exception]:
    """Grade ``todo`` in a pool of forked worker processes; return who could not be graded."""
    errors: dict[str, Exception] = {}
    # A worker that dies takes its pool down; the second round retries, in a new
    # pool, what was lost. A student still failing is reported and left ungraded.
    for _round in range(2):
        errors = {}
        workers = max(1, min(opts.workers, len(todo)))
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(opts, log),
        ) as pool:
            futures = {
                pool.submit(grade_one, course, assignment, s, template, opts, kernel, limits): s for s in todo
            }
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - one bad worker must not stop the class
                    errors[futures[future]] = exc
                    continue
                done(result)
        todo = sorted(errors)
        if not todo:
            break
    return errors


def load_result(course: Path, assignment: str, student: str) -> StudentResult:
    data = json.loads(state_file(course, assignment, student).read_text(encoding="utf-8"))
    return StudentResult(**data)


def zip_collect(course: Path, assignment: str) -> None:
    """Unpack an LMS download (``downloaded/<assignment>/archive/*.zip``) into ``submitted/``
    with nbgrader's ``zip_collect`` (file names parsed by ``FileNameCollectorPlugin``)."""
    run = nbgrader(course, "zip_collect", assignment, "--force", timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed:\n{run.stderr[-2000:]}")


def main(course: Path, assignment: str, opts: Options, students: list[str] | None, use_zip: bool) -> int:
    if assignment not in ASSIGNMENTS:
        raise NotebookError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
    if use_zip:
        zip_collect(course, assignment)
    start = time.perf_counter()
    results = grade_class(course, assignment, opts, students)
    unsafe = [f"graded WITHOUT the sandbox ({sandbox_label(True)})"] if opts.unsafe_no_sandbox else []
    out = write_reports(course.resolve(), assignment, results, unsafe, gradebook_url(course, opts.db_url))
    print_summary(results, out)
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0
