"""While nbgrader grades, a grade cell's public check of the function the self-check cell
just checked gives that verdict again without running the function a second time (the
kernel's verdict is only a claim; the trusted verify decides). A function defined anew is
checked anew, and outside grading every check runs.

``sample``'s public check, while nbgrader grades, first runs each case's first draws and
stops there when they are the course's own, draw for draw; anything else gets every draw."""

from __future__ import annotations

import numpy as np
import pytest
from variants import VARIANTS

from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant, reference
from autograder.student import checks
from autograder.student.checks import load_vectors
from autograder.student.judge import Run, compared_draws, judge
from autograder.student.specs import SPECS


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


# --- sample under the grader: the course's own first draws, else every draw ------------


def _verdicts_outside_and_under_grading(clean, fn) -> list[tuple]:
    """``sample``'s public verdict on ``fn`` (passed, failed cases, message) in a student's
    notebook, then in the grading kernel."""
    verdicts = []
    for grading in (False, True):
        if grading:
            clean.setenv("NBGRADER_EXECUTION", "autograde")
        else:
            clean.delenv("NBGRADER_EXECUTION", raising=False)
        outcome = checks.evaluate("sample", fn)
        verdicts.append((outcome.passed, sorted(outcome.failed_cases), outcome.message()))
    return verdicts


def _public_draws() -> tuple[int, int]:
    """(draws of a full public check, draws when every case's first draws are the course's)."""
    plan = load_vectors(SPECS["sample"])[0]
    full = sum(c["repeat"] for c in plan["calls"])
    return full, sum(compared_draws(c["repeat"]) for c in plan["calls"])


def test_under_the_grader_a_correct_sampler_runs_only_its_first_draws(clean) -> None:
    """The course's sampler draws, draw for draw, what the vectors keep of the course's draws:
    only those are run, and the claim is a pass."""
    clean.setenv("NBGRADER_EXECUTION", "autograde")
    fn, calls = _counting(reference("assign_5b").sample)
    outcome = checks.evaluate("sample", fn)
    full, first = _public_draws()
    assert outcome.passed, outcome.message()
    assert len(calls) == first < full / 2


def test_outside_grading_a_sampler_runs_every_draw(clean) -> None:
    clean.delenv("NBGRADER_EXECUTION", raising=False)
    fn, calls = _counting(reference("assign_5b").sample)
    assert checks.evaluate("sample", fn).passed
    assert len(calls) == _public_draws()[0]


@pytest.mark.parametrize(
    "label", [v.label for v in VARIANTS if v.function == "sample"], ids=lambda label: label[:30]
)
def test_a_sampler_that_draws_another_way_gets_the_whole_check(clean, label: str) -> None:
    """A correct sampler whose draws are not the course's (the Gumbel-max trick, the global
    np.random) goes on to all its draws, no more, and passes; one that draws as rng.choice
    does (a cumulative sum and rng.random()) passes on its first draws."""
    clean.setenv("NBGRADER_EXECUTION", "autograde")
    [variant] = [v for v in VARIANTS if v.function == "sample" and v.label == label]
    fn, calls = _counting(variant.load().sample)
    outcome = checks.evaluate("sample", fn)
    full, first = _public_draws()
    assert outcome.passed, outcome.message()
    assert len(calls) == (first if "rng.random()" in label else full)


@pytest.mark.parametrize(
    "form",
    [(m.name, e) for m in CATALOG["sample"] for e in m.forms],
    ids=lambda form: form[0][:30],
)
def test_every_catalogued_sampling_mistake_gets_the_verdict_of_the_whole_check(clean, form) -> None:
    """A catalogued mistake draws otherwise than the course within its first draws of every
    case it fails, and its run then goes on where it was: the grading kernel's claim is
    the full check's, word for word."""
    fn = mutant("assign_5b", "sample", form[1]).sample
    full, claimed = _verdicts_outside_and_under_grading(clean, fn)
    assert not full[0]
    assert claimed == full


def test_the_judge_refuses_first_draws_that_are_not_the_courses() -> None:
    """Only the course's own draws pass on a part of a case; anything else needs all its
    draws (``checks.first_draws_first`` runs them): a caller that skipped them is a bug."""
    spec = SPECS["sample"]
    plan, arrays, expected = load_vectors(spec)
    call = plan["calls"][0]
    n = compared_draws(call["repeat"])
    outputs = {f"{call['label']}/out/{i}": np.array([0, 5]) for i in range(n)}
    structure = {k: "list_of_scalars" for k in outputs}
    run = Run(outputs, structure, {}, first_draws={call["label"]: n})
    with pytest.raises(ValueError, match="need a full run"):
        judge(spec, [call], run, expected)


class _Unreadable:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array here")


@pytest.mark.parametrize(
    "returned",
    [None, [[1, 2], [3]], "abc", [1.5, 2.0], [_Unreadable()], _Unreadable(), []],
    ids=["None", "ragged", "text", "floats", "unreadable item", "unreadable", "empty"],
)
def test_a_sampler_returning_no_draws_gets_the_verdict_of_the_whole_check(clean, returned) -> None:
    """What a sampler returns is compared with the course's draws without ever failing the
    comparison itself: the claim is the full check's, word for word."""

    def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
        rng.random()
        return returned

    full, claimed = _verdicts_outside_and_under_grading(clean, sample)
    assert not full[0]
    assert claimed == full
