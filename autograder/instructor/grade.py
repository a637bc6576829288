"""``python -m autograder grade``: grade a whole class, in parallel, resumably, safely.

Each submission is graded by a worker process in a private scratch course
(``grade_submission``: repair, autograde in the sandbox, trusted verify, feedback), on
this machine or on a Dask cluster (``cluster``).

Only the parent writes the course gradebook: SQLite takes one writer at a time
(nbgrader's FAQ), so workers never open it. The parent copies each finished
student's scores in and commits at once, and writes ``grading/<assignment>/<student>.json``
last: a student with that file is done, which is what makes a killed run
resumable. Reports (grades CSV, flags, plots, nbgrader's export) are built from
the gradebook and those files at the end.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from tqdm import tqdm

from autograder.instructor.calibrate import Calibration, calibrate
from autograder.instructor.cluster import cluster_label
from autograder.instructor.course import course_config, db_url, gradebook_url
from autograder.instructor.grade_submission import StudentResult, grade_one, init_worker
from autograder.instructor.gradebook import one_engine, set_scores
from autograder.instructor.late import copy_deadlines, penalty_plugin, record_lateness
from autograder.instructor.limits import Options
from autograder.instructor.nbgrader_run import last_error, nbgrader_api
from autograder.instructor.notebook import NotebookError
from autograder.instructor.report import print_summary, students_of, write_reports
from autograder.instructor.sandbox import (
    KernelSandbox,
    backend,
    require_sandbox,
    sandbox_label,
    student_library,
)
from autograder.instructor.untrusted import ID_RULE, id_problem, printable, student_option
from autograder.instructor.verify import hidden_tasks
from autograder.student.specs import ASSIGNMENTS

# --- the parent ---------------------------------------------------------------------


def state_file(course: Path, assignment: str, student: str) -> Path:
    return course / "grading" / assignment / f"{student}.json"


def kernel_sandbox(folder: Path, opts: Options) -> KernelSandbox | None:
    """Write what a submission's kernel may read (the student side of the package and the
    course data) to ``folder``; None when grading without a sandbox. No hidden case is
    among them: the trusted verify runs those."""
    if backend() != "bubblewrap":
        return None
    return KernelSandbox(student_library(folder / "library"), opts.memory_mb * 1024**2, zygote=True)


def prepare_gradebooks(course: Path, assignment: str, scratch: Path, gradebook: str | None = None) -> Path:
    """Make sure the course gradebook (``gradebook``, a database URL; default: the course's
    ``gradebook.db``) knows the assignment; return a template gradebook holding the
    assignment only (each worker starts from a copy of it). nbgrader runs in this
    process: the forked workers inherit it imported."""
    from nbgrader.api import Gradebook, MissingEntry

    _alembic_head_in_process()
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
    with Gradebook(gradebook or db_url(course)) as source, Gradebook(db_url(scratch)) as target:
        copy_deadlines(source, target, assignment)
    return template


def _alembic_head_in_process() -> None:
    """nbgrader stamps each new gradebook (here: the template, every run) with its newest
    migration, found by running the ``alembic heads`` command: a new Python importing
    alembic and nbgrader, 2-16 s on a busy 2-core machine. alembic's own ``ScriptDirectory``
    gives the same revision in this process in well under a second; nbgrader's way stays
    the fallback."""
    import nbgrader.api

    original = getattr(nbgrader.api.get_alembic_version, "__wrapped__", nbgrader.api.get_alembic_version)

    @functools.cache
    def head() -> str:
        try:
            from alembic.script import ScriptDirectory
            from nbgrader.dbutil import ALEMBIC_DIR

            found = ScriptDirectory(ALEMBIC_DIR).get_current_head()
        except Exception:  # noqa: BLE001 - any surprise: ask the command, as nbgrader does
            found = None
        return found or original()

    head.__wrapped__ = original  # type: ignore[attr-defined]
    nbgrader.api.get_alembic_version = head


def merge(
    course: Path,
    result: StudentResult,
    gradebook: str | None = None,
    plugin: LateSubmissionPlugin | None = None,
) -> None:
    """Copy one student's scores into the course gradebook (``gradebook``, a database URL;
    default: the course's ``gradebook.db``) in one transaction, then mark the student done.
    ``plugin``: the course's late penalty (default: read from its config)."""
    from nbgrader.api import Gradebook

    path = state_file(course, result.assignment, result.student)
    with Gradebook(gradebook or db_url(course)) as gb:
        set_scores(
            gb,
            result.assignment,
            result.student,
            {gid: cell["trusted"] for gid, cell in result.cells.items()},
            grader_wrote=_written_as_manual(path),
        )
        # the submission time the worker graded, then the penalty on the course's score (a
        # score set by hand in formgrader included) with the course's extensions
        plugin = plugin or penalty_plugin(course_config(course))
        lateness = record_lateness(
            gb, result.assignment, result.student, result.late.get("submitted", ""), plugin
        )
        result.late = asdict(lateness)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a half-written file never marks a student done


