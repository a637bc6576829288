"""``python -m autograder grade``: grade a whole class, in parallel, resumably, safely.

For each submission a worker process builds a private scratch course (the
config, a copy of a template gradebook holding only the assignment, the one
submitted notebook) and runs, there:

1. a repair pass: not-JSON is reported; cells whose type a student changed get
   it back, deleted read-only cells are restored from the release (duplicated
   ids are left to nbgrader's ``DeduplicateIds``);
2. ``nbgrader autograde`` under limits: a per-cell timeout, a wall-clock limit for
   the whole notebook, a memory limit (``RLIMIT_AS``, inherited by the kernel);
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

import contextlib
import copy
import functools
import html
import json
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from tqdm import tqdm

from autograder.checks import HIDDEN_ENV
from autograder.course import db_url, nbgrader
from autograder.expected import hidden_vectors
from autograder.notebook import NotebookError
from autograder.paths import ASSIGNMENTS
from autograder.report import students_of, write_csv
from autograder.sandbox import KernelSandbox, Limits, backend, sandboxed_kernel_manager, student_library
from autograder.submissions import release
from autograder.verify import (
    CellResult,
    Flag,
    grade_cells,
    record,
    verify_notebook,
    write_flags,
)


@dataclass(frozen=True)
class Options:
    """What ``grade`` may spend on one submission."""

    workers: int = os.cpu_count() or 1
    force: bool = False
    cell_timeout: int = 60  # seconds per notebook cell (nbgrader's Execute.timeout)
    notebook_timeout: int = 600  # seconds for the whole autograde of one notebook
    memory_mb: int = 4096  # address space of nbgrader and of the kernel it starts
    function_timeout: float = 20.0  # seconds per graded function in the trusted verify
    unsafe_no_sandbox: bool = False  # run student code without bubblewrap (said in every report)


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
) -> StudentResult:
    """Grade one submission in a scratch course; never raises for a bad submission.

    ``kernel`` contains the notebook's kernel (None only with ``--unsafe-no-sandbox``).
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
        api = _nbgrader_api(scratch, opts, kernel)
        mark = time.perf_counter()
        if repair(notebook, assignment, result):
            autograde(api, assignment, student, opts, result)
        result.phases["autograde"], mark = time.perf_counter() - mark, time.perf_counter()
        results = verify_notebook(assignment, notebook, Limits(wall_seconds=opts.function_timeout))
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
                result.notes.append("feedback could not be generated: " + _last_error(feedback))
        result.phases["feedback"] = time.perf_counter() - mark
        _publish(scratch, course, assignment, student)
    result.seconds = time.perf_counter() - start
    return result


