"""Generate the public self-check vectors from the reference: ``python -m autograder vectors``.

The files are committed so that students need no ``solutions/``; a test regenerates
them and fails if they drift from the reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from autograder.checks import expected_data, make_plan, mistake_data
from autograder.paths import vectors_file
from autograder.reference import reference
from autograder.specs import specs_for

Arrays = dict[str, np.ndarray]


def build_vectors(assignment: str) -> Arrays:
    """Plan, inputs, expected outputs and mistake outputs of every public case."""
    ref = reference(assignment)
    data: Arrays = {}
    for spec in specs_for(assignment):
        plan, arrays = make_plan(spec, False, ref)
        expected = expected_data(spec, False, plan, arrays)
        expected.update(mistake_data(spec, plan, arrays, expected))
        data[f"{spec.name}::plan"] = np.array(json.dumps(plan))
        data.update({f"{spec.name}::in::{k}": v for k, v in arrays.items()})
        data.update({f"{spec.name}::exp::{k}": v for k, v in expected.items()})
    return data


def write_vectors(assignment: str) -> Path:
    """Write the vectors of ``assignment`` to the package (deterministic content)."""
    path = vectors_file(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **build_vectors(assignment))
    return path
