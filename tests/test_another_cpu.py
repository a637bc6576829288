"""Another CPU rounds differently: the vectors and the replayed helpers must not care.

A machine with another CPU (or BLAS) computes the same reference with different last
digits. Nothing may then be reported out of sync, and no student may be told that a
helper received different arguments. Here that other CPU is simulated on this one:
every floating-point number of freshly built vectors, in arrays and anywhere in text,
is moved by a random relative 1e-12, far more than one rounding and far less than the
judge's tolerance.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import numpy as np
import pytest
from fresh_vectors import GROUP, fresh_vectors

from autograder.instructor.reference import reference
from autograder.instructor.vectors import drift
from autograder.student.checks import split_vectors, verdict
from autograder.student.judge import Run
from autograder.student.runner import decode, encode, run_plan
from autograder.student.specs import ASSIGNMENTS, SPECS, specs_for

NOISE = 1e-12
# a decimal number that is not an integer: a float written as text
FLOAT_TEXT = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+")


pytestmark = GROUP


def nudge_number(x: float, rng: np.random.Generator) -> float:
    return x * (1 + NOISE * rng.uniform(-1, 1))


def nudge_text(text: str, rng: np.random.Generator) -> str:
    """Every float written in ``text`` moved by NOISE, JSON read as JSON."""
    try:
        tree = json.loads(text)
    except ValueError:
        return FLOAT_TEXT.sub(lambda m: repr(nudge_number(float(m.group()), rng)), text)
    return json.dumps(nudge_tree(tree, rng))


def nudge_tree(obj: Any, rng: np.random.Generator) -> Any:
    if isinstance(obj, float):
        return nudge_number(obj, rng)
    if isinstance(obj, list):
        return [nudge_tree(v, rng) for v in obj]
    if isinstance(obj, dict):
        return {k: nudge_tree(v, rng) for k, v in obj.items()}
    if isinstance(obj, str):
        return nudge_text(obj, rng)
    return obj


def nudge_array(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if value.dtype.kind in "fc":
        return (value * (1 + NOISE * rng.uniform(-1, 1, value.shape))).astype(value.dtype)
    if value.dtype.kind in "US":
        return np.array([nudge_text(str(v), rng) for v in value.ravel()]).reshape(value.shape)
    return value


def another_cpu(data: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: nudge_array(v, rng) for k, v in data.items()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_vectors_built_on_another_cpu_are_in_sync(assignment: str) -> None:
    """Every float of the vectors moved in its last digits: nothing is reported."""
    data = fresh_vectors(assignment)
    moved = another_cpu(data)
    assert any(not np.array_equal(moved[k], data[k]) for k in data if data[k].dtype.kind in "fc")
    problems = drift(moved, data)
    assert not problems, "another CPU's rounding counted as drift:\n" + "\n".join(problems[:10])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_float_is_written_as_text(assignment: str) -> None:
    """Plans, records and messages hold no decimal number: floats live in arrays."""
    data = fresh_vectors(assignment)
    texts = {k: str(v) for k, arr in data.items() if arr.dtype.kind in "US" for v in arr.ravel()}
    written = {k: FLOAT_TEXT.search(t).group() for k, t in texts.items() if FLOAT_TEXT.search(t)}
    assert not written, f"floats written as text: {dict(list(written.items())[:5])}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_real_change_is_still_reported(assignment: str) -> None:
    """One reference output moved by a relative 1e-6 (still below the judge's tolerance):
    reported, on that key, among the other CPU's noise."""
    data = fresh_vectors(assignment)
    key = next(
        k
        for k in sorted(data)
        if "::exp::" in k
        and "/out/" in k
        and "mistake" not in k
        and "num/" not in k
        and data[k].dtype.kind == "f"
        and data[k].size > 1
    )
    changed = another_cpu(data)
    changed[key] = data[key] * (1 + 1e-6)
    problems = drift(changed, data)
    assert [p for p in problems if p.startswith(key + ":")], (key, problems[:5])


def nudged_records(plan: dict, arrays: dict[str, np.ndarray], seed: int) -> tuple[dict, dict]:
    """The plan with the arguments recorded for every replayed helper moved by NOISE, and
    nothing else: the student's side computes its own arguments exactly."""
    rng = np.random.default_rng(seed)
    plan, arrays = copy.deepcopy(plan), dict(arrays)

    def nudge(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return nudge_array(obj, rng)
        if isinstance(obj, float):
            return type(obj)(nudge_number(float(obj), rng))
        if isinstance(obj, (tuple, list)):
            return type(obj)(nudge(v) for v in obj)
        if isinstance(obj, dict):
            return {k: nudge(v) for k, v in obj.items()}
        return obj

    for call in plan["calls"]:
        for records in call.get("helpers", {}).values():
            for rec in records:
                rec["args"] = encode(nudge(decode(rec["args"], arrays)), arrays)
    return plan, arrays


@pytest.mark.parametrize(
    "assignment,name",
    [(a, s.name) for a in ASSIGNMENTS for s in specs_for(a) if any(d in SPECS for d in s.deps)],
)
def test_replayed_helpers_accept_another_cpus_records(assignment: str, name: str) -> None:
    """Records made on another CPU: the reference, calling its replayed helpers with its own
    arguments, is served and passes; it is not told it passes different arguments."""
    spec = next(s for s in specs_for(assignment) if s.name == name)
    data = fresh_vectors(assignment)
    plan, arrays, expected = split_vectors(spec, data)
    assert all(call.get("helpers") for call in plan["calls"]), f"{name}'s cases replay no helper"
    plan, arrays = nudged_records(plan, arrays, seed=1)
    run = Run(*run_plan(getattr(reference(assignment), name), plan, arrays))
    assert not run.errors, run.errors
    outcome = verdict(spec, plan, run, expected)
    assert outcome.passed, outcome.message()
