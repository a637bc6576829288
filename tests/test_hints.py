"""Hints follow what a mistake does to the outputs, not the text of one catalogued mutant.

Three kinds of function are run through the self-check (public cases) and the grade
cell's check (hidden cases), in this process:

- every form of every catalogued mistake, applied to the reference: named;
- buggy functions written independently (``tests/buggy_variants.py``), each making a
  catalogued mistake its own way: named, with the right mistake;
- buggy functions making a mistake the catalogue does not hold: failed, no hint
  (a hint naming the wrong mistake misleads more than none).

Correct functions are never named: ``tests/test_variants.py`` shows every correct
variant passes, and a passing check names nothing.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from buggy_variants import BUGGY, SHAPE_ONLY, UNCATALOGUED, Buggy
from partial import check_parts_follow_messages

from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant
from autograder.instructor.verify import hidden_outcome
from autograder.student.checks import evaluate
from autograder.student.judge import Outcome
from autograder.student.specs import SPECS

HIDDEN = pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
FORMS = [
    pytest.param(function, mistake.name, edits, id=f"{function}-{mistake.name}-{k}")
    for function, mistakes in CATALOG.items()
    for mistake in mistakes
    for k, edits in enumerate(mistake.forms)
]


def run_check(function: str, fn: object, hidden: bool) -> Outcome:
    with contextlib.redirect_stdout(io.StringIO()):
        return hidden_outcome(function, fn) if hidden else evaluate(function, fn)


@HIDDEN
@pytest.mark.parametrize(("function", "name", "edits"), FORMS)
def test_every_form_of_every_mistake_is_named(function: str, name: str, edits: tuple, hidden: bool) -> None:
    fn = getattr(mutant(SPECS[function].assignment, function, edits), function)
    outcome = run_check(function, fn, hidden)
    assert not outcome.passed, f"the check of {function} accepts the mistake {name!r}"
    assert outcome.mistake is not None and name in outcome.mistake.split(" or "), outcome.message()
    # partial credit: it loses the parts its message says are wrong, and not all of them are right
    check_parts_follow_messages(SPECS[function], outcome)
    assert not all(p.earned for p in outcome.parts), outcome.parts


@HIDDEN
@pytest.mark.parametrize("bug", BUGGY, ids=lambda b: b.id)
def test_independently_written_mistake_gets_its_hint(bug: Buggy, hidden: bool) -> None:
    outcome = run_check(bug.function, getattr(bug.load(), bug.function), hidden)
    assert not outcome.passed, f"{bug.id} passes the check"
    check_parts_follow_messages(SPECS[bug.function], outcome)
    assert outcome.mistake is not None, f"{bug.id}: no hint, expected {bug.mistake!r}\n{outcome.message()}"
    assert bug.mistake in outcome.mistake.split(" or "), outcome.message()
    hint = next(m.hint for m in CATALOG[bug.function] if m.name == bug.mistake)
    assert hint in outcome.message()


@HIDDEN
@pytest.mark.parametrize("bug", UNCATALOGUED, ids=lambda b: b.id)
def test_a_mistake_not_catalogued_gets_no_hint(bug: Buggy, hidden: bool) -> None:
    outcome = run_check(bug.function, getattr(bug.load(), bug.function), hidden)
    assert not outcome.passed, f"{bug.id} passes the check"
    assert outcome.mistake is None, f"{bug.id} was told: {outcome.mistake}"
    assert "Hint" not in outcome.message()


def test_the_buggy_functions_make_mistakes_in_other_places_and_other_forms() -> None:
    """Among the independently written bugs: a subset of arrays left unclipped, a subset
    of gradients overwritten, and PyTorch's reset gate written with the weight blocks."""
    labels = {(b.function, b.mistake) for b in BUGGY}
    assert ("clip", "arrays left unclipped") in labels
    assert ("rnn_backward", "parameter gradients overwritten") in labels
    assert ("gru_cell_forward", "reset gate applied after the matmul (PyTorch's GRU)") in labels
    assert len(BUGGY) >= 11


@HIDDEN
@pytest.mark.parametrize("bug", SHAPE_ONLY, ids=lambda b: b.id)
def test_right_numbers_in_the_wrong_shape_get_a_shape_message_not_a_hint(bug: Buggy, hidden: bool) -> None:
    """A hint is given only when it is the true explanation: right numbers in the wrong shape
    are told exactly that, and no catalogued mistake is named."""
    outcome = run_check(bug.function, getattr(bug.load(), bug.function), hidden)
    assert not outcome.passed, f"{bug.id} passes the check"
    assert outcome.mistake is None, f"{bug.id} was told: {outcome.mistake}\n{outcome.message()}"
    assert "Its numbers are right: only the shape is wrong" in outcome.message(), outcome.message()


def test_a_missing_return_is_said_once_per_case() -> None:
    """A clip with no `return` is missing every array for one reason: one line per case."""
    namespace: dict = {"np": np}
    exec("def clip(gradients, max_value):\n    gradients = dict(gradients)\n", namespace)  # noqa: S102
    outcome = run_check("clip", namespace["clip"], hidden=False)
    lines = [p for p in outcome.problems if "returned None" in p]
    assert lines and len(lines) == len({p.split(":")[0] for p in lines}), outcome.message()
