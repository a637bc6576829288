"""The README's points table and the notebooks' grade cells say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.instructor.verify import grade_cells
from autograder.student.specs import ASSIGNMENTS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_points_table_matches_grade_cells() -> None:
    # the fourth column, how the points are shared, is checked by tests/test_partial_credit.py
    rows = re.findall(r"^\| (assign_5\w) \| `(\w+)` \| (\d+) \|(?: [^\n]* \|)?$", README.read_text(), re.M)
    documented = {(a, fn): float(points) for a, fn, points in rows}
    actual = {(a, fn): points for a in ASSIGNMENTS for fn, (_, points) in grade_cells(a).items()}
    assert documented == actual, "update the Points table in README.md"
