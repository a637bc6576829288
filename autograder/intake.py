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

from autograder.notebook import MAX_NOTEBOOK_BYTES

MAX_ENTRIES = 1000  # names looked at in one submission folder (a folder of a million files)
MAX_LISTED = 10  # names of ignored files quoted in the report
_LIMIT_MB = MAX_NOTEBOOK_BYTES // 1024**2


@dataclass
class Handin:
    """What a student handed in, as far as grading goes."""

    notebook: bytes | None  # the notebook's bytes; None when there is none to grade
    notes: list[str] = field(default_factory=list)  # one line each for the report


def quoted(name: str, limit: int = 80) -> str:
    """A file name a student chose, as inert text (no control characters, bounded)."""
    text = ascii(name)[1:-1]
    return text if len(text) <= limit else text[:limit] + "..."


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
        chosen = notebook if notebook in names else None
        notes = []
        if chosen is None:
            others = [n for n in names if n.endswith(".ipynb")]
            if len(others) != 1:
                found = ", ".join(quoted(n) for n in names[:MAX_LISTED]) or "nothing"
                why = f"no single notebook to grade (found: {found}); hand in one file named {notebook}"
                return Handin(None, [why])
            chosen = others[0]
            notes.append(f"the notebook was handed in as {quoted(chosen)}; graded as such")
        ignored = [n for n in names if n != chosen]
        if ignored:
            listed = ", ".join(quoted(n) for n in ignored[:MAX_LISTED])
            more = f" and {len(ignored) - MAX_LISTED} more" if len(ignored) > MAX_LISTED else ""
            notes.append(f"only the notebook is graded; ignored: {listed}{more}")
        data, problem = _read_regular(fds[-1], chosen)
        if problem:
            return Handin(None, [*notes, f"{quoted(chosen)} {problem}; nothing was graded"])
        return Handin(data, notes)
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _names(folder_fd: int) -> list[str]:
    names = []
    with os.scandir(folder_fd) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) >= MAX_ENTRIES:
                break
    return sorted(names)


def _read_regular(folder_fd: int, name: str) -> tuple[bytes | None, str | None]:
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
        if info.st_size > MAX_NOTEBOOK_BYTES:
            return None, f"is {info.st_size / 1024**2:.0f} MB, over the {_LIMIT_MB} MB limit"
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > MAX_NOTEBOOK_BYTES:  # it grew while being read
                return None, f"is over the {_LIMIT_MB} MB limit"
            chunks.append(chunk)
        return b"".join(chunks), None
    finally:
        os.close(fd)
