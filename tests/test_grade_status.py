"""A status names who is at fault: ``kernel-crash`` only when the student's code killed the
kernel, never when the grader could not start one (a busy machine, a broken sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.instructor import submissions
from autograder.instructor.course import submit
from autograder.instructor.grade import prepare_gradebooks
from autograder.instructor.grade_submission import grade_one
from autograder.instructor.limits import Options
from autograder.instructor.sandbox import KernelSandbox
from autograder.instructor.verify import grade_cells

pytestmark = pytest.mark.xdist_group("grade_status")
A = "assign_5a"


def test_a_kernel_that_never_starts_is_a_grader_error(tmp_path: Path, new_course) -> None:
    """The kernel's sandbox cannot start (its library is missing): no student code ran, so
    the status is grader-error with a line saying so, and the trusted scores still count."""
    course = new_course(tmp_path / "course")
    submit(course, "full", A, submissions.completed(A))
    template = prepare_gradebooks(course, A, tmp_path / "template")
    broken = KernelSandbox(tmp_path / "no-such-library", 2 * 1024**3)
    result = grade_one(course, A, "full", template, Options(workers=1), broken)
    assert result.status == "grader-error"
    assert any("not the student's doing" in note for note in result.notes), result.notes
    assert result.total == sum(points for _, points in grade_cells(A).values())
