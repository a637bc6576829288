"""Time limits calibrated from the reference run.

Each cell of a submission may run ``FACTOR`` times what the reference notebook needs
there, never less than ``CELL_FLOOR`` seconds and never more than the cell timeout;
each graded function in the trusted verify likewise in CPU time (which a busy machine
stretches far less), never less than ``FUNCTION_FLOOR`` seconds and never more than the
function timeout. A flat 60 s per cell let one endless loop cost minutes (every cell
calling it waited the full minute); with these limits it costs seconds, and ``runaway``
makes the cells after the first fail at once.

Every limit is at least 20 times what the reference needs; the floors apply only
to quick cells and functions (the course's cells need 0.01 to 0.4 s, its graded functions
0.01 to 0.9 s of CPU on their hidden cases). The verify's limit is CPU time, so a machine
busy with other workers does not shrink it; a cell's is wall-clock time (nbclient's),
which a busy machine shrinks (``grade``'s default workers share the cores two to one).

The reference times are measured on this machine, in the same sandbox as the
students' code, once per version of the solutions and of this package (cached).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any

from autograder.student.paths import cache_file, solution_notebook

FACTOR = 20
CELL_FLOOR = 4.0
FUNCTION_FLOOR = 2.0


@dataclass(frozen=True)
class CellLimits:
    """nbclient's ``timeout_func``: the seconds a cell may run, from its nbgrader id.

    Cells the reference does not have (a student's own) get the floor."""

    reference: dict[str, float] = field(default_factory=dict)  # grade id -> reference seconds
    cap: float = 60.0

    def seconds(self, grade_id: str | None) -> float:
        measured = self.reference.get(grade_id or "", 0.0)
        return min(max(FACTOR * measured, CELL_FLOOR), self.cap)

    def __call__(self, cell: Any) -> float:
        return self.seconds(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))


@dataclass(frozen=True)
class Calibration:
    """Per-cell limits for the kernel, per-function limits for the verify."""

    cells: CellLimits
    functions: dict[str, float]  # function -> seconds (the verify caps it at --function-timeout)


def calibrate(assignment: str, kernel: Any, cell_timeout: float) -> Calibration:
    """The limits for grading ``assignment``, from the reference's times on this machine.

    ``kernel`` is the ``KernelSandbox`` the students' kernels run in (None: unsandboxed)."""
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()}"  # times are this machine's
    path = cache_file(assignment, f"limits-{assignment}-{{key}}.json", salt=machine)
    try:
        measured = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        measured = {"cells": measure_cells(assignment, kernel), "functions": measure_functions(assignment)}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(measured, indent=1), encoding="utf-8")
        tmp.replace(path)
    functions = {name: max(FACTOR * s, FUNCTION_FLOOR) for name, s in measured["functions"].items()}
    return Calibration(CellLimits(measured["cells"], cell_timeout), functions)


def measure_cells(assignment: str, kernel: Any) -> dict[str, float]:
    """Seconds each cell of the solution notebook (hidden tests included) takes, run as
    the grader runs a submission: in the sandboxed kernel, with ``NBGRADER_EXECUTION``."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.instructor.notebook import skipped_when_grading
    from autograder.instructor.sandbox import sandboxed_kernel_manager

    nb = nbformat.read(solution_notebook(assignment), as_version=4)
    skip = skipped_when_grading(assignment)
    extra: dict[str, Any] = {"kernel_manager_class": sandboxed_kernel_manager(kernel)} if kernel else {}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, **extra)
    seconds: dict[str, float] = {}
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or cell.source in skip:
                    continue
                start = time.perf_counter()
                client.execute_cell(cell, index)
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id:
                    seconds[grade_id] = round(time.perf_counter() - start, 4)
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return seconds


def measure_functions(assignment: str) -> dict[str, float]:
    """Seconds of CPU each graded function of the reference takes on its hidden cases in
    the trusted verify's sandbox."""
    from autograder.instructor.notebook import definitions, read_notebook, skipped_when_grading
    from autograder.instructor.sandbox import run_functions
    from autograder.instructor.verify import hidden_tasks

    source = definitions(read_notebook(solution_notebook(assignment)), skipped_when_grading(assignment))
    tasks = hidden_tasks(assignment)
    runs = run_functions(source, tasks)
    return {t.function: round(r.seconds or 0.0, 4) for t, r in zip(tasks, runs, strict=True)}
