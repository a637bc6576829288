"""Shared fixtures: running nbgrader in a throwaway course directory.

Tests that run nbgrader or a kernel are slow (seconds per notebook). They are
grouped with ``@pytest.mark.xdist_group`` so that ``pytest -n 2 --dist loadgroup``
keeps the tests sharing one course on one worker and spreads the groups.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from adversarial import GradedClass, grade_adversarial_class

from autograder.instructor.course import nbgrader

NbgraderRunner = Callable[..., subprocess.CompletedProcess]

# The hidden cases of the specs' own seeds, in this process and every grader it starts, so
# the suite's verdicts reproduce; tests/test_hidden_salt.py grades under other salts.
os.environ.setdefault("AUTOGRADER_HIDDEN_SALT", "0")


@pytest.fixture(scope="session")
def run_nbgrader() -> NbgraderRunner:
    """``run_nbgrader(course, *args)``: run ``nbgrader <args>`` there; fail with its log if it fails."""

    def run(course: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
        result = nbgrader(course, *args, timeout=timeout)
        assert result.returncode == 0, (
            f"`nbgrader {' '.join(args)}` failed (exit {result.returncode}) in {course}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
        return result

    return run


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    """The adversarial class of ``tests/adversarial.py``, graded once per test run and
    shared by ``test_grade_class`` and ``test_containment`` (one xdist group)."""
    return grade_adversarial_class(tmp_path_factory.mktemp("adversarial"))


@contextlib.contextmanager
def fresh_database(server: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL ``server`` (a URL), dropped afterwards."""
    import sqlalchemy

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
