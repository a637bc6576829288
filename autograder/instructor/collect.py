"""``grade --zip``: collect an LMS download into ``submitted/``, one file at a time.

This does what ``nbgrader zip_collect --force`` does with the course's configuration
(the archives in ``downloaded/<assignment>/archive/``, each file name parsed by
``FileNameCollectorPlugin.named_regexp`` of nbgrader_config.py, the notebooks copied to
``submitted/<student>/<assignment>/``), without what lets one upload stop or fool the
whole class there: nbgrader unpacks archives inside archives (so a student's own zip can
hold a notebook named for a classmate or for a student who does not exist), and fails
the whole run on a duplicate or an unreadable archive. Here:

- only the top-level zips of the download (and notebooks beside them) are read; an
  archive inside one is reported and not opened;
- a member is read only when it is a regular file (not a link), under a size bound, at
  a path that stays inside the download, named by the regexp, for a valid student id
  (``untrusted.id_problem``);
- two different files for the same student and name are both left out and reported;
- every problem is one line naming its file; the rest is collected.

What the names say besides whose a file is, the regexp's optional named groups give:

- ``timestamp``: when it was handed in; written to nbgrader's ``timestamp.txt`` (the
  latest of a student's files), from which grading takes lateness;
- ``late``: the LMS marks it late (Canvas's ``late_``) without saying when. It is taken
  as handed in one second after the student's due date (extension included), the least
  lateness there is, and said in the report: the instructor who knows the time writes it
  in ``timestamp.txt`` and regrades. Without a due date in the gradebook nothing is
  charged, and the report says how to set one;
- ``lms_id``: the student's id in the LMS (Canvas's numeric user id), kept in
  ``lms_ids.csv`` of the course for ``python -m autograder export``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.instructor.late import due_date, parse_time
from autograder.instructor.untrusted import csv_cell, id_problem, printable

MAX_FILE_BYTES = 64 * 1024**2  # far above any notebook of this course; a zip bomb stops here
MAX_MEMBERS = 100_000
ARCHIVES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")


@dataclass
class Collection:
    """What was collected, and a line for every file that was not."""

    students: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (student id or "", line)
    timestamps: dict[str, str] = field(default_factory=dict)  # student -> timestamp.txt written
    lms_ids: dict[str, str] = field(default_factory=dict)  # student -> id in the LMS


LMS_IDS = "lms_ids.csv"  # in the course: student, lms_id (what the LMS download said)


def named_regexp(course: Path) -> str:
    """``FileNameCollectorPlugin.named_regexp`` of the course's nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    regexp = config.FileNameCollectorPlugin.get("named_regexp")
    if not regexp:
        raise SystemExit(
            "nbgrader_config.py sets no FileNameCollectorPlugin.named_regexp: --zip cannot parse names"
        )
    return str(regexp)


