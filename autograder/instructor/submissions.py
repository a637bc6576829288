"""Build submissions from the release: the reference filled in, mistakes, variants, tampering.

The demo, the tests and the benchmark all make their students here, so every
fake submission is what a real student would hand in: the committed release
notebook with its solution cells edited.
"""

from __future__ import annotations

import copy
import re

import nbformat

from autograder.instructor.mistakes import Mistake
from autograder.instructor.notebook import read_notebook
from autograder.instructor.reference import apply_edits
from autograder.student.paths import release_notebook, solution_notebook

_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.M)


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def release(assignment: str) -> nbformat.NotebookNode:
    """The untouched student release (what a blank submission looks like)."""
    return read_notebook(release_notebook(assignment))


def completed(assignment: str) -> nbformat.NotebookNode:
    """The release with every solution cell filled in with the reference solution."""
    solutions = {
        _grade_id(c): _SOLUTION_MARKER.sub("", c.source)
        for c in read_notebook(solution_notebook(assignment)).cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release(assignment))
    for cell in nb.cells:
        if _grade_id(cell) in solutions:
            cell.source = solutions[_grade_id(cell)]
    return nb


def edit_function(
    nb: nbformat.NotebookNode, function: str, edits: tuple[tuple[str, str], ...]
) -> nbformat.NotebookNode:
    """A copy of ``nb`` with text edits applied to the solution cell of ``function``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _grade_id(cell) == function:
            cell.source = apply_edits(cell.source, edits, function)
            return nb
    raise KeyError(f"no solution cell {function!r}")


def with_mistake(assignment: str, function: str, mistake: Mistake) -> nbformat.NotebookNode:
    """The completed notebook with one catalogued mistake in ``function``."""
    return edit_function(completed(assignment), function, mistake.edits)


def replace_function(nb: nbformat.NotebookNode, function: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose solution cell of ``function`` holds ``source`` instead."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _grade_id(cell) == function:
            cell.source = source
            return nb
    raise KeyError(f"no solution cell {function!r}")


def add_cell(nb: nbformat.NotebookNode, source: str, after: str | None = None) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a student's code cell added after cell ``after`` (or at the end)."""
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    index = len(nb.cells)
    if after is not None:
        index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == after) + 1
    nb.cells.insert(index, cell)
    return nb
