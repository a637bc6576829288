"""While nbgrader grades, a grade cell's public check of the function the self-check cell
just checked gives that verdict again without running the function a second time (the
kernel's verdict is only a claim; the trusted verify decides). A function defined anew is
checked anew, and outside grading every check runs."""

from __future__ import annotations

import pytest

from autograder.instructor.reference import reference
from autograder.student import checks


def _counting(fn):
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    return counted, calls


@pytest.fixture
def clean(monkeypatch):
    monkeypatch.setattr(checks, "_CHECKED", {})
    return monkeypatch


def test_a_repeated_check_under_the_grader_does_not_run_the_function_again(clean, capsys) -> None:
    clean.setenv("NBGRADER_EXECUTION", "autograde")
    fn, calls = _counting(reference("assign_5a").rnn_cell_forward)
    checks.check("rnn_cell_forward", fn)
    first = len(calls)
    checks.check("rnn_cell_forward", fn)
    assert first > 0 and len(calls) == first
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[0] == printed[1] and printed[0].startswith("OK - ")


def test_a_failing_verdict_is_repeated_with_its_message(clean) -> None:
    clean.setenv("NBGRADER_EXECUTION", "autograde")

    def wrong(xt, a_prev, parameters):
        raise ValueError("not yet")

    messages = []
    for _ in range(2):
        with pytest.raises(checks.CheckFailed) as failed:
            checks.check("rnn_cell_forward", wrong)
        messages.append(str(failed.value))
    assert messages[0] == messages[1] and "not yet" in messages[0]


def test_a_function_defined_anew_is_checked_anew(clean) -> None:
    clean.setenv("NBGRADER_EXECUTION", "autograde")
    fn, calls = _counting(reference("assign_5a").rnn_cell_forward)
    checks.check("rnn_cell_forward", fn)
    again, again_calls = _counting(reference("assign_5a").rnn_cell_forward)
    checks.check("rnn_cell_forward", again)
    assert calls and again_calls


def test_outside_grading_every_check_runs(clean) -> None:
    clean.delenv("NBGRADER_EXECUTION", raising=False)
    fn, calls = _counting(reference("assign_5a").rnn_cell_forward)
    checks.check("rnn_cell_forward", fn)
    first = len(calls)
    checks.check("rnn_cell_forward", fn)
    assert len(calls) == 2 * first
