"""Running nbgrader on one submission: its API in-process, autograde under a watchdog,
the status a run ends in, and the trusted summary put at the top of the feedback."""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import threading
from pathlib import Path

import nbformat

from autograder.instructor.calibrate import CellLimits
from autograder.instructor.late import Lateness
from autograder.instructor.limits import Options
from autograder.instructor.sandbox import SANDBOX_DID_NOT_START, KernelSandbox, sandboxed_kernel_manager
from autograder.instructor.untrusted import student_option
from autograder.instructor.verify import CellResult


def nbgrader_api(
    root: Path,
    opts: Options | None = None,
    kernel: KernelSandbox | None = None,
    cell_limits: CellLimits | None = None,
    gradebook: str | None = None,
):
    """nbgrader's Python API on the course at ``root``: in-process, so a worker imports
    nbgrader once (a few seconds) instead of once per command. With ``kernel``, every
    notebook runs in that sandbox; with ``cell_limits``, each cell has its calibrated
    time limit instead of the flat ``--cell-timeout``. The gradebook is ``gradebook``
    (a database URL), else ``root``'s own SQLite file, whatever the config says."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.instructor.course import db_url

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.db_url = gradebook or db_url(root)
    if opts is not None:
        config.Execute.timeout = opts.cell_timeout
        config.ExecutePreprocessor.timeout = opts.cell_timeout
    if kernel is not None:
        config.Execute.kernel_manager_class = sandboxed_kernel_manager(kernel)
    else:  # --unsafe-no-sandbox, said in the header: not the course config's refusing manager
        config.Execute.kernel_manager_class = "jupyter_client.manager.AsyncKernelManager"
    # grade runs the trusted verify itself (calibrated limits, malformed notebooks too)
    config.Autograde.autograde_preprocessors = [
        p for p in config.Autograde.autograde_preprocessors if not p.endswith(".TrustedVerify")
    ]
    if cell_limits is not None:
        config.Execute.timeout_func = cell_limits
    # the kernel is thrown away: no need to wait for it to shut down politely
    config.Execute.shutdown_kernel = "immediate"
    return NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(root)), config=config)


def autograde(api, assignment: str, student: str, opts: Options) -> tuple[str, str | None]:
    """``nbgrader autograde`` of one student; a watchdog stops a notebook that runs too long.

    Returns the submission's status and, unless it is ``ok``, the line that explains it.
    """
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
        return "grader-error", (
            "the grading kernel could not be started (twice); this is not the student's doing: "
            f"regrade with --force {student_option(student)}. nbgrader said: " + last_error(run)
        )
    elif fired.is_set():
        return "timeout", (f"the notebook ran longer than {opts.notebook_timeout} s and was stopped")
    elif "DeadKernelError" in log or "kernel died" in log.lower():
        return "kernel-crash", (
            "the kernel died while running the notebook (os._exit, a crash, or over the "
            f"{opts.memory_mb} MB memory limit); nbgrader scored the cells after that point 0"
        )
    elif any(
        words in log for words in ("CellTimeoutError", "Cell execution timed out", "Timeout waiting for")
    ):
        limit = re.search(r"Timeout waiting for execute reply \((\d+(?:\.\d+)?)s\)", log)
        seconds = f"{float(limit.group(1)):g} s" if limit else f"{opts.cell_timeout} s"
        return "timeout", f"a cell ran longer than its time limit ({seconds}) and was stopped"
    elif not run["success"]:
        return "nbgrader-error", "nbgrader could not autograde it: " + last_error(run)
    return "ok", None


# What nbgrader's log says when a kernel never came up: no student code had run yet.
STARTUP_FAILURES = (
    "Kernel died before replying to kernel_info",
    "Kernel didn't respond in",
    SANDBOX_DID_NOT_START,
)


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


def last_error(run: dict | str) -> str:
    """The line of an nbgrader log that says what went wrong."""
    log = run if isinstance(run, str) else (run.get("log") or "") + "\n" + (run.get("error") or "")
    lines = [ln.strip() for ln in log.splitlines() if "ERROR" in ln or "Error" in ln]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "no output")[:300]


def trusted_summary_cell(
    results: list[CellResult], lateness: Lateness | None = None
) -> nbformat.NotebookNode:
    """The trusted verdicts as a markdown cell for the top of the autograded notebook, so
    the feedback says what failed and why even when the in-kernel checks were broken or
    faked; and, for a late submission, by how much and what it cost."""
    lines = ["## Your grade, checked outside your notebook", ""]
    if lateness and lateness.seconds_late > 0:
        earned = sum(r.score for r in results)
        lines += [
            f"**Handed in late** by {lateness.late_by} (handed in {_utc(lateness.submitted)}, "
            f"due {_utc(lateness.due)}): late penalty {lateness.penalty:g} points, "
            f"so {earned - lateness.penalty:g} of the {earned:g} points below count.",
            "",
        ]
    lines += ["| function | points | | points by part |", "|---|---|---|---|"]
    for r in results:
        mark = "passed" if r.outcome.passed else "partly right" if r.score > 0 else "failed"
        # the part names are the course's (the specs), never the student's text
        by_part = html.escape(r.parts_text()).replace("|", "&#124;")
        lines.append(f"| `{r.function}` | {r.score:g} / {r.max_points:g} | {mark} | {by_part} |")
    if any(r.partial for r in results):
        lines += [
            "",
            "A function that is partly right earns the share of its points of each output "
            "(or test case) it gets right in every hidden test case; one that cannot run earns 0.",
        ]
    elif any(r.outcome.earned() for r in results):
        lines += ["", "This course gives a function its points only when all of it is right."]
    failing = [r for r in results if not r.outcome.passed]
    if failing:
        lines += ["", "What went wrong:", ""]
        for r in failing:
            # the message quotes the student's own code and exceptions: shown as escaped text
            lines.append(f"**`{r.function}`**\n\n<pre>{html.escape(r.outcome.message())}</pre>\n")
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def add_trusted_summary(path: Path, results: list[CellResult], lateness: Lateness | None = None) -> None:
    """Put the trusted verdicts (``trusted_summary_cell``) at the top of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, trusted_summary_cell(results, lateness))
    nbformat.write(nb, path)


def _utc(iso: str) -> str:
    return iso.replace("T", " ")[:16] + " UTC" if iso else "unknown"