def repair(notebook: Path, assignment: str, result: StudentResult) -> bool:
    """Fix what nbgrader cannot take; False when the file is not a notebook at all."""
    if not notebook.exists():
        found = sorted(p.name for p in notebook.parent.iterdir())
        result.status = "malformed"
        result.notes.append(
            f"no single notebook to grade (found: {', '.join(found) or 'nothing'}); "
            f"hand in one file named {notebook.name}"
        )
        return False
    try:
        nb = nbformat.reads(notebook.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same to the student
        result.status = "malformed"
        result.notes.append(
            f"not a valid notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
            "nothing could be run. Re-download it from JupyterLab with File > Save and hand it in again."
        )
        return False
    expected = _cell_types(assignment)
    changed = False
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        want = expected.get(grade_id)
        if want and cell.cell_type != want:
            result.notes.append(f"cell {grade_id} was turned into {cell.cell_type}; changed back to {want}")
            fixed = (nbformat.v4.new_code_cell if want == "code" else nbformat.v4.new_markdown_cell)(
                cell.source, metadata=cell.metadata
            )
            fixed.id = cell.get("id", fixed.id)
            cell.clear()
            cell.update(fixed)
            changed = True
    # nbgrader stops on duplicated ids (its DeduplicateIds leaves metadata it then
    # rejects); the copies after the first become ordinary cells, which still run
    ids = [_grade_id(c) for c in nb.cells]
    for dup in sorted({i for i in ids if i and ids.count(i) > 1}):
        result.notes.append(
            f"cell {dup} appears {ids.count(dup)} times; the copies after the first run as ordinary cells"
        )
    seen: set[str] = set()
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in seen:
            del cell.metadata["nbgrader"]
            changed = True
        elif gid:
            seen.add(gid)
    changed |= restore_deleted_cells(nb, assignment, result)
    if changed:
        notebook.write_text(nbformat.writes(nb), encoding="utf-8")
    return True


def restore_deleted_cells(nb: nbformat.NotebookNode, assignment: str, result: StudentResult) -> bool:
    """Put back the read-only cells (grade cells, checks, set-up) a student deleted, each
    after the cell that precedes it in the release.

    nbgrader's own ``add_missing_cells`` does this for grade cells only, and fails
    (KeyError) when the cell before a deleted one is a read-only cell that is not
    graded, as every self-check cell here is.
    """
    present = {_grade_id(c) for c in nb.cells}
    restored = False
    previous = None
    for cell in _release_cells(assignment):
        gid = _grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if gid and gid not in present and meta.get("locked") and not meta.get("solution"):
            at = next((i + 1 for i, c in enumerate(nb.cells) if previous and _grade_id(c) == previous), 0)
            nb.cells.insert(at, copy.deepcopy(cell))
            present.add(gid)
            restored = True
            if cell.cell_type == "code":
                kind = "grade cell" if meta.get("grade") else "read-only cell"
                result.notes.append(f"{kind} {gid} was deleted; restored from the assignment")
        if gid in present:
            previous = gid
    return restored


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _cell_types(assignment: str) -> dict[str, str]:
    return {_grade_id(c): c.cell_type for c in _release_cells(assignment) if _grade_id(c)}


@functools.cache
def _release_cells(assignment: str) -> list[nbformat.NotebookNode]:
    return release(assignment).cells


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


def _nbgrader_api(root: Path, opts: Options, kernel: KernelSandbox | None = None):
    """nbgrader's Python API on the course at ``root``: in-process, so a worker imports
    nbgrader once (a few seconds) instead of once per command. With ``kernel``, every
    notebook runs in that sandbox."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.Execute.timeout = opts.cell_timeout
    config.ExecutePreprocessor.timeout = opts.cell_timeout
    if kernel is not None:
        config.Execute.kernel_manager_class = sandboxed_kernel_manager(kernel)
    return NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(root)), config=config)


def autograde(api, assignment: str, student: str, opts: Options, result: StudentResult) -> None:
    """``nbgrader autograde`` of one student; a watchdog stops a notebook that runs too long."""
    for _attempt in range(2):
        fired = threading.Event()
        watchdog = threading.Timer(opts.notebook_timeout, _kill_children, args=(fired,))
        watchdog.start()
        try:
            run = api.autograde(assignment, student, force=True, create=True)
        finally:
            watchdog.cancel()
        log = (run.get("log") or "") + (run.get("error") or "")
        # No student code runs before the kernel has answered: a kernel that dies or stays
        # silent at start-up is the grader's problem (a busy machine, a sandbox failure).
        if not any(words in log for words in STARTUP_FAILURES) or fired.is_set():
            break
    if any(words in log for words in STARTUP_FAILURES) and not fired.is_set():
        result.status = "grader-error"
        result.notes.append(
            "the grading kernel could not be started (twice); this is not the student's doing: "
            "regrade with --force --student " + student + ". nbgrader said: " + _last_error(run)
        )
    elif fired.is_set():
        result.status = "timeout"
        result.notes.append(f"the notebook ran longer than {opts.notebook_timeout} s and was stopped")
    elif "DeadKernelError" in log or "kernel died" in log.lower():
        result.status = "kernel-crash"
        result.notes.append(
            "the kernel died while running the notebook (os._exit, a crash, or over the "
            f"{opts.memory_mb} MB memory limit); nbgrader scored the cells after that point 0"
        )
    elif "CellTimeoutError" in log or "Cell execution timed out" in log:
        result.status = "timeout"
        result.notes.append(f"a cell ran longer than {opts.cell_timeout} s and was stopped")
    elif not run["success"]:
        result.status = "nbgrader-error"
        result.notes.append("nbgrader could not autograde it: " + _last_error(run))


STARTUP_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")


def _kill_children(fired: threading.Event) -> None:
    """The notebook's time is up: kill this worker's child processes (the kernel);
    nbgrader then sees a dead kernel and finishes the notebook with what it has."""
    fired.set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def _last_error(run: dict | str) -> str:
    """The line of an nbgrader log that says what went wrong."""
    log = run if isinstance(run, str) else (run.get("log") or "") + "\n" + (run.get("error") or "")
    lines = [ln.strip() for ln in log.splitlines() if "ERROR" in ln or "Error" in ln]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "no output")[:300]


def add_trusted_summary(path: Path, results: list[CellResult]) -> None:
    """Put the trusted verdicts at the top of the autograded notebook, so the feedback
    says what failed and why even when the in-kernel checks were broken or faked."""
    nb = nbformat.read(path, as_version=4)
    lines = ["## Your grade, checked outside your notebook", ""]
    lines += ["| function | points | |", "|---|---|---|"]
    for r in results:
        mark = "passed" if r.outcome.passed else "failed"
        lines.append(f"| `{r.function}` | {r.score:g} / {r.max_points:g} | {mark} |")
    failing = [r for r in results if not r.outcome.passed]
    if failing:
        lines += ["", "What went wrong:", ""]
        for r in failing:
            # the message quotes the student's own code and exceptions: shown as escaped text
            lines.append(f"**`{r.function}`**\n\n<pre>{html.escape(r.outcome.message())}</pre>\n")
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
    nbformat.write(nb, path)


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
    np.savez(hidden / f"{assignment}.npz", **hidden_vectors(assignment))
    if backend() != "bubblewrap":
        os.environ[HIDDEN_ENV] = str(hidden)
        return None
    return KernelSandbox(student_library(folder / "library"), hidden, opts.memory_mb * 1024**2)


def prepare_gradebooks(course: Path, assignment: str, scratch: Path) -> Path:
    """Make sure the course gradebook knows the assignment; return a template gradebook
    holding the assignment only (each worker starts from a copy of it)."""
    from nbgrader.api import Gradebook, MissingEntry

    scratch.mkdir(parents=True, exist_ok=True)
    shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
    os.symlink(course / "solutions", scratch / "solutions")
    template = scratch / "gradebook.db"
    for url in (db_url(scratch), db_url(course)):
        with Gradebook(url) as gb:
            try:
                gb.find_assignment(assignment).notebooks[0].grade_cells[0]
                continue
            except (MissingEntry, IndexError):
                pass
        # generate_assignment records the assignment's cells in the gradebook at url
        run = nbgrader(scratch, "generate_assignment", assignment, "--force", db_url=url, timeout=300)
        if run.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{run.stderr[-2000:]}")
    return template


def merge(course: Path, result: StudentResult) -> None:
    """Copy one student's scores into the course gradebook, then mark the student done."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(course)) as gb:
        gb.update_or_create_student(result.student)
        try:
            gb.find_submission(result.assignment, result.student)
        except MissingEntry:
            with warnings.catch_warnings():  # nbgrader's own autoflush notice, harmless here
                warnings.simplefilter("ignore")
                gb.add_submission(result.assignment, result.student)
        for grade_id, cell in result.cells.items():
            grade = gb.find_grade(grade_id, result.assignment, result.assignment, result.student)
            grade.auto_score = cell["auto"]
            grade.manual_score = cell["trusted"]
            grade.needs_manual_grade = False
        gb.db.commit()
    path = state_file(course, result.assignment, result.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a half-written file never marks a student done


def grade_class(
    course: Path, assignment: str, opts: Options = Options(), students: list[str] | None = None
) -> list[StudentResult]:
    """Grade every submission of ``assignment`` not graded yet (all of them with ``force``);
    return the results of every student graded so far."""
    course = course.resolve()
    require_sandbox(opts.unsafe_no_sandbox)
    everyone = students or students_of(course, assignment)
    todo = [s for s in everyone if opts.force or not state_file(course, assignment, s).exists()]
    print(
        f"Grading {assignment}: {len(everyone)} submission(s), {len(everyone) - len(todo)} already graded, "
        f"{opts.workers} worker(s), sandbox: {sandbox_label(opts.unsafe_no_sandbox)}"
    )
    log = course / "grading" / assignment / "workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if todo:
        hidden_vectors(assignment)  # computed once here; forked workers inherit it
    tqdm.monitor_interval = 0  # no monitor thread in a process that forks
    errors: dict[str, Exception] = {}
    with (
        tempfile.TemporaryDirectory(prefix="grade-template-") as tmp,
        tqdm(total=len(todo), unit="nb", desc=assignment, dynamic_ncols=True) as bar,
    ):
        template = prepare_gradebooks(course, assignment, Path(tmp) / "template")
        kernel = kernel_sandbox(assignment, Path(tmp), opts) if todo else None
        failed = 0
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
                    pool.submit(grade_one, course, assignment, s, template, opts, kernel): s for s in todo
                }
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - one bad worker must not stop the class
                        errors[futures[future]] = exc
                        continue
                    merge(course, result)
                    failed += result.status != "ok"
                    bar.set_postfix(done=bar.n + 1 - failed, failed=failed)
                    bar.update()
            todo = sorted(errors)
            if not todo:
                break
    for student, exc in errors.items():
        print(
            f"The grader failed on {student} ({type(exc).__name__}: {exc}); see {log}. Rerun grade to retry."
        )
    return [
        load_result(course, assignment, s) for s in everyone if state_file(course, assignment, s).exists()
    ]


def load_result(course: Path, assignment: str, student: str) -> StudentResult:
    data = json.loads(state_file(course, assignment, student).read_text(encoding="utf-8"))
    return StudentResult(**data)


def write_reports(course: Path, assignment: str, results: list[StudentResult]) -> Path:
    """grades.csv, flags.csv, nbgrader's export, a grade histogram and failure rates."""
    from autograder.plots import failure_rates, grade_histogram

    out = course / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    cells = grade_cells(assignment)
    header = ["student", *cells, "total", "status"]
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        scores = [r.cells.get(gid, {}).get("trusted", 0.0) for gid, _ in cells.values()]
        rows.append([r.student, *(f"{x:g}" for x in scores), f"{sum(scores):g}", r.status])
    write_csv(out / "grades.csv", header, rows)
    flags = [Flag(**f) for r in results for f in r.flags]
    flags += [Flag(r.student, assignment, "", None, r.total, note) for r in results for note in r.notes]
    write_flags(out / "flags.csv", flags)
    totals = [r.total for r in results]
    grade_histogram(out / "grade_histogram.png", totals, sum(p for _, p in cells.values()))
    rates = {
        fn: sum(not r.cells.get(gid, {}).get("trusted") for r in results) / max(len(results), 1)
        for fn, (gid, _) in cells.items()
    }
    failure_rates(out / "failure_rates.png", rates)
    export = nbgrader(course, "export", f"--to={out / 'nbgrader_export.csv'}", timeout=300)
    if export.returncode != 0:
        print("nbgrader export failed: " + _last_error(export.stderr))
    return out


def print_summary(results: list[StudentResult], out: Path) -> None:
    broken = [r for r in results if r.status != "ok" or r.notes or r.flags]
    print(
        f"\n{len(results)} graded; "
        + (f"{len(broken)} with something to report:" if broken else "nothing to report.")
    )
    for r in sorted(broken, key=lambda r: r.student):
        print(f"  {r.student} ({r.status}, {r.total:g} points)")
        for note in r.notes:
            print(f"    - {note}")
        for f in r.flags:
            scores = f"nbgrader {f['nbgrader_score']}, trusted {f['trusted_score']}"
            print(f"    - {f['grade_id']}: {scores}: {f['reason']}")
    seconds = [r.seconds for r in results if r.seconds]
    if seconds:
        print(f"Mean time per submission in a worker: {sum(seconds) / len(seconds):.1f} s")
    print(
        f"Reports: {out} (grades.csv, flags.csv, nbgrader_export.csv, grade_histogram.png, failure_rates.png)"
    )


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
    out = write_reports(course.resolve(), assignment, results)
    print_summary(results, out)
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0
