"""The trusted checks of one submission, one test per graded function (see conftest.py)."""

from __future__ import annotations

import functools

import pytest

from autograder.instructor.verify import CellResult, verify_notebook


@functools.cache
def _verified(path: str, assignment: str) -> dict[str, CellResult]:
    return {r.function: r for r in verify_notebook(assignment, path)}


def test_function(graded: tuple[str, str, str]) -> None:
    path, assignment, function = graded
    result = _verified(path, assignment)[function]
    if not result.outcome.passed:
        pytest.fail(result.outcome.message(), pytrace=False)
