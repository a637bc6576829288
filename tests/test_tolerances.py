"""The judge's tolerance TOL sits at least tenfold away from both correct and wrong answers.

On the hidden cases, with ``rel_error`` over exactly the fields the judge compares:

- every correct variant of ``tests/variants.py`` (loops, einsum, float32, ...) is
  within TOL / 10 of the reference, and of the numerical gradients where the
  judge also checks those;
- every catalogued mistake of a value-graded function is further than TOL * 10
  from the reference. A mistake's distance is the largest error over its
  compared fields and cases (one field off is enough to fail it); a missing field
  or a wrong shape counts as infinitely far.

``sample`` is graded by its distribution (a chi-square test), not by TOL, and is
left out. Run with ``-s`` to see the measured errors.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from variants import VALUE_VARIANTS, Variant

from autograder.instructor.expected import hidden_suite, mistake_data
from autograder.instructor.mistakes import CATALOG
from autograder.student.gradcheck import rel_error
from autograder.student.judge import TOL, output_key
from autograder.student.runner import run_plan
from autograder.student.specs import SPECS

MARGIN = 10
Arrays = dict[str, np.ndarray]


@functools.cache
def hidden(name: str) -> tuple[dict, Arrays, Arrays]:
    """(plan, input arrays, expected data) of ``name``'s hidden cases, as verify uses them."""
    for spec, plan, arrays, expected in hidden_suite(SPECS[name].assignment):
        if spec.name == name:
            return plan, arrays, expected
    raise KeyError(name)


def compared_keys(name: str) -> list[str]:
    """The output keys the judge compares with the reference for ``name``."""
    plan, _, expected = hidden(name)
    keys = [output_key(call["label"], path) for call in plan["calls"] for path in SPECS[name].fields]
    return [k for k in keys if k in expected]


def distance(got: Arrays, expected: Arrays, key: str) -> float:
    """rel_error of one compared field; infinite when it is missing or has another shape."""
    if key not in got or np.shape(got[key]) != np.shape(expected[key]):
        return float("inf")
    return rel_error(got[key], expected[key])


@pytest.mark.parametrize("variant", VALUE_VARIANTS, ids=lambda v: v.id)
def test_correct_variants_are_far_below_tol(variant: Variant) -> None:
    """Rounding differences of a correct implementation (float32 included) stay below TOL / 10."""
    plan, arrays, expected = hidden(variant.function)
    with np.errstate(all="ignore"):
        outputs, _, errors, _ = run_plan(getattr(variant.load(), variant.function), plan, arrays)
    assert not errors, errors
    keys = compared_keys(variant.function)
    errs = {k: distance(outputs, expected, k) for k in keys}
    errs |= {
        f"num/{k}": distance(outputs, {k: expected[f"num/{k}"]}, k) for k in keys if f"num/{k}" in expected
    }
    worst = max(errs, key=errs.__getitem__)
    print(f"\n{variant.id}: worst relative error {errs[worst]:.3g} ({worst})")
    assert errs[worst] < TOL / MARGIN, (
        f"{variant.id} is a correct implementation, but its relative error {errs[worst]:.3g} at "
        f"{worst} is within a factor {MARGIN} of TOL = {TOL:g}"
    )


@functools.cache
def mistakes_of(name: str) -> Arrays:
    plan, arrays, expected = hidden(name)
    return mistake_data(SPECS[name], plan, arrays, expected)


VALUE_MISTAKES = [
    pytest.param(name, i, id=f"{name}-{m.name}")
    for name, spec in SPECS.items()
    if spec.kind == "values"
    for i, m in enumerate(CATALOG.get(name, []))
]


@pytest.mark.parametrize(("name", "index"), VALUE_MISTAKES)
def test_catalogued_mistakes_are_far_above_tol(name: str, index: int) -> None:
    """Each catalogued mistake is off by more than TOL * 10 on some compared field."""
    _, _, expected = hidden(name)
    prefix = f"mistake{index}/"
    got = {k[len(prefix) :]: v for k, v in mistakes_of(name).items() if k.startswith(prefix)}
    errs = {k: distance(got, expected, k) for k in compared_keys(name)}
    largest = max(errs, key=errs.__getitem__)
    print(f"\n{name}, {CATALOG[name][index].name}: largest relative error {errs[largest]:.3g} ({largest})")
    assert errs[largest] > TOL * MARGIN, (
        f"{name}: the mistake {CATALOG[name][index].name!r} is only {errs[largest]:.3g} away from "
        f"the reference on the hidden cases, within a factor {MARGIN} of TOL = {TOL:g}"
    )