def _written_as_manual(path: Path) -> dict[str, float] | None:
    """The manual scores this grader wrote for a student under its first scheme (read from
    that run's state file), to be cleared rather than taken for an instructor's."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("scheme", 1) >= 2:
        return None
    return {gid: float(cell["trusted"]) for gid, cell in data.get("cells", {}).items()}


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
    # An invalid id is reported, never graded: checked here, before it names a file or
    # reaches nbgrader or the gradebook (where one bad row used to stop the class).
    invalid = [invalid_id(assignment, s) for s in dict.fromkeys(selected) if id_problem(s)]
    submitted = [s for s in submitted if not id_problem(s)]
    selected = [s for s in selected if not id_problem(s)]
    # the reports cover the class: grading one late student must not leave them alone in grades.csv
    everyone = list(dict.fromkeys([*submitted, *selected]))
    todo = [s for s in selected if opts.force or not state_file(course, assignment, s).exists()]
    where = cluster_label(opts) if opts.scheduler else f"{opts.workers} worker(s)"
    print(
        f"Grading {assignment}: {len(selected)} submission(s), {len(selected) - len(todo)} already graded, "
        f"{where}, sandbox: {sandbox_label(opts.unsafe_no_sandbox)}"
        + (f"; {len(invalid)} more with an invalid id, not graded (below)" if invalid else "")
    )
    log = course / "grading" / assignment / "workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if todo:
        hidden_tasks(assignment)  # computed (and written to disk) once here; forked workers inherit it
    tqdm.monitor_interval = 0  # no monitor thread in a process that forks
    errors: dict[str, Exception] = {}
    unrecorded: dict[str, Exception] = {}
    with (
        tempfile.TemporaryDirectory(prefix="grade-template-") as tmp,
        tqdm(total=len(todo), unit="nb", desc=assignment, dynamic_ncols=True) as bar,
        one_engine(gradebook),  # each merge opens the course gradebook; one engine compiles once
    ):
        template = prepare_gradebooks(course, assignment, Path(tmp) / "template", gradebook)
        plugin = penalty_plugin(course_config(course))
        kernel = kernel_sandbox(Path(tmp), opts) if todo else None
        limits = calibrate(assignment, kernel, opts.cell_timeout) if todo else None
        failed = 0

        def done(result: StudentResult) -> None:
            nonlocal failed
            try:
                merge(course, result, gradebook, plugin)
            except Exception as exc:  # noqa: BLE001 - a database error is this student's, not the class's
                unrecorded[result.student] = exc
                failed += 1
                bar.update()
                return
            failed += result.status != "ok"
            bar.set_postfix(done=bar.n + 1 - failed, failed=failed)
            bar.update()

        if opts.scheduler:
            from autograder.instructor.cluster import grade_on_cluster

            errors = grade_on_cluster(course, assignment, todo, template, opts, limits, done)
        else:
            errors = _grade_locally(course, assignment, todo, template, opts, kernel, limits, log, done)
    failures = [
        StudentResult(student, assignment, "grader-error", [f"{why} ({type(exc).__name__}: {exc}); {retry}"])
        for kind, why in (
            (errors, f"the grader failed on this submission; see {log}"),
            (unrecorded, "the scores could not be written to the gradebook"),
        )
        for student, exc in kind.items()
        for retry in [f"rerun grade to retry ({student_option(student)})"]
    ]
    for failure in failures:
        print(f"The grader failed on {printable(failure.student)}: {printable(failure.notes[0])}")
    graded = [
        load_result(course, assignment, s) for s in everyone if state_file(course, assignment, s).exists()
    ]
    # a student graded by an earlier run keeps that result in the reports
    return graded + [f for f in failures if not state_file(course, assignment, f.student).exists()] + invalid


def invalid_id(assignment: str, student: str) -> StudentResult:
    """The report of a submission whose folder name is not a valid id: what is wrong, what to do."""
    return StudentResult(
        student,
        assignment,
        "invalid-id",
        [
            f"not graded: {id_problem(student)}. To grade it, rename the folder "
            f"submitted/{printable(student, 40)}/ to the student's id and run grade with "
            f"{student_option('NEW_ID')}. The rule: {ID_RULE}."
        ],
    )


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
            initializer=init_worker,
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
    data.setdefault("scheme", 1)
    return StudentResult(**data)


def zip_collect(course: Path, assignment: str, gradebook: str | None = None) -> list[tuple[str, str]]:
    """Collect an LMS download (``downloaded/<assignment>/archive/``) into ``submitted/``
    (``collect.collect_download``); print and return a line for each file left out."""
    from autograder.instructor.collect import collect_download

    collection = collect_download(course, assignment, gradebook)
    print(f"Collected {len(collection.students)} submission(s) from the download.")
    if collection.problems:
        print(f"{len(collection.problems)} file(s) of the download not collected:")
    for _, line in collection.problems:
        print(f"  - {printable(line)}")
    return collection.problems


def main(course: Path, assignment: str, opts: Options, students: list[str] | None, use_zip: bool) -> int:
    if assignment not in ASSIGNMENTS:
        raise NotebookError(f"unknown assignment {assignment!r}; choose one of {', '.join(ASSIGNMENTS)}")
    collected = zip_collect(course, assignment, gradebook_url(course, opts.db_url)) if use_zip else []
    start = time.perf_counter()
    results = grade_class(course, assignment, opts, students)
    unsafe = [f"graded WITHOUT the sandbox ({sandbox_label(True)})"] if opts.unsafe_no_sandbox else []
    unsafe += [f"download: {line}" for student, line in collected if not student]
    out = write_reports(
        course.resolve(),
        assignment,
        results,
        unsafe,
        gradebook_url(course, opts.db_url),
        [(student, f"download: {line}") for student, line in collected if student],
    )
    print_summary(results, out)
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0
