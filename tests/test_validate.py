"""nbgrader's Validate (the button, and ``nbgrader validate``) tells a student the truth:
it fails on a blank or buggy notebook with the checks' own words, and passes a completed one.
The release's grade cells hold the public check; the hidden tests are added at grading."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.instructor import submissions
from autograder.instructor.course import nbgrader
from autograder.instructor.mistakes import CATALOG
from autograder.student.paths import course_root

pytestmark = pytest.mark.xdist_group("validate")
A = "assign_5a"


def validate(tmp_path: Path, nb: nbformat.NotebookNode) -> str:
    shutil.copy(course_root() / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(nb, path)
    run = nbgrader(tmp_path, "validate", str(path), timeout=600)
    return run.stdout + run.stderr


def test_validate_fails_a_blank_notebook_with_the_check_message(tmp_path: Path) -> None:
    out = validate(tmp_path, submissions.release(A))
    assert "VALIDATION FAILED" in out and "Success" not in out, out[-3000:]
    assert "rnn_cell_forward is not right yet" in out, out[-3000:]


def test_validate_fails_a_buggy_function_and_names_it(tmp_path: Path) -> None:
    mistake = CATALOG["gru_cell_forward"][0]
    out = validate(tmp_path, submissions.with_mistake(A, "gru_cell_forward", mistake))
    assert "VALIDATION FAILED" in out and "gru_cell_forward is not right yet" in out, out[-3000:]
    assert "rnn_cell_forward is not right yet" not in out  # the right functions pass


def test_validate_passes_a_completed_notebook(tmp_path: Path) -> None:
    out = validate(tmp_path, submissions.completed(A))
    assert "Success! Your notebook passes all the tests." in out, out[-3000:]
