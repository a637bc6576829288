"""The catalogue of known student mistakes, written as edits of the reference: one module
per assignment (``assign_*.py`` in this folder, found by looking), each a ``CATALOG`` of
the mistakes of its graded functions.

Each mistake is a small text edit of the reference function in ``solutions/``
(never a hand-made copy of it), sometimes with other forms: the same mistake as
students also write it, when that gives other numbers (PyTorch's reset gate with the
bias inside or outside the gated product). The checks run these mutants on the same
inputs as the student's function and name a mistake by its effect (``judge.name_mistake``):
every output the student got wrong is what the mistake gives there, so the mistake
made in fewer places (two arrays left unclipped instead of all) gets its hint too.
The tests turn every entry into a submission and prove it loses the function's
points, both under nbgrader and under the trusted verify; ``tests/buggy_variants.py``
holds independently written buggy functions that must get their hints.
"""

from __future__ import annotations

import importlib

from autograder.instructor.mistake import Edits, Mistake, m
from autograder.student.specs import ASSIGNMENTS

__all__ = ["CATALOG", "Edits", "Mistake", "m"]

CATALOG: dict[str, list[Mistake]] = {
    name: mistakes
    for assignment in ASSIGNMENTS
    for name, mistakes in importlib.import_module(f"{__name__}.{assignment}").CATALOG.items()
}
