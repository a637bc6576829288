"""``python -m autograder export``: the gradebook's scores in the form an LMS imports.

- **Canvas**: Canvas imports the file its own gradebook export has (Student, ID, SIS User
  ID, SIS Login ID, Section, then one column per assignment, headed ``Name (assignment
  id)``, and a second row, ``Points Possible``). So the instructor's export is the roster:
  each of its students is matched by Canvas's user ID with the id the download gave them
  (``lms_ids.csv``, written by ``grade --zip``), and each assignment's column is filled
  in (its column of the export when one is named for it, else a new column, which Canvas
  imports as a new assignment). A student without a score keeps an empty cell, which
  Canvas leaves as it is.
- **Generic**: one row per student and assignment: student, lms_id, assignment, score
  (after the late penalty), max, late penalty.

The score is nbgrader's (the trusted one, or the instructor's correction made in
formgrader) minus nbgrader's late penalty. Every cell is made inert (``csv_cell``):
ids and names come from students and the LMS.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.instructor.collect import LMS_IDS, read_lms_ids
from autograder.instructor.course import gradebook_url
from autograder.instructor.untrusted import csv_cell, printable

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"


@dataclass
class Score:
    score: float  # after the late penalty
    max_score: float
    penalty: float


def scores(course: Path, assignments: list[str], gradebook: str | None = None) -> dict[str, dict[str, Score]]:
    """student -> assignment -> score, for every submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, dict[str, Score]] = {}
    with Gradebook(gradebook_url(course, gradebook)) as gb:
        for assignment in assignments:
            try:
                submissions = gb.find_assignment(assignment).submissions
            except MissingEntry:
                continue
            for sub in submissions:
                penalty = float(sub.late_submission_penalty or 0.0)
                out.setdefault(sub.student.id, {})[assignment] = Score(
                    float(sub.score) - penalty, float(sub.max_score), penalty
                )
    return out


def max_scores(course: Path, assignments: list[str], gradebook: str | None = None) -> dict[str, float]:
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(gradebook_url(course, gradebook)) as gb:
        for assignment in assignments:
            try:
                found[assignment] = float(gb.find_assignment(assignment).max_score)
            except MissingEntry:
                pass
    return found


def _number(x: float) -> str:
    """A score as Canvas shows one: at most two decimals, no trailing zeros."""
    return f"{round(x, 2):g}"


def _column(header: list[str], assignment: str) -> int | None:
    """The Canvas export's column of ``assignment``: headed by its name, with Canvas's
    ``(assignment id)`` after it or not."""
    for i, name in enumerate(header):
        if re.sub(r"\s*\(\d+\)\s*$", "", name).strip() == assignment:
            return i
    return None


def export_canvas(
    course: Path, roster: Path, out: Path, assignments: list[str], gradebook: str | None = None
) -> list[str]:
    """Write ``out``: the Canvas export ``roster`` with the scores of ``assignments``
    filled in. Returns a line for each student not exported and why."""
    with open(roster, newline="", encoding="utf-8-sig") as f:  # Canvas writes a BOM
        rows = list(csv.reader(f))
    if not rows or rows[0][: len(CANVAS_IDENTITY)] != CANVAS_IDENTITY:
        found = ", ".join(rows[0][:5]) if rows else "an empty file"
        raise SystemExit(
            f"{roster} is not a Canvas gradebook export: its first columns are {found}, not "
            f"{', '.join(CANVAS_IDENTITY)}. Download it in Canvas: Grades > Export > Export Entire Gradebook."
        )
    header = rows[0]
    by_student = scores(course, assignments, gradebook)
    maxima = max_scores(course, assignments, gradebook)
    lms_ids = read_lms_ids(course, by_student)
    columns = {a: _column(header, a) for a in assignments if a in maxima}
    # the export's own columns (totals, other assignments) are left out: Canvas ignores
    # what is not in the file, and its totals are read-only anyway
    out_header = CANVAS_IDENTITY + [header[i] if i is not None else a for a, i in columns.items()]
    points = ["    " + POINTS_POSSIBLE, "", "", "", ""] + [_number(maxima[a]) for a in columns]
    student_of = {lms: student for student, lms in lms_ids.items()}
    written, problems = set(), []
    body = []
    for row in rows[1:]:
        row = row + [""] * (len(header) - len(row))
        if not row[1].strip().isdigit():  # Points Possible, a posting-policy row: not a student
            continue
        student = student_of.get(row[1].strip())
        cells = row[: len(CANVAS_IDENTITY)]
        for a in columns:
            score = by_student.get(student, {}).get(a) if student else None
            cells.append(_number(score.score) if score is not None else "")
        if student:
            written.add(student)
        body.append(cells)
    for student in sorted(set(by_student) - written):
        if student not in lms_ids:
            why = f"no LMS id in {LMS_IDS} (graded from submitted/, not from a download?); add it there"
        else:
            why = f"LMS id {lms_ids[student]} is not in {roster.name} (dropped, or another course's export?)"
        problems.append(f"{student}: not exported: {why}")
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for row in [out_header, points, *body]:
            writer.writerow([csv_cell(v) for v in row])
    return problems


def export_generic(course: Path, out: Path, assignments: list[str], gradebook: str | None = None) -> None:
    """Write ``out``: student, lms_id, assignment, score, max, late_penalty (one row each)."""
    by_student = scores(course, assignments, gradebook)
    lms_ids = read_lms_ids(course, by_student)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lms_id", "assignment", "score", "max", "late_penalty"])
        for student, by_assignment in sorted(by_student.items()):
            for a, s in sorted(by_assignment.items()):
                row = [student, lms_ids.get(student, ""), a, *map(_number, (s.score, s.max_score, s.penalty))]
                writer.writerow([csv_cell(v) for v in row])


def main(
    course: Path, out: Path, assignments: list[str], canvas: Path | None, gradebook: str | None = None
) -> int:
    if canvas is not None:
        problems = export_canvas(course, canvas, out, assignments, gradebook)
        print(f"Wrote {out}: import it in Canvas (Grades > Import).")
        for line in problems:
            print(f"  - {printable(line)}")
    else:
        export_generic(course, out, assignments, gradebook)
        print(f"Wrote {out}.")
    return 0
