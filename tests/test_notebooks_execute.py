"""The instructor notebooks in ``solutions/`` run top to bottom in a fresh kernel.

Once as nbgrader runs them (``NBGRADER_EXECUTION`` set: training shortened) and
once as an instructor or a student runs them (assign_5a here; assign_5b's full run, its
training and experiments, is in ``tests/test_notebook_text.py``, which also compares its
printed numbers with the text). Each run's wall time is printed (``pytest -s``).
"""

from __future__ import annotations

import os
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.instructor.notebook import read_notebook
from autograder.student.paths import solution_notebook

CELL_TIMEOUT = 300


def execute(assignment: str, fast: bool) -> nbformat.NotebookNode:
    """Run solutions/<assignment> headless in the notebook's folder; raise on the first error."""
    path = solution_notebook(assignment)
    nb = read_notebook(path)
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "MPLBACKEND")}
    if fast:
        env["NBGRADER_EXECUTION"] = "autograde"
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute(env=env)
    mode = "NBGRADER_EXECUTION set" if fast else "full"
    print(f"\n{assignment} ({mode}): executed in {time.perf_counter() - start:.1f} s")
    return nb


def grade_id(c: nbformat.NotebookNode) -> str:
    return c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    found = [c for c in nb.cells if grade_id(c) == name]
    assert len(found) == 1, f"no single cell {name!r}"
    return found[0]


def stdout(c: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def assert_graded_cells_pass(nb: nbformat.NotebookNode) -> None:
    """Every self-check and hidden-test cell of the reference printed its confirmation."""
    checks = [c for c in nb.cells if grade_id(c).startswith(("selfcheck_", "test_"))]
    assert checks
    for c in checks:
        assert "passed" in stdout(c), f"{grade_id(c)} printed {stdout(c)!r}"


def assert_training_output(nb: nbformat.NotebookNode) -> None:
    """assign_5b trains, prints the names and titles it invents and draws both loss plots."""
    for name, label in (
        ("code_plot_elements", "Invented elements ("),
        ("code_plot_movies", "Invented titles:"),
    ):
        c = cell(nb, name)
        assert any("image/png" in o.get("data", {}) for o in c.outputs), f"{name} drew no plot"
        text = stdout(c)
        assert label in text, f"{name} printed {text!r}"
        after = text.split(label, 1)[1]
        invented = (after if label.endswith(":") else after.split(":", 1)[1]).replace("\n", ",").split(",")
        assert sum(bool(name.strip()) for name in invented) >= 6, f"too few invented names: {text!r}"
    assert "steps:" in stdout(cell(nb, "code_train_elements")), "model printed no samples while training"


def long_range_accuracies(nb: nbformat.NotebookNode) -> dict[str, dict[int, float]]:
    """assign_5c: the accuracy per model and T that the long-range cell printed (as numbers),
    after checking it drew its plot and the gradient-reach cell drew its own."""
    for name in ("code_long_range_run", "code_gradient_reach"):
        assert any("image/png" in o.get("data", {}) for o in cell(nb, name).outputs), f"{name} drew no plot"
    text = stdout(cell(nb, "code_long_range_run"))
    found = {
        kind: {int(T): float(acc) / 100 for T, acc in re.findall(r"T=(\d+): (\d+)%", line)}
        for kind, line in re.findall(r"^(RNN|GRU): (.*)$", text, re.M)
    }
    assert set(found) == {"RNN", "GRU"} and found["RNN"], text
    return found


@pytest.mark.xdist_group("notebooks_fast")
@pytest.mark.parametrize("assignment", ["assign_5a", "assign_5b", "assign_5c"])
def test_solutions_execute_as_under_nbgrader(assignment: str) -> None:
    """With NBGRADER_EXECUTION set every cell runs and every check passes."""
    nb = execute(assignment, fast=True)
    assert_graded_cells_pass(nb)
    if assignment == "assign_5b":
        assert_training_output(nb)
    if assignment == "assign_5c":
        accuracy = long_range_accuracies(nb)
        assert set(accuracy["GRU"]) == {5, 100}, accuracy  # two lengths under the grader


@pytest.mark.xdist_group("notebooks_fast")
def test_assign_5a_executes_as_students_run_it() -> None:
    """Without NBGRADER_EXECUTION (as a student runs it) assign_5a runs and its checks pass."""
    assert_graded_cells_pass(execute("assign_5a", fast=False))


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks_full_5c")
def test_assign_5c_long_range_as_students_run_it() -> None:
    """As a student runs it, assign_5c trains both networks at every T of its plot: both right
    at T=5, the GRU right and the RNN near chance (25%) at T=100, as its text says."""
    nb = execute("assign_5c", fast=False)
    assert_graded_cells_pass(nb)
    accuracy = long_range_accuracies(nb)
    assert set(accuracy["RNN"]) == set(accuracy["GRU"]) == {5, 10, 20, 40, 70, 100}, accuracy
    assert accuracy["RNN"][5] >= 0.95 and accuracy["GRU"][5] >= 0.95, accuracy
    assert accuracy["GRU"][100] >= 0.95 and accuracy["RNN"][100] <= 0.35, accuracy
