"""A status names who is at fault: ``kernel-crash`` only when the student's code killed the
kernel, never when the grader could not start one (a busy machine, a broken sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.instructor import grade_submission, submissions
from autograder.instructor.course import submit
from autograder.instructor.grade import kernel_sandbox, prepare_gradebooks
from autograder.instructor.grade_submission import grade_one
from autograder.instructor.limits import Options
from autograder.instructor.sandbox import KernelSandbox
from autograder.instructor.verify import grade_cells

pytestmark = [
    pytest.mark.xdist_group("grade_status"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),  # nbgrader's autoflush notice
]
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


def test_a_function_the_machine_starved_is_a_grader_error_to_regrade(
    tmp_path: Path, new_course, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verify whose run of a function says the grader is to blame (stopped by the clock,
    given under a twelfth of a core: ``tests/test_sandbox.py`` starves one for real) makes the
    submission a grader error, whose note names the function and the command to regrade;
    the flag says so too, not that the student's kernel disagreed."""
    course = new_course(tmp_path / "course")
    submit(course, "full", A, submissions.completed(A))
    template = prepare_gradebooks(course, A, tmp_path / "template")
    real = grade_submission.verify_notebook
    fault = "rnn_cell_forward was stopped after 12 s, ready to run but given only 0.6 s of CPU"

    def one_starved(*args, **kwargs):
        results = real(*args, **kwargs)
        results[0].grader_fault = fault
        return results

    monkeypatch.setattr(grade_submission, "verify_notebook", one_starved)
    opts = Options(workers=1)
    result = grade_one(course, A, "full", template, opts, kernel_sandbox(tmp_path, opts))
    assert result.status == "grader-error"
    assert any(fault in n and "regrade with --force --student=full" in n for n in result.notes), result.notes
    cell = grade_cells(A)["rnn_cell_forward"][0]
    reasons = [f["reason"] for f in result.flags if f["grade_id"] == cell]
    expected = f"the trusted verify could not judge this function: {fault}. Regrade it."
    assert reasons == [expected], result.flags
