"""What of a student's submission folder the grader reads: the notebook, as a regular file.

A collected folder (``nbgrader collect``, ``zip_collect``, a ``git clone`` or ``rsync -a``
of the students' work) can hold anything a student made: symbolic links to
``solutions/``, to a classmate's notebook, to ``/proc/self/environ`` or ``/dev/zero``;
hard links to such files; FIFOs and devices; extra files (``notes.html``) that nbgrader
would copy into the feedback as they are. So only one file is read, the notebook, and
only when it is a regular file of this folder: every path component is opened without
following links (``O_NOFOLLOW`` from the ``submitted/`` folder down), it must have one
name on the disk (a second name means it may be a file of someone else's, e.g. the
solutions, linked in), and at most ``MAX_NOTEBOOK_BYTES`` are read. Everything else is
ignored and named in the report. The same rules hold locally and on a Dask cluster
(the parent reads the notebook here and the task carries its bytes).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autograder.instructor.notebook import MAX_NOTEBOOK_BYTES
from autograder.instructor.untrusted import printable

MAX_ENTRIES = 1000  # names looked at in one submission folder (a folder of a million files)
MAX_LISTED = 10  # names of ignored files quoted in the report


def _size(n: int) -> str:
    return f"{n / 1024**2:.0f} MB" if n >= 1024**2 else f"{n} bytes"


@dataclass
class Handin:
    """What a student handed in, as far as grading goes."""

    notebook: bytes | None  # the notebook's bytes; None when there is none to grade
    notes: list[str] = field(default_factory=list)  # one line each for the report
    # nbgrader's timestamp.txt: when it was handed in (ISO, naive UTC); "" when not known
    timestamp: str = ""


def quoted(name: str, limit: int = 200) -> str:
    """A file name a student chose, as inert text: ``untrusted.printable``, the one rule for
    student text (control characters shown as escapes, bounded)."""
    return printable(name, limit)


def read_handin(course: Path, student: str, assignment: str) -> Handin:
    """The notebook of ``submitted/<student>/<assignment>/`` under the rules above."""
    notebook = f"{assignment}.ipynb"
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    fds: list[int] = []
    try:
        fds.append(os.open(course / "submitted", flags | os.O_DIRECTORY))
        for part in (student, assignment):
            try:
                fds.append(os.open(part, flags | os.O_DIRECTORY, dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    why = f"the folder {quoted(part)} is a link, not a folder; nothing was read"
                    return Handin(None, [why])
                raise
        names = _names(fds[-1])
        timestamp, timestamp_note = _timestamp(fds[-1], names)
        names = [n for n in names if n != TIMESTAMP]
        chosen = notebook if notebook in names else None
        notes = [timestamp_note] if timestamp_note else []
        if chosen is None:
            others = [n for n in names if n.endswith(".ipynb")]
            if len(others) != 1:
                found = ", ".join(quoted(n) for n in names[:MAX_LISTED]) or "nothing"
                why = f"no single notebook to grade (found: {found}); hand in one file named {notebook}"
                return Handin(None, [*notes, why], timestamp)
            chosen = others[0]
            notes.append(f"the notebook was handed in as {quoted(chosen)}; graded as such")
        ignored = [n for n in names if n != chosen]
        if ignored:
            listed = ", ".join(quoted(n) for n in ignored[:MAX_LISTED])
            more = f" and {len(ignored) - MAX_LISTED} more" if len(ignored) > MAX_LISTED else ""
            notes.append(f"only the notebook is graded; ignored: {listed}{more}")
        data, problem = _read_regular(fds[-1], chosen)
        if problem:
            return Handin(None, [*notes, f"{quoted(chosen)} {problem}; nothing was graded"], timestamp)
        return Handin(data, notes, timestamp)
    finally:
        for fd in reversed(fds):
            os.close(fd)


TIMESTAMP = "timestamp.txt"  # nbgrader's record of when a submission was handed in


def _timestamp(folder_fd: int, names: list[str]) -> tuple[str, str | None]:
    """nbgrader's ``timestamp.txt`` of the folder, read as the notebook is (a regular file,
    bounded), as an ISO time; and a line for the report when it is there but unusable
    (nbgrader's autograde would stop on it, so the submission is graded as on time)."""
    from autograder.instructor.late import parse_time

    if TIMESTAMP not in names:
        return "", None
    data, problem = _read_regular(folder_fd, TIMESTAMP, limit=256)
    if problem:
        return "", f"{TIMESTAMP} {problem}; graded as handed in on time"
    try:
        return parse_time(data.decode("utf-8", "replace")).isoformat(), None
    except ValueError:
        return (
            "",
            f"{TIMESTAMP} holds no time nbgrader reads; graded as handed in on time (fix it and regrade)",
        )


def _names(folder_fd: int) -> list[str]:
    names = []
    with os.scandir(folder_fd) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) >= MAX_ENTRIES:
                break
    return sorted(names)


def _read_regular(
    folder_fd: int, name: str, limit: int = MAX_NOTEBOOK_BYTES
) -> tuple[bytes | None, str | None]:
    """The bytes of ``name`` in the folder, or why it is not read. O_NONBLOCK: opening a
    FIFO must not wait for a writer; O_NOFOLLOW: a symbolic link is refused, not followed."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "is a symbolic link (to a file that is not the student's own)"
        return None, f"could not be opened ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file (a folder, a device or a pipe)"
        if info.st_nlink != 1:
            # a hard link: another name of the same file, possibly outside the submission
            return None, f"has {info.st_nlink} names on the disk (a hard link, maybe to someone else's file)"
        if info.st_size > limit:
            return None, f"is {_size(info.st_size)}, over the {_size(limit)} limit"
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:  # it grew while being read
                return None, f"is over the {_size(limit)} limit"
            chunks.append(chunk)
        return b"".join(chunks), None
    finally:
        os.close(fd)