def _members(archive: Path, report: list[tuple[str, str]]) -> Iterator[tuple[str, bytes | None, str]]:
    """(name in the download, its bytes or None, why not) for each file of ``archive``."""
    try:
        z = zipfile.ZipFile(archive)
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.append(
            ("", f"{archive.name}: not a readable zip file ({type(exc).__name__}); nothing collected from it")
        )
        return
    with z:
        if len(infos) > MAX_MEMBERS:
            report.append(("", f"{archive.name}: more than {MAX_MEMBERS} files; nothing collected from it"))
            return
        for info in infos:
            if info.is_dir():
                continue
            # a Unix zip keeps the file type in the high bits (0 when the tool did not say)
            kind = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
            path = PurePosixPath(info.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts or re.match(r"[A-Za-z]:", info.filename):
                yield info.filename, None, "a path that leaves the download; not collected"
            elif kind not in (0, stat.S_IFREG):
                yield info.filename, None, "not a regular file (a link or a device); not collected"
            elif info.flag_bits & 0x1:
                yield info.filename, None, "encrypted; not collected"
            elif info.file_size > MAX_FILE_BYTES:
                yield info.filename, None, f"larger than {MAX_FILE_BYTES // 1024**2} MB; not collected"
            else:
                try:
                    with z.open(info) as f:
                        data = f.read(MAX_FILE_BYTES + 1)  # the header's size may lie
                except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                    yield info.filename, None, f"cannot be unpacked ({type(exc).__name__}); not collected"
                    continue
                if len(data) > MAX_FILE_BYTES:
                    yield info.filename, None, f"larger than {MAX_FILE_BYTES // 1024**2} MB; not collected"
                else:
                    yield info.filename, data, ""


def _files(folder: Path, report: list[tuple[str, str]]) -> Iterator[tuple[str, str, bytes | None, str]]:
    """(where, name, bytes or None, why not) for every file of the download: zip members,
    and loose files beside the zips (nbgrader copies those as they are)."""
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            report.append(("", f"{path.name}: not a regular file; not collected"))
        elif path.suffix.lower() == ".zip":
            for name, data, why in _members(path, report):
                yield path.name, name, data, why
        elif path.stat().st_size > MAX_FILE_BYTES:
            report.append(("", f"{path.name}: larger than {MAX_FILE_BYTES // 1024**2} MB; not collected"))
        else:
            yield "", path.name, path.read_bytes(), ""


def collect_download(course: Path, assignment: str, gradebook: str | None = None) -> Collection:
    """Collect ``downloaded/<assignment>/archive/`` into ``submitted/``, with nbgrader's
    ``timestamp.txt`` where the names say when (or that it was late; due dates from
    ``gradebook``, a database URL, else the course's); never raises for what is in the
    download."""
    out = Collection()
    folder = course / "downloaded" / assignment / "archive"
    if not folder.is_dir():
        out.problems.append(("", f"{folder} does not exist: nothing to collect"))
        return out
    regexp = re.compile(named_regexp(course))
    extracted = course / "downloaded" / assignment / "extracted"
    wanted: dict[tuple[str, str], tuple[bytes, str]] = {}  # (student, file) -> (bytes, where from)
    when: dict[str, list[dt.datetime]] = {}  # student -> times the names give
    late: set[str] = set()  # students the LMS marks late
    lms: dict[str, set[str]] = {}  # student -> LMS ids the names give
    conflicts: set[tuple[str, str]] = set()
    for where, name, data, why in _files(folder, out.problems):
        label = f"{where}: {name}" if where else name
        if data is None:
            out.problems.append(("", f"{label}: {why}"))
            continue
        if name.lower().endswith(ARCHIVES):
            out.problems.append(
                (
                    "",
                    f"{label}: an archive inside the download; not opened (upload the notebook itself)",
                )
            )
            continue
        if not name.endswith(".ipynb"):
            out.problems.append(("", f"{label}: not a notebook; not collected"))
            continue
        # nbgrader matches the path it extracted the file to: the same path, so the same regexp works
        virtual = extracted / Path(where).stem / name if where else extracted / name
        match = regexp.match(str(virtual))
        if not match or not match.groupdict().get("student_id") or not match.groupdict().get("file_id"):
            out.problems.append(
                ("", f"{label}: the name does not say whose it is (named_regexp); not collected")
            )
            continue
        student, file_id = match.group("student_id"), match.group("file_id")
        problem = id_problem(student)
        if problem:
            out.problems.append(("", f"{label}: {problem}; not collected"))
            continue
        if "/" in file_id or "\\" in file_id or file_id in (".", "..") or printable(file_id) != file_id:
            out.problems.append((student, f"{label}: the file name is not a plain name; not collected"))
            continue
        groups = match.groupdict()
        if groups.get("late"):
            late.add(student)
        if groups.get("lms_id"):
            lms.setdefault(student, set()).add(groups["lms_id"])
        if groups.get("timestamp"):
            try:
                when.setdefault(student, []).append(parse_time(groups["timestamp"]))
            except ValueError:
                out.problems.append((student, f"{label}: the time in the name is not one; not used"))
        key = (student, file_id)
        if key in wanted and wanted[key][0] != data:
            conflicts.add(key)
            out.problems.append(
                (student, f"{label}: a second, different {file_id} for {student} (also in {wanted[key][1]})")
            )
        wanted.setdefault(key, (data, label))
    for student, file_id in sorted(conflicts):
        del wanted[(student, file_id)]
        out.problems.append(
            (
                student,
                f"{student}: neither {file_id} was collected; put the right one in submitted/{student}/",
            )
        )
    by_student: dict[str, dict[str, bytes]] = {}
    for (student, file_id), (data, _) in wanted.items():
        by_student.setdefault(student, {})[file_id] = data
    submitted = (course / "submitted").resolve()
    for student, files in sorted(by_student.items()):
        target = submitted / student / assignment
        if target.resolve().parent.parent != submitted or (submitted / student).is_symlink():
            out.problems.append((student, f"{student}: the folder would not be in submitted/; not collected"))
            continue
        if target.exists():  # as zip_collect --force: the download replaces what was collected
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for file_id, data in files.items():
            with open(target / file_id, "xb") as f:
                f.write(data)
        out.students.append(student)
    _timestamps(course, assignment, gradebook, out, when, late)
    _lms_ids(course, out, lms)
    return out


def _timestamps(
    course: Path,
    assignment: str,
    gradebook: str | None,
    out: Collection,
    when: dict[str, list[dt.datetime]],
    late: set[str],
) -> None:
    """Write nbgrader's ``timestamp.txt`` for each collected student the names date."""
    from nbgrader.api import Gradebook

    from autograder.instructor.course import gradebook_url

    undated = [s for s in out.students if s in late and s not in when]
    dues: dict[str, dt.datetime | None] = {}
    if undated:
        with Gradebook(gradebook_url(course, gradebook)) as gb:
            dues = {s: due_date(gb, assignment, s) for s in undated}
    for student in out.students:
        if student in when:
            stamp = max(when[student])
        elif student in dues and dues[student] is not None:
            stamp = dues[student] + dt.timedelta(seconds=1)
            out.problems.append(
                (
                    student,
                    f"{student}: late, says the download, but not when; taken as handed in 1 second after "
                    f"the due date ({stamp:%Y-%m-%d %H:%M:%S} UTC). If you know the time, write it in "
                    f"submitted/{student}/{assignment}/timestamp.txt and regrade with --force",
                )
            )
        elif student in dues:
            out.problems.append(
                (
                    student,
                    f"{student}: late, says the download, but {assignment} has no due date in the gradebook, "
                    f'so no penalty: set one (nbgrader db assignment add {assignment} --duedate="...") and '
                    "rerun grade --zip --force",
                )
            )
            continue
        else:
            continue
        out.timestamps[student] = stamp.isoformat()
        (course / "submitted" / student / assignment / "timestamp.txt").write_text(
            stamp.isoformat() + "\n", encoding="utf-8"
        )


def read_lms_ids(course: Path, students: Iterable[str] = ()) -> dict[str, str]:
    """``lms_ids.csv`` of the course: student id -> LMS id (empty when there is none). Its
    cells are inert (an id ``=1+1`` is stored ``'=1+1``): each of ``students`` is found by
    its stored form; the other rows are returned as stored."""
    path = course / LMS_IDS
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        stored = {row["student"]: row["lms_id"] for row in csv.DictReader(f) if row.get("student")}
    for student in students:
        cell = csv_cell(student)
        if cell in stored:
            stored[student] = stored.pop(cell)
    return stored


def _lms_ids(course: Path, out: Collection, lms: dict[str, set[str]]) -> None:
    """Add the download's LMS ids to ``lms_ids.csv``; a student id that names two LMS users
    (two students whose names give the same id) keeps the one it had, and is reported."""
    known = read_lms_ids(course, out.students)
    for student in out.students:
        ids = sorted(lms.get(student, ()))
        if len(ids) > 1 or (ids and known.get(student, ids[0]) != ids[0]):
            seen = ", ".join(sorted({*ids, *([known[student]] if student in known else [])}))
            out.problems.append(
                (
                    student,
                    f"{student}: the download names more than one LMS user for this id ({seen}); "
                    f"{LMS_IDS} not changed for it: fix it there before exporting grades",
                )
            )
            continue
        if ids:
            known[student] = out.lms_ids[student] = ids[0]
    if out.lms_ids:
        with open(course / LMS_IDS, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["student", "lms_id"])
            writer.writerows([csv_cell(s), csv_cell(i)] for s, i in sorted(known.items()))
