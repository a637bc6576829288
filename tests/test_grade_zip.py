"""``grade --zip`` takes an LMS download: the archives in ``downloaded/<a>/archive/``.

The file names follow Canvas (``<student>_[late_]<id>_<id>_<file>``), as configured in
nbgrader_config.py; a resubmission renamed ``assign_5a-1.ipynb`` is graded like any
other. The download also holds what a hostile upload can put there: a zip inside the
download holding a notebook for a classmate and for a student who does not exist, paths
with ``../``, an id that is a path, a symbolic link, and a download that is not a zip at
all. Each is reported for its file; the rest of the class is graded.
"""

from __future__ import annotations

import csv
import datetime
import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.instructor import submissions
from autograder.instructor.course import db_url

pytestmark = pytest.mark.xdist_group("grade_zip")

A = "assign_5a"
DUE = datetime.datetime(2026, 10, 9, 23, 59)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


@dataclass
class Collected:
    course: Path
    run: subprocess.CompletedProcess
    outside: set[str]  # files of the course's parent and downloaded/ before grading


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory, new_course) -> Collected:
    course = new_course(tmp_path_factory.mktemp("zip") / "course")
    full, blank = nbformat.writes(submissions.completed(A)), nbformat.writes(submissions.release(A))
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    # mallory uploads a zip of her own: inside, a blank notebook named as alice's, and one
    # for a student who does not exist
    upload = _zip({f"alice_4321_98765_{A}.ipynb": blank, f"ghost_4999_99999_{A}.ipynb": full})
    with zipfile.ZipFile(archive / "canvas_download.zip", "w") as z:
        z.writestr(f"alice_4321_98765_{A}.ipynb", full)
        z.writestr(f"bob_late_4322_98766_{A}-1.ipynb", blank)
        z.writestr(f"dave_late_4326_98770_{A}.ipynb", full)  # late: Canvas says so, not when
        z.writestr("mallory_4323_98767_homework.zip", upload)
        z.writestr(f"../../escape_4327_98771_{A}.ipynb", full)
        z.writestr(f"eve_4328_98772_../../../{A}.ipynb", full)
        z.writestr(f".._4329_98773_{A}.ipynb", full)
        link = zipfile.ZipInfo(f"trent_4330_98774_{A}.ipynb")
        link.external_attr = 0o120777 << 16  # a symbolic link to the solutions
        z.writestr(link, "../../solutions/assign_5a/assign_5a.ipynb")
    (archive / "second_download.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    with Gradebook(db_url(course)) as gb:  # what `nbgrader db assignment add --duedate` does
        gb.update_or_create_assignment(A, duedate=DUE)
    outside = {str(p) for p in course.parent.rglob("*") if "submitted" not in p.parts}
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), "--zip", "--workers", "2"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    return Collected(course, run, outside)


def test_zip_of_an_lms_download_is_collected_and_graded(collected: Collected) -> None:
    run = collected.run
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with Gradebook(db_url(collected.course)) as gb:
        totals = {s: gb.find_submission(A, s).score for s in ("alice", "bob", "dave")}
    assert totals == {"alice": 50.0, "bob": 0.0, "dave": 50.0}
    assert f"handed in as {A}-1.ipynb" in run.stdout


def test_a_late_submission_gets_the_configured_penalty_in_reports_and_feedback(collected: Collected) -> None:
    """#24: Canvas's ``late_`` is kept; with no time in the download it is taken as one
    second after the due date, so the course's policy (10 % per started day) takes 5 of
    dave's 50 points: in the gradebook, grades.csv, nbgrader's export and the feedback."""
    course = collected.course
    assert collected.run.returncode == 0, collected.run.stdout[-2000:] + collected.run.stderr[-2000:]
    with Gradebook(db_url(course)) as gb:
        assert gb.find_submission(A, "dave").late_submission_penalty == 5.0
        assert gb.find_submission(A, "alice").late_submission_penalty == 0.0
    with open(course / "reports" / A / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["dave"]["late by"], rows["dave"]["late penalty"], rows["dave"]["final"]) == (
        "1 min",
        "5",
        "45",
    )
    assert (rows["alice"]["late by"], rows["alice"]["late penalty"], rows["alice"]["final"]) == (
        "",
        "0",
        "50",
    )
    with open(course / "reports" / A / "nbgrader_export.csv", encoding="utf-8") as f:
        exported = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(exported["dave"]["late_submission_penalty"]) == 5.0
    feedback = (course / "feedback" / "dave" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "Handed in late" in feedback and "late penalty 5 points" in feedback
    assert "Handed in late" not in (course / "feedback" / "alice" / A / f"{A}.html").read_text(
        encoding="utf-8"
    )
    assert "dave: late, says the download, but not when" in collected.run.stdout
    assert (course / "lms_ids.csv").read_text().splitlines()[1:] == ["alice,4321", "bob,4322", "dave,4326"]


def test_a_hostile_upload_is_reported_per_file_and_creates_nothing(collected: Collected) -> None:
    """#9: no submission for a student who does not exist nor in a classmate's name, no
    file outside ``submitted/``, a line for each file that was not collected."""
    course, run = collected.course, collected.run
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob", "dave"]
    created = {str(p) for p in course.parent.rglob("*") if "submitted" not in p.parts} - collected.outside
    unexpected = [
        p
        for p in created
        if not p.startswith(
            tuple(
                str(course / d)
                for d in ("reports", "grading", "autograded", "feedback", "gradebook.db", "lms_ids.csv")
            )
        )
    ]
    assert not unexpected, unexpected
    for words in (
        "mallory_4323_98767_homework.zip: an archive inside the download",
        f"../../escape_4327_98771_{A}.ipynb: a path that leaves the download",
        f"eve_4328_98772_../../../{A}.ipynb: a path that leaves the download",
        f".._4329_98773_{A}.ipynb: the id is a path",
        f"trent_4330_98774_{A}.ipynb: not a regular file",
        "second_download.zip: not a readable zip file",
    ):
        assert words in run.stdout, words
    flagged = (course / "reports" / A / "flags.csv").read_text(encoding="utf-8")
    assert "homework.zip" in flagged and "second_download.zip" in flagged


def test_duplicates_and_oversized_files_are_left_out_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collection alone, no grading: two different files for one student and name are both
    left out (the same file twice is one), and a member larger than the bound is not read,
    whatever its header says."""
    from autograder.instructor import collect

    course = tmp_path / "course"
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    (course / "nbgrader_config.py").write_bytes(
        (Path(__file__).parents[1] / "nbgrader_config.py").read_bytes()
    )
    name = f"carol_1_2_{A}.ipynb"
    (archive / "one.zip").write_bytes(_zip({name: "first", f"dave_3_4_{A}.ipynb": "same"}))
    (archive / "two.zip").write_bytes(_zip({name: "second", f"dave_3_4_{A}.ipynb": "same"}))
    (archive / "big.zip").write_bytes(_zip({f"erin_5_6_{A}.ipynb": "x" * 2000}))
    monkeypatch.setattr(collect, "MAX_FILE_BYTES", 1000)
    result = collect.collect_download(course, A)
    assert result.students == ["dave"]
    assert (course / "submitted" / "dave" / A / f"{A}.ipynb").read_text() == "same"
    lines = "\n".join(line for _, line in result.problems)
    assert f"a second, different {A}.ipynb for carol" in lines and "neither" in lines
    assert f"erin_5_6_{A}.ipynb: larger than" in lines
