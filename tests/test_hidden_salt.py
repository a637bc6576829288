"""Each course draws its own hidden numbers: the same shapes, other values.

The hidden cases' seeds come from the functions' names, which students can read in
``specs.py``; a secret of the course's (``expected.hidden_salt``) changes the numbers, so
hidden inputs seen in another course or term are not this one's. The rest of the suite
grades with the specs' own seeds (salt 0, set in conftest.py); here, other salts.
"""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from autograder.instructor import expected
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant, reference
from autograder.student.checks import judged, split_vectors
from autograder.student.specs import specs_for

A = "assign_5a"


def test_the_secret_is_made_once_and_kept_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(expected.SALT_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    expected.hidden_salt.cache_clear()
    try:
        first = expected.hidden_salt()
        expected.hidden_salt.cache_clear()
        assert expected.hidden_salt() == first != 0
        path = expected.salt_file()
        assert path.is_relative_to(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        expected.hidden_salt.cache_clear()


@pytest.fixture(scope="module")
def salted() -> dict[str, np.ndarray]:
    return expected.suite_vectors(A, hidden=True, salt=987654321)


def test_another_salt_draws_other_numbers_in_the_same_shapes(salted: dict[str, np.ndarray]) -> None:
    plain = expected.suite_vectors(A, hidden=True, salt=0)
    for spec in specs_for(A):
        _, ours, _ = split_vectors(spec, plain)
        _, theirs, _ = split_vectors(spec, salted)
        assert sorted(ours) == sorted(theirs)
        assert [ours[k].shape for k in sorted(ours)] == [theirs[k].shape for k in sorted(ours)]
        floats = [k for k in ours if ours[k].dtype.kind == "f" and ours[k].size > 1]
        assert floats and all(not np.allclose(ours[k], theirs[k]) for k in floats), spec.name


def test_under_another_salt_the_reference_passes_and_every_mistake_fails(salted) -> None:
    for spec in specs_for(A):
        plan, arrays, want = split_vectors(spec, salted)
        fn = getattr(reference(A), spec.name)
        assert judged(spec, fn, plan, arrays, want).passed, spec.name
        for mistake in CATALOG.get(spec.name, []):
            bad = getattr(mutant(A, spec.name, mistake.forms[0]), spec.name)
            outcome = judged(spec, bad, plan, arrays, want)
            assert not outcome.passed, (spec.name, mistake.name)
