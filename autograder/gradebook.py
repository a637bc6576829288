"""Writing scores into nbgrader's gradebook: the one place ``grade`` and ``verify`` do it."""

from __future__ import annotations

import warnings


def set_scores(
    gb, assignment: str, student: str, trusted: dict[str, float], auto: dict[str, float | None] | None = None
) -> None:
    """Give each grade cell of ``student`` its trusted score (nbgrader's manual score, which
    its totals, feedback and export use) and, when given, nbgrader's own auto score; create
    the student and the submission if nbgrader could not; commit."""
    from nbgrader.api import MissingEntry

    gb.update_or_create_student(student)
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:  # nbgrader could not autograde it: the trusted score still counts
        with warnings.catch_warnings():  # nbgrader's own autoflush notice, harmless here
            warnings.simplefilter("ignore")
            gb.add_submission(assignment, student)
    for grade_id, score in trusted.items():
        grade = gb.find_grade(grade_id, assignment, assignment, student)
        if auto is not None:
            grade.auto_score = auto[grade_id]
        grade.manual_score = score
        grade.needs_manual_grade = False
    gb.db.commit()
