"""Pytest front end of the trusted verify: ``pytest autograder --submission PATH.ipynb``.

One test per graded function and submission; a failure says what is wrong in the
check library's words. Works on a single notebook outside any course directory.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption(
        "--submission",
        action="append",
        default=[],
        metavar="PATH",
        help="student notebook to verify (repeatable)",
    )
    group.addoption(
        "--assignment",
        default=None,
        help="assignment of the submissions (default: inferred from each notebook)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Fail closed: no submission runs unless bubblewrap works (see sandbox.require_sandbox)."""
    if config.getoption("submission", default=None):
        from autograder.instructor.sandbox import REFUSAL, backend

        if backend() != "bubblewrap":
            raise pytest.UsageError(REFUSAL)


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    """Without --submission there is nothing to verify: collect no tests here."""
    if collection_path.name == "test_submission.py" and not config.getoption("submission"):
        return True
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "graded" not in metafunc.fixturenames:
        return
    from autograder.instructor.verify import grade_cells, infer_assignment

    params, ids = [], []
    for path in metafunc.config.getoption("submission"):
        assignment = metafunc.config.getoption("assignment") or infer_assignment(path)
        for function in grade_cells(assignment):
            params.append((path, assignment, function))
            ids.append(f"{path}::{function}")
    metafunc.parametrize("graded", params, ids=ids)
