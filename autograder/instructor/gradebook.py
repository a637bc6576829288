"""Writing scores into nbgrader's gradebook: the one place ``grade`` and ``verify`` do it.

The trusted score of a grade cell is its *automatic* score: nbgrader's totals, feedback,
formgrader and export all read ``score``, which is the manual score where a person set
one, else the automatic one. The manual score belongs to the instructor: nothing here
writes it, so a correction made in formgrader survives every regrade.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

# The gradebooks whose engine is shared (``one_engine``), and their engines once made
_SHARED: dict[str, Any] = {}
# This thread's scratch gradebook (``scratch_engine``), and this process's one engine for them
_SCRATCH = threading.local()
_SCRATCH_ENGINE: list[Any] = []


@contextlib.contextmanager
def one_engine(url: str) -> Iterator[None]:
    """Within the block, every nbgrader ``Gradebook`` opened on ``url`` uses one SQLAlchemy
    engine. nbgrader opens the gradebook about ten times to grade one notebook, and each
    ``Gradebook`` makes a new engine, which connects, inspects the database and compiles
    every statement again: about 0.1 s of CPU per notebook. ``Gradebook.close`` closes
    the engine's connections (``dispose``), not the engine; the block's end drops it."""
    _install()
    _SHARED[url] = None
    try:
        yield
    finally:
        engine = _SHARED.pop(url, None)
        if engine is not None:
            engine.dispose()


@contextlib.contextmanager
def scratch_engine(url: str) -> Iterator[None]:
    """Within the block, every nbgrader ``Gradebook`` opened on ``url`` (a worker's scratch
    gradebook, an SQLite file) uses this process's one engine for scratch gradebooks. A
    worker grades one submission after another, each in a gradebook of its own: one engine
    for all of them compiles nbgrader's statements once per worker, not once per
    submission (about 0.04 s of CPU a notebook). It keeps no connection: each is opened on
    this thread's scratch gradebook when a statement needs it and closed after
    (``NullPool``), so no submission's connection serves another's. The course's own
    gradebook, which the parent writes, keeps SQLite's journal and syncs."""
    _install()
    _SCRATCH.url = url
    try:
        yield
    finally:
        _SCRATCH.url = None


def _install() -> None:
    import nbgrader.api

    if nbgrader.api.create_engine is not _create_engine:
        nbgrader.api.create_engine = _create_engine


def _create_engine(url: Any, **kwargs: Any) -> Any:
    """``sqlalchemy.create_engine`` for nbgrader, but one engine per gradebook of ``one_engine``
    and one for all the scratch gradebooks of ``scratch_engine``."""
    import sqlalchemy

    if isinstance(url, str) and url == getattr(_SCRATCH, "url", None):
        if not _SCRATCH_ENGINE:
            _SCRATCH_ENGINE.append(
                sqlalchemy.create_engine(
                    "sqlite:///scratch-gradebook.db",  # never opened: see _scratch_connection
                    creator=_scratch_connection,
                    poolclass=sqlalchemy.pool.NullPool,
                    **kwargs,
                )
            )
        return _SCRATCH_ENGINE[0]
    if not isinstance(url, str) or url not in _SHARED:
        return sqlalchemy.create_engine(url, **kwargs)
    if _SHARED[url] is None:
        _SHARED[url] = sqlalchemy.create_engine(url, **kwargs)
    return _SHARED[url]


def _scratch_connection() -> Any:
    """A connection to this thread's scratch gradebook; outside ``scratch_engine``, none."""
    import sqlite3

    import sqlalchemy

    url = getattr(_SCRATCH, "url", None)
    if url is None:
        raise RuntimeError("a scratch gradebook was used outside its grading (scratch_engine)")
    connection = sqlite3.connect(sqlalchemy.make_url(url).database)
    # A scratch gradebook lives for one submission and a lost one is graded again: no
    # journal file and no fsync for each of nbgrader's commits (one per cell it scores)
    connection.execute("PRAGMA journal_mode=MEMORY")
    connection.execute("PRAGMA synchronous=OFF")
    return connection


def set_scores(
    gb,
    assignment: str,
    student: str,
    trusted: dict[str, float],
    grader_wrote: dict[str, float] | None = None,
) -> None:
    """Give each grade cell of ``student`` its trusted score as nbgrader's automatic score;
    create the student and the submission if nbgrader could not; commit.

    ``grader_wrote`` (grade cell -> score) lists manual scores that this grader itself
    wrote under its earlier scheme (when it kept the trusted score there): each is
    cleared where the gradebook still holds exactly that value. Any other manual score
    was set by a person and is kept.
    """
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
        grade.auto_score = score
        ours = (grader_wrote or {}).get(grade_id)
        if ours is not None and grade.manual_score is not None and float(grade.manual_score) == float(ours):
            grade.manual_score = None
        grade.needs_manual_grade = False
    gb.db.commit()


def manual_scores(gb, assignment: str, students: list[str]) -> dict[str, dict[str, float]]:
    """The scores a person set by hand (in formgrader): student -> grade cell -> score."""
    from nbgrader.api import MissingEntry

    found: dict[str, dict[str, float]] = {}
    for student in students:
        try:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            continue
        by_hand = {g.name: float(g.manual_score) for g in notebook.grades if g.manual_score is not None}
        if by_hand:
            found[student] = by_hand
    return found
