"""Generate the public self-check vectors from the reference: ``python -m autograder vectors``.

The files are committed so that students need no ``solutions/``; a test regenerates
them and fails if they drift from the reference (``vectors --check`` does the same).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.expected import packed, suite_vectors
from autograder.gradcheck import rel_error
from autograder.paths import vectors_file
from autograder.runner import unpack
from autograder.specs import specs_for

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
    each with the reason; empty when they are in sync."""
    problems = [f"{k}: only in the committed file" for k in sorted(set(committed) - set(fresh))]
    problems += [f"{k}: missing from the committed file" for k in sorted(set(fresh) - set(committed))]
    for key in sorted(set(committed) & set(fresh)):
        got, want = committed[key], fresh[key]
        if got.shape != want.shape or got.dtype.kind != want.dtype.kind:
            problems.append(f"{key}: {got.dtype}{got.shape} committed, {want.dtype}{want.shape} now")
        elif want.dtype.kind not in "fc":
            if not np.array_equal(got, want):
                problems.append(f"{key}: differs")
        else:
            tol = SYNC_RTOL_NUMERICAL if "::exp::num/" in key else SYNC_RTOL
            err = rel_error(got, want)
            if not err <= tol:  # also catches NaN
                problems.append(f"{key}: relative difference {err:.2g} > {tol:g}")
    return problems


def write_vectors(assignment: str) -> Path:
    """Write the vectors of ``assignment`` to the package (deterministic content)."""
    path = vectors_file(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **packed(assignment, build_vectors(assignment)))
    return path
