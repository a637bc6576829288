"""The self-check cells teach: a wrong function is told which array is wrong and gets the hint.

The arrays that are really wrong are found here independently, by running the
reference and the mutant (the reference with a catalogued mistake applied) on
the public inputs and comparing every output the check compares. Needs neither
``data/`` nor nbgrader.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant, reference
from autograder.student.checks import CheckFailed, check, evaluate, load_vectors
from autograder.student.gradcheck import rel_error
from autograder.student.judge import output_key
from autograder.student.runner import run_plan
from autograder.student.specs import SPECS, Spec

# what the judge calls a wrong array: "case '<label>': <name> disagrees with / has shape / ..."
PROBLEM = re.compile(r"case '([^']*)': (.+?) (?:disagrees with|has shape|contains NaN|should hold)")
NAMES = sorted(SPECS)


def wrong_fields(spec: Spec, fn_ok, fn_bad) -> set[str]:
    """Display names (``spec.fields``) of the outputs where ``fn_bad`` differs from ``fn_ok``."""
    plan, arrays, _ = load_vectors(spec)
    with np.errstate(all="ignore"):
        ok, *_ = run_plan(fn_ok, plan, arrays)
        bad, *_ = run_plan(fn_bad, plan, arrays)
    wrong = set()
    for call in plan["calls"]:
        for path, name in spec.fields.items():
            key = output_key(call["label"], path)
            if key not in ok:
                continue
            if (
                key not in bad
                or np.shape(bad[key]) != np.shape(ok[key])
                or rel_error(bad[key], ok[key]) > 1e-5
            ):
                wrong.add(name)
    return wrong


@pytest.mark.parametrize("name", NAMES)
def test_failing_check_names_the_wrong_array_and_the_hint(name: str) -> None:
    """For the first catalogued mistake of each function, the public check fails, every array
    it calls wrong is really wrong (and it names at least one), and the message carries the hint."""
    spec, mistake = SPECS[name], CATALOG[name][0]
    bad = getattr(mutant(spec.assignment, name, mistake.edits), name)
    outcome = evaluate(name, bad)
    message = outcome.message()
    assert not outcome.passed, f"the self-check of {name} accepts the mistake {mistake.name!r}"
    assert mistake.hint in message and mistake.name in message, message
    labels = {c["label"] for c in load_vectors(spec)[0]["calls"]}
    if spec.kind == "distribution":  # sample: judged by its draws, not by an array
        assert re.search(r"character \d of your samples", message), message
        assert any(f"case '{label}'" in message for label in labels), message
        return
    named = {(label, field) for label, field in PROBLEM.findall(message)}
    if not named:  # the course's helper is replayed: a wrong call to it is named instead
        helper_call = re.search(
            r"call \d+ to (\w+): (\w+) differs from what the course's version passes", message
        )
        assert helper_call and helper_call.group(1) in spec.deps, f"the message names no array:\n{message}"
        return
    assert {label for label, _ in named} <= labels
    wrong = wrong_fields(spec, getattr(reference(spec.assignment), name), bad)
    assert {field for _, field in named} <= wrong, f"really wrong: {sorted(wrong)}\n{message}"


@pytest.mark.parametrize("name", NAMES)
def test_check_raises_the_same_message(name: str) -> None:
    """check() raises CheckFailed with the message of evaluate(), nothing else."""
    spec, mistake = SPECS[name], CATALOG[name][0]
    bad = getattr(mutant(spec.assignment, name, mistake.edits), name)
    with pytest.raises(CheckFailed) as info:
        check(name, bad)
    assert str(info.value) == evaluate(name, bad).message()


@pytest.mark.parametrize("name", NAMES)
def test_check_passes_the_reference(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """check() on the reference prints one line saying its cases passed."""
    check(name, getattr(reference(SPECS[name].assignment), name))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "passed" in lines[0], lines


def test_check_rejects_unknown_names_and_non_functions() -> None:
    """A renamed check or a function that is not one gets a clear message, not a traceback."""
    with pytest.raises(CheckFailed, match="no check called"):
        check("rnn_cell_forwards", print)
    with pytest.raises(CheckFailed, match="not a function"):
        check("rnn_cell_forward", None)


def test_an_array_also_in_the_cache_is_reported_once() -> None:
    """rnn_cell_forward returns a_next and a cache holding a_next again: one line for both."""
    spec = SPECS["rnn_cell_forward"]
    mistake = next(m for m in CATALOG["rnn_cell_forward"] if "tanh" in m.name and "no" in m.name)
    bad = mutant(spec.assignment, "rnn_cell_forward", mistake.edits).rnn_cell_forward
    message = evaluate("rnn_cell_forward", bad).message()
    named = [field for _, field in PROBLEM.findall(message)]
    assert "a_next" in named and "cache[0] (a_next)" not in named, message


def test_close_numbers_are_shown_with_the_digits_that_differ() -> None:
    """A relative error of a few 1e-5 is reported with enough digits to see it."""
    from autograder.student.judge import compare

    exp = np.array([0.18123456, -0.5])
    got = exp * (1 + 3e-5)
    problem = compare(got, exp, "a_next", "the expected value")
    yours, expected = re.search(r"yours (\S+), expected (\S+)\.", problem).groups()
    assert yours != expected and float(yours) != float(expected), problem


def test_messages_are_plain_text_and_hints_hold_no_code() -> None:
    """No emoji (an empty box without an emoji font), and no hint hands over a line of the
    solution: none contains an edit string of its own mistake."""
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        check("rnn_cell_forward", reference("assign_5a").rnn_cell_forward)
    assert out.getvalue().isascii(), out.getvalue()
    for name, mistakes in CATALOG.items():
        for mistake in mistakes:
            assert not mistake.hint.startswith("Related to"), (name, mistake.hint)
            for right, _ in mistake.edits:
                assert right.strip() not in mistake.hint, (name, mistake.name, right)


def test_long_messages_are_broken_between_words() -> None:
    """JupyterLab breaks long output lines anywhere, even inside a number: the check's
    lines arrive broken between words, indented under their bullet, nothing lost."""
    from autograder.student.checks import wrapped

    spec, mistake = SPECS["gru_cell_forward"], CATALOG["gru_cell_forward"][0]
    bad = mutant(spec.assignment, "gru_cell_forward", mistake.edits).gru_cell_forward
    message = evaluate("gru_cell_forward", bad).message()
    assert max(len(line) for line in message.splitlines()) > 96  # the probe is long
    lines = wrapped(message)
    assert max(len(line) for line in lines) <= 96
    assert " ".join(" ".join(lines).split()) == " ".join(message.split())
    numbers = re.findall(r"-?\d+\.\d+", message)
    assert all(any(n in line for line in lines) for n in numbers)  # no number split across lines


@pytest.mark.parametrize(
    ("function", "helper"),
    [
        ("rnn_forward", "rnn_cell_forward"),
        ("gru_forward", "gru_cell_forward"),
        ("rnn_backward", "rnn_cell_backward"),
    ],
)
def test_a_self_check_judges_its_function_on_its_own(function: str, helper: str) -> None:
    """A right ``function`` passes its self-check while the ``helper`` it calls is wrong (the
    helper's own check fails): the public cases replay the course's helper, as the grade
    does, so one bug fails one check."""
    spec = SPECS[function]
    broken = mutant(spec.assignment, helper, CATALOG[helper][0].edits)  # its rnn_forward calls the bad cell
    assert not evaluate(helper, getattr(broken, helper)).passed
    outcome = evaluate(function, getattr(broken, function))
    assert outcome.passed, outcome.message()


@pytest.mark.parametrize(
    ("returned", "told"),
    [
        (lambda: np.array([], dtype=int), "returned an empty list"),
        (lambda: [], "returned an empty list"),
        (lambda: None, "returned None"),
        (lambda: np.array([[1, 2]]), "should return a list of ints"),
        (lambda: [0.5, 1.0], "should return a list of ints"),
    ],
)
def test_a_sample_that_returns_no_draws_is_told_what_it_returned(returned, told: str) -> None:
    """``sample`` is judged by its draws: a return value that holds none is named in the
    message for every case (an empty array once stopped the judge with a ValueError)."""
    outcome = evaluate("sample", lambda *args, **kwargs: returned())
    assert not outcome.passed
    assert all(told in problem for problem in outcome.problems), outcome.problems
