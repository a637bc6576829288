"""Correct alternative implementations get full marks, in the kernel and under the trusted verify.

The variants (``tests/variants.py``) are real alternative solutions of every
graded function: loops, ``np.einsum``, in-place updates, another order of
operations, float32 arithmetic, extra helpers and prints; ``sample`` draws with
a cumulative sum and ``rng.random()``, the Gumbel-max trick or a hand-made
inverse CDF instead of ``rng.choice``. A check that rejected any of them would
grade the code's form rather than its result.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest
from variants import VARIANTS, Variant

from autograder.instructor import submissions
from autograder.instructor.verify import grade_cells, hidden_outcome, verify_notebook
from autograder.student.checks import evaluate
from autograder.student.specs import ASSIGNMENTS, SPECS

SLOTS = sorted({(v.assignment, v.slot) for v in VARIANTS})


def test_every_graded_function_has_variants() -> None:
    """At least three alternative implementations of every graded function, one of them float32
    unless the function is pure control flow, in variant notebooks of both assignments."""
    assert {a for a, _ in SLOTS} == set(ASSIGNMENTS)
    for name in SPECS:
        labels = [v.label for v in VARIANTS if v.function == name]
        assert len(labels) >= 3, f"{name} has only {labels}"
        if name not in ("clip", "model", "sample"):
            assert any("float32" in label for label in labels), f"{name}: no float32 variant"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
@pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
def test_variant_passes_in_kernel(variant: Variant, hidden: bool) -> None:
    """The self-check (public cases) and the hidden cases, judged as the grader judges them, accept it."""
    fn = getattr(variant.load(), variant.function)
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = hidden_outcome(variant.function, fn) if hidden else evaluate(variant.function, fn)
    assert outcome.passed, outcome.message()
    assert outcome.parts and all(p.earned for p in outcome.parts), outcome.parts  # every share kept
    assert outcome.n_cases == len(SPECS[variant.function].cases(hidden))


def variant_notebook(assignment: str, slot: int) -> nbformat.NotebookNode:
    """The release filled in with the slot-th variant of every function (reference where none)."""
    nb = submissions.completed(assignment)
    for v in VARIANTS:
        if v.assignment == assignment and v.slot == slot:
            nb = submissions.replace_function(nb, v.function, v.source)
            assert [c.source for c in nb.cells].count(v.source) == 1
    return nb


@pytest.mark.parametrize(("assignment", "slot"), SLOTS, ids=[f"{a}-slot{s}" for a, s in SLOTS])
def test_variants_get_full_marks_from_verify(tmp_path: Path, assignment: str, slot: int) -> None:
    """A notebook made of variants scores full marks on every grade cell under the trusted verify."""
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(variant_notebook(assignment, slot), path)
    replaced = {v.function: v.id for v in VARIANTS if v.assignment == assignment and v.slot == slot}
    assert replaced, "this slot must hold at least one variant"
    results = verify_notebook(assignment, path)
    assert {r.function for r in results} == set(grade_cells(assignment))
    for r in results:
        assert r.score == r.max_points, f"{replaced.get(r.function, r.function)}: {r.outcome.message()}"
