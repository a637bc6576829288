"""The public vectors built afresh from ``solutions/``, once per test process: the sync test
(test_release) and the other-CPU tests (test_another_cpu) compare against the same build,
and building ``assign_5b``'s takes some twenty seconds (every catalogued mistake runs on
``sample``'s thousands of draws). The tests that use it share one xdist group, so one
worker builds each assignment's vectors once."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.instructor.vectors import build_vectors

GROUP = pytest.mark.xdist_group("fresh_vectors")


@functools.cache
def fresh_vectors(assignment: str) -> dict[str, np.ndarray]:
    """``build_vectors(assignment)``, computed once per process: read it, never change it."""
    return build_vectors(assignment)
