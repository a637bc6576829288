"""The feedback exporter renders the course's own cells once per worker.

Every student's notebook holds the course's markdown and provided code; ``FeedbackExporter``
keeps what they render to. Each submission is graded in a scratch folder of its own and
nbclient stamps every executed cell's metadata with times, so neither may be part of what
a rendering is remembered by, or nothing is ever found again. What is remembered must be
exactly what rendering anew gives.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.instructor import preprocessors, submissions
from autograder.instructor.preprocessors import FeedbackExporter

A = "assign_5b"


def _as_graded(nb: nbformat.NotebookNode, stamp: str) -> nbformat.NotebookNode:
    """``nb`` as nbclient leaves it: each code cell's metadata carries its run's times."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["execution"] = {"iopub.execute_input": stamp, "shell.execute_reply": stamp}
    return nb


def _render(nb: nbformat.NotebookNode, folder: Path) -> str:
    html, _ = FeedbackExporter().from_notebook_node(nb, {"metadata": {"path": str(folder)}})
    return html


def test_a_second_student_reuses_the_course_cells_and_gets_the_same_page(tmp_path: Path) -> None:
    nb = submissions.completed(A)
    preprocessors._RENDERED.clear()
    _render(_as_graded(nb, "2026-12-02T10:00:00Z"), tmp_path / "first")
    remembered = len(preprocessors._RENDERED)
    assert remembered > 20  # the course's markdown and code cells

    second = _as_graded(nb, "2026-12-02T10:00:07Z")
    own = submissions.add_cell(second, "print('a cell of my own')\n", after="code_setup")
    page = _render(own, tmp_path / "second")
    assert len(preprocessors._RENDERED) == remembered + 1  # only the student's own cell is new

    preprocessors._RENDERED.clear()
    assert page == _render(own, tmp_path / "second")  # what was remembered is what renders anew


def test_a_students_odd_cell_metadata_still_renders(tmp_path: Path) -> None:
    """Cell metadata is the student's to write: a ``magics_language`` that is not a name
    (a list, a dict) renders as nbconvert renders it, and breaks nothing."""
    nb = submissions.add_cell(submissions.completed(A), "print('odd')\n", after="code_setup")
    for odd in ([], {}, ["bash"], 3):
        cell = next(c for c in nb.cells if c.source == "print('odd')\n")
        cell.metadata["magics_language"] = odd
        assert "odd" in _render(nb, tmp_path)
