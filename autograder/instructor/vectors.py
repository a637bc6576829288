"""Generate the public self-check vectors from the reference: ``python -m autograder vectors``.

The files are committed so that students need no ``solutions/``; a test regenerates
them and fails if they drift from the reference (``vectors --check`` does the same).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from autograder.instructor.expected import packed, suite_vectors
from autograder.student.gradcheck import rel_error
from autograder.student.paths import vectors_file
from autograder.student.runner import REFS, unpack
from autograder.student.specs import specs_for

Arrays = dict[str, np.ndarray]

# How far a regeneration on another machine may drift from the committed file.
# Outputs of the reference differ only by BLAS summation order: ~1e-16 relative.
# Centered differences divide that rounding by h = 1e-5 and by the cancellation in
# f(x+h) - f(x-h), so numerical gradients differ in their last ~7 digits from one
# BLAS to another (2.8e-9 was seen on one entry of optimize's dWaa). Both bounds
# sit far below the judge's TOL (1e-5): a change of the reference that could move
# any student's verdict is caught, machine noise never is.
SYNC_RTOL = 1e-10
SYNC_RTOL_NUMERICAL = 1e-7


def build_vectors(assignment: str) -> Arrays:
    """Plan, inputs, expected outputs and mistake outputs of every public case."""
    return suite_vectors(assignment, hidden=False)


def load_committed(assignment: str) -> Arrays:
    """The committed vectors, unpacked: the same flat dict ``build_vectors`` returns."""
    with np.load(vectors_file(assignment), allow_pickle=False) as data:
        stored = {k: data[k] for k in data.files}
    return {k: v for spec in specs_for(assignment) for k, v in unpack(stored, f"{spec.name}::").items()}


def drift(committed: Arrays, fresh: Arrays) -> list[str]:
    """The keys on which ``committed`` and ``fresh`` differ by more than machine noise,
    each with the reason; empty when they are in sync.

    Numbers are compared with a tolerance wherever they are: in arrays, and in any text
    (a plan is decoded and walked; a number inside a message is read as a number).
    Inputs are compared through the plans that use them, not by their keys: the keys
    number the distinct arrays, and which arrays are equal to the last bit can differ
    from one CPU to another.
    """
    problems = [f"{k}: only in the committed file" for k in sorted(set(committed) - set(fresh))]
    problems += [f"{k}: missing from the committed file" for k in sorted(set(fresh) - set(committed))]
    plans = [k for k in sorted(set(committed) & set(fresh)) if k.endswith("::plan")]
    through_plans = {
        k for p in plans for k in {*committed, *fresh} if k.startswith(p[: -len("plan")] + "in::")
    }
    problems = [p for p in problems if p.split(": ")[0] not in through_plans]
    for key in plans:
        prefix = key[: -len("plan")]
        old, new = json.loads(str(committed[key])), json.loads(str(fresh[key]))
        problems += _tree_drift(key, old, new, _inputs(committed, prefix), _inputs(fresh, prefix))[:5]
    for key in sorted(set(committed) & set(fresh) - set(plans) - through_plans):
        tol = SYNC_RTOL_NUMERICAL if "::exp::num/" in key else SYNC_RTOL
        problem = _array_drift(committed[key], fresh[key], tol)
        if problem:
            problems.append(f"{key}: {problem}")
    return problems


def _inputs(data: Arrays, prefix: str) -> Arrays:
    return {k[len(prefix) + 4 :]: v for k, v in data.items() if k.startswith(prefix + "in::")}


def _tree_drift(where: str, old: Any, new: Any, old_arrays: Arrays, new_arrays: Arrays) -> list[str]:
    """Where two decoded plans differ, arrays and numbers compared with SYNC_RTOL."""
    if isinstance(old, dict) and isinstance(new, dict):
        ref_old = [r for r in REFS if r in old]
        ref_new = [r for r in REFS if r in new]
        if ref_old or ref_new:
            if ref_old != ref_new:
                return [f"{where}: {ref_old or 'no array'} committed, {ref_new or 'no array'} now"]
            got, want = old_arrays.get(old[ref_old[0]]), new_arrays.get(new[ref_new[0]])
            if got is None or want is None:
                return [f"{where}: refers to an input that is not in the file"]
            problem = _array_drift(got, want, SYNC_RTOL)
            return [f"{where}: {problem}"] if problem else []
        if set(old) != set(new):
            return [f"{where}: keys {sorted(old)} committed, {sorted(new)} now"]
        return [p for k in old for p in _tree_drift(f"{where}/{k}", old[k], new[k], old_arrays, new_arrays)]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items committed, {len(new)} now"]
        pairs = zip(old, new, strict=True)
        return [
            p
            for i, (o, n) in enumerate(pairs)
            for p in _tree_drift(f"{where}/{i}", o, n, old_arrays, new_arrays)
        ]
    if _is_number(old) and _is_number(new):
        return (
            [] if _close(float(old), float(new), SYNC_RTOL) else [f"{where}: {old!r} committed, {new!r} now"]
        )
    if isinstance(old, str) and isinstance(new, str):
        return [] if _same_text(old, new, SYNC_RTOL) else [f"{where}: {old!r} committed, {new!r} now"]
    return [] if old == new and type(old) is type(new) else [f"{where}: {old!r} committed, {new!r} now"]


def _array_drift(got: np.ndarray, want: np.ndarray, tol: float) -> str | None:
    """Why two arrays differ by more than ``tol`` (None when they do not)."""
    if got.shape != want.shape or got.dtype.kind != want.dtype.kind:
        return f"{got.dtype}{got.shape} committed, {want.dtype}{want.shape} now"
    if want.dtype.kind in "US":  # text: its numbers compared as numbers
        same = all(_same_text(str(a), str(b), tol) for a, b in zip(got.ravel(), want.ravel(), strict=True))
        return None if same else "differs"
    if want.dtype.kind not in "fc":
        return None if np.array_equal(got, want) else "differs"
    err = rel_error(got, want)
    return None if err <= tol else f"relative difference {err:.2g} > {tol:g}"  # NaN fails too


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _same_text(a: str, b: str, tol: float) -> bool:
    """The same words, and numbers equal to ``tol`` (relative)."""
    if a == b:
        return True
    words_a, words_b = _NUMBER.split(a), _NUMBER.split(b)
    numbers_a, numbers_b = _NUMBER.findall(a), _NUMBER.findall(b)
    return (
        words_a == words_b
        and len(numbers_a) == len(numbers_b)
        and all(_close(float(x), float(y), tol) for x, y in zip(numbers_a, numbers_b, strict=True))
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _close(a: float, b: float, tol: float) -> bool:
    return a == b or abs(a - b) <= tol * (abs(a) + abs(b))


def write_vectors(assignment: str) -> Path:
    """Write the vectors of ``assignment`` to the package (deterministic content)."""
    path = vectors_file(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **packed(assignment, build_vectors(assignment)))
    return path
