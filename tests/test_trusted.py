"""Every catalogued mistake loses points under the trusted verify, and is named.

For each k below the longest catalogue's length and each assignment, one submission
holds mistake number k of every function that has one (the other functions are the reference). The trusted
verify runs each function alone in the sandbox with the course's helpers
injected, so each buggy function must lose points, exactly the shares of the parts
its message says are wrong (partial credit; 0 under all or nothing), with a message
naming its mistake and giving its hint, and every other grade cell must score full.
(``tests/test_roundtrip.py`` proves the same under ``nbgrader autograde``.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat
import pytest
from partial import check_parts_follow_messages

from autograder.instructor import submissions
from autograder.instructor.mistakes import CATALOG, Mistake
from autograder.instructor.verify import CellResult, grade_cells, verify_notebook
from autograder.student.specs import ASSIGNMENTS, SPECS

COMBINED = range(max(len(mistakes) for mistakes in CATALOG.values()))  # k of the longest catalogue


def buggy(assignment: str, k: int) -> dict[str, Mistake]:
    """function -> its k-th catalogued mistake, for the functions that have one."""
    return {f: CATALOG[f][k] for f in grade_cells(assignment) if len(CATALOG.get(f, [])) > k}


CASES = [pytest.param(a, k, id=f"{a}-mistake{k}") for a in ASSIGNMENTS for k in COMBINED if buggy(a, k)]


def _verified(folder: Path, assignment: str, k: int) -> dict[str, CellResult]:
    nb = submissions.completed(assignment)
    for function, mistake in buggy(assignment, k).items():
        nb = submissions.edit_function(nb, function, mistake.edits)
    path = folder / f"{assignment}_mistakes_{k}.ipynb"
    nbformat.write(nb, path)
    return {r.function: r for r in verify_notebook(assignment, path)}


def test_every_mistake_is_covered() -> None:
    """The combined submissions hold every catalogued mistake of every graded function."""
    covered = {
        (f, m.name) for a, k in ((p.values[0], p.values[1]) for p in CASES) for f, m in buggy(a, k).items()
    }
    catalogued = {(f, m.name) for a in ASSIGNMENTS for f in grade_cells(a) for m in CATALOG.get(f, [])}
    assert covered == catalogued


@pytest.mark.parametrize(("assignment", "k"), CASES)
def test_each_mistake_loses_its_share_and_is_named(tmp_path: Path, assignment: str, k: int) -> None:
    """Mistake k of each function costs that function's grade cell the shares of the parts
    it gets wrong (all of it under all or nothing) and nothing elsewhere, and the message
    says which known mistake it is, with the catalogue's hint."""
    results = _verified(tmp_path, assignment, k)
    mistakes = buggy(assignment, k)
    assert set(results) == set(grade_cells(assignment))
    for function, result in results.items():
        grade_id, points = grade_cells(assignment)[function]
        assert result.grade_id == grade_id and result.max_points == points
        if function not in mistakes:
            assert result.score == points, f"{function} is the reference: {result.outcome.message()}"
            continue
        mistake, message = mistakes[function], result.outcome.message()
        assert result.score < points, f"{function} with {mistake.name!r} kept its points"
        check_parts_follow_messages(SPECS[function], result.outcome)
        assert dataclasses.replace(result, partial=False).score == 0.0
        named = (result.outcome.mistake or "").split(" or ")
        assert mistake.name in named, f"{function}: {mistake.name!r} not named:\n{message}"
        assert f"Hint: this looks like a known mistake: {result.outcome.mistake}." in message
        assert mistake.hint in message
