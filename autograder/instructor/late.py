"""Late submissions, the nbgrader way.

- The due date is nbgrader's ``Assignment.duedate`` in the gradebook (``nbgrader db
  assignment add assign_5a --duedate="2026-10-09 23:59:00 America/New_York"``, or
  formgrader's *Manage Assignments*); a student's extension is nbgrader's
  ``SubmittedAssignment.extension`` (``grant_extension``; ``python -m autograder extend``).
- The submission time is nbgrader's ``submitted/<student>/<assignment>/timestamp.txt``
  (written by ``nbgrader collect``, or by ``grade --zip`` from the LMS download's names).
- The penalty is computed by the plugin of ``c.AssignLatePenalties.plugin_class`` in
  nbgrader_config.py (nbgrader's ``LateSubmissionPlugin`` or ``PerDayPenalty`` below), on
  the trusted score, and stored where nbgrader keeps it
  (``SubmittedNotebook.late_submission_penalty``), so nbgrader's feedback, formgrader and
  export show it too.

nbgrader's own ``AssignLatePenalties`` step also runs inside ``autograde``, but on the
score the student's kernel claimed; ``apply_late_penalty`` runs again once the trusted
scores are in, and its value is the one kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, Int


class PerDayPenalty(LateSubmissionPlugin):
    """A share of the score per started day late (the course's policy; nbgrader's own
    plugin knows only ``none`` and ``zero``). Configured in nbgrader_config.py:
    ``c.AssignLatePenalties.plugin_class = "autograder.instructor.late.PerDayPenalty"``."""

    percent_per_day = Float(10.0, help="percent of the score taken per started day late").tag(config=True)
    grace_minutes = Int(0, help="minutes after the due date that do not count as late").tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        seconds = total_seconds_late - 60 * self.grace_minutes
        if seconds <= 0:
            return None
        days = math.ceil(seconds / 86400)
        return min(score, score * self.percent_per_day / 100 * days)


@dataclass
class Lateness:
    """When a submission came, when it was due (extension included), and what it cost."""

    submitted: str = ""  # ISO, UTC; "" when no time is known (taken as on time)
    due: str = ""  # ISO, UTC; "" when the assignment has no due date
    seconds_late: float = 0.0
    penalty: float = 0.0

    @property
    def late_by(self) -> str:
        return late_by(self.seconds_late)


def late_by(seconds: float) -> str:
    """``seconds`` as a person says it: "2 days 3 h", "45 min", "" when not late."""
    if seconds <= 0:
        return ""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day{'s' * (days != 1)}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    return " ".join(parts) or "0 min"


def penalty_plugin(config) -> LateSubmissionPlugin:
    """The late-penalty plugin nbgrader's ``AssignLatePenalties`` would use under ``config``
    (the course's nbgrader_config.py), configured as it would be."""
    from nbgrader.preprocessors import AssignLatePenalties

    step = AssignLatePenalties(config=config)
    step.init_plugin()
    return step.plugin_inst


def apply_late_penalty(gb, assignment: str, student: str, plugin: LateSubmissionPlugin) -> Lateness:
    """Set the late penalty of each of ``student``'s notebooks from its current score (as
    nbgrader's ``AssignLatePenalties`` does: at least 0, at most the score); commit."""
    from nbgrader.api import MissingEntry

    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return Lateness()
    seconds = float(submission.total_seconds_late)
    total = 0.0
    for notebook in submission.notebooks:
        penalty = None
        if seconds > 0:
            penalty = plugin.late_submission_penalty(student, notebook.score, seconds)
        if penalty is not None:
            penalty = min(max(float(penalty), 0.0), float(notebook.score))
            total += penalty
        notebook.late_submission_penalty = penalty
    gb.db.commit()
    due = submission.duedate
    return Lateness(
        submission.timestamp.isoformat() if submission.timestamp else "",
        due.isoformat() if due else "",
        seconds,
        total,
    )


def record_lateness(
    gb, assignment: str, student: str, timestamp: str, plugin: LateSubmissionPlugin
) -> Lateness:
    """Record when ``student`` handed ``assignment`` in (``timestamp``, ISO; "" for no known
    time, i.e. on time) on their submission, then set its late penalty."""
    from nbgrader.api import MissingEntry

    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return Lateness()
    submission.timestamp = parse_time(timestamp) if timestamp else None
    return apply_late_penalty(gb, assignment, student, plugin)


def due_date(gb, assignment: str, student: str | None = None) -> dt.datetime | None:
    """The due date of ``assignment`` (naive UTC, as nbgrader stores it), with ``student``'s
    extension; None when none is set."""
    from nbgrader.api import MissingEntry

    try:
        due = gb.find_assignment(assignment).duedate
    except MissingEntry:
        return None
    if due is None or student is None:
        return due
    try:
        extension = gb.find_submission(assignment, student).extension
    except MissingEntry:
        return due
    return due + extension if extension else due


def copy_deadlines(source, target, assignment: str) -> None:
    """Give ``target`` (a worker's template gradebook) ``source``'s due date of
    ``assignment`` and every extension granted for it, so the worker's autograde and
    feedback see the deadline each student has."""
    from nbgrader.api import MissingEntry

    try:
        origin = source.find_assignment(assignment)
    except MissingEntry:
        return
    target.update_or_create_assignment(assignment, duedate=origin.duedate)
    for submission in origin.submissions:
        if submission.extension:
            target.update_or_create_student(submission.student.id)
            with _quiet():
                target.update_or_create_submission(
                    assignment, submission.student.id, extension=submission.extension
                )
    target.db.commit()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence nbgrader's own autoflush notice when it creates a submission: harmless, as
    in ``gradebook.set_scores``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def grant_extension(gb, assignment: str, student: str, extension: dt.timedelta) -> dt.datetime | None:
    """Record ``student``'s extension of ``assignment`` where nbgrader keeps it; return the
    student's due date now."""
    gb.update_or_create_student(student)
    with _quiet():
        gb.update_or_create_submission(assignment, student, extension=extension or None)
    gb.db.commit()
    return due_date(gb, assignment, student)


def parse_time(text: str) -> dt.datetime:
    """A time as nbgrader reads ``timestamp.txt`` (``nbgrader.utils.parse_utc``): naive UTC.
    Raises ValueError when it is not one."""
    from nbgrader.utils import parse_utc

    try:
        value = parse_utc(text.strip())
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a time: {text[:40]!r}") from exc
    if value is None:
        raise ValueError("empty time")
    return value


def main_extend(
    course, assignment: str, student: str, days: float, hours: float, gradebook: str | None = None
) -> int:
    """``python -m autograder extend``: record an extension; say the new due date."""
    from nbgrader.api import Gradebook

    from autograder.instructor.course import gradebook_url
    from autograder.instructor.untrusted import id_problem, printable

    problem = id_problem(student)
    if problem:
        raise SystemExit(f"{printable(student)}: {problem}")
    with Gradebook(gradebook_url(course, gradebook)) as gb:
        # an extension is a submission row, which needs the assignment's notebooks to exist
        if not any(a.name == assignment and a.notebooks for a in gb.assignments):
            raise SystemExit(
                f"{assignment} is not in the gradebook yet: run nbgrader generate_assignment {assignment}"
            )
        if due_date(gb, assignment) is None:
            raise SystemExit(
                f"{assignment} has no due date: set one first, "
                f'nbgrader db assignment add {assignment} --duedate="2026-10-09 23:59:00 UTC"'
            )
        due = grant_extension(gb, assignment, student, dt.timedelta(days=days, hours=hours))
    print(
        f"{printable(student)} now has until {due:%Y-%m-%d %H:%M} UTC for {assignment}; "
        f"regrade a submission already graded: python -m autograder grade {assignment} --force "
        f"--student={printable(student)}"
    )
    return 0
