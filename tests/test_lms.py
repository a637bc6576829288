"""Late submissions and the LMS export, on small gradebooks (no grading here; the late
submission graded end to end is in test_grade_zip.py).

- an LMS download's ``late_`` is kept: ``timestamp.txt`` is written one second after the
  student's due date (extension included), and the Canvas user ids go to ``lms_ids.csv``;
- the course's penalty plugin (nbgrader_config.py) charges a late submission on its
  score, where nbgrader keeps it, and nbgrader's own export shows it;
- the Canvas import round-trips: written from a gradebook export in Canvas's format
  (BOM, Student/ID/SIS User ID/SIS Login ID/Section, ``Name (id)`` columns, the Points
  Possible row), read back as Canvas does (rows matched by ID, numbers, points possible).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.__main__ import main as cli
from autograder.instructor import collect
from autograder.instructor.course import course_config, db_url
from autograder.instructor.late import grant_extension, late_by, penalty_plugin, record_lateness

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's autoflush notice

A, B = "assign_5a", "assign_5b"
DUE = dt.datetime(2026, 10, 9, 23, 59)
CONFIG = (Path(__file__).parents[1] / "nbgrader_config.py").read_bytes()


@pytest.fixture(scope="module")
def base_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gradebook with ``A`` (due ``DUE``, two cells of 25) and ``B`` (one cell of 60, no
    due date), made once: creating nbgrader's tables takes seconds on a busy machine."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gb:
        for name, cells, due in ((A, {"f": 25.0, "g": 25.0}, DUE), (B, {"h": 60.0}, None)):
            gb.add_assignment(name, duedate=due)
            gb.add_notebook(name, name)
            for cell, points in cells.items():
                gb.add_grade_cell(cell, name, name, max_score=points, cell_type="code")
    return path


@pytest.fixture
def make_course(tmp_path: Path, base_gradebook: Path) -> Callable[[dict[str, dict[str, float]]], Path]:
    """A course folder with the config and a copy of the base gradebook; ``students``:
    student -> assignment -> score (spread over the cells)."""

    def make(students: dict[str, dict[str, float]]) -> Path:
        course = tmp_path / "course"
        course.mkdir()
        (course / "nbgrader_config.py").write_bytes(CONFIG)
        shutil.copy(base_gradebook, course / "gradebook.db")
        with Gradebook(db_url(course)) as gb:
            for student, by_assignment in students.items():
                gb.update_or_create_student(student)
                for name, score in by_assignment.items():
                    gb.add_submission(name, student)
                    grades = gb.find_submission_notebook(name, name, student).grades
                    for grade in grades:
                        grade.auto_score = score / len(grades)
            gb.db.commit()
        return course

    return make


def test_a_late_mark_in_a_download_becomes_a_timestamp_and_ids_are_kept(
    tmp_path: Path, make_course: Callable
) -> None:
    course = make_course({"carol": {}})
    with Gradebook(db_url(course)) as gb:
        grant_extension(gb, A, "carol", dt.timedelta(days=2))
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.writestr(f"alice_4321_98765_{A}.ipynb", "{}")
        z.writestr(f"bob_late_4322_98766_{A}.ipynb", "{}")
        z.writestr(f"carol_late_4323_98767_{A}.ipynb", "{}")
    result = collect.collect_download(course, A)
    assert result.students == ["alice", "bob", "carol"]
    stamps = {
        s: (course / "submitted" / s / A / "timestamp.txt").read_text().strip()
        for s in result.students
        if (course / "submitted" / s / A / "timestamp.txt").exists()
    }
    assert stamps == {"bob": "2026-10-09T23:59:01", "carol": "2026-10-11T23:59:01"}
    lines = " ".join(line for _, line in result.problems)
    assert "bob: late, says the download, but not when" in lines and "timestamp.txt" in lines
    assert collect.read_lms_ids(course) == {"alice": "4321", "bob": "4322", "carol": "4323"}


def test_late_without_a_due_date_costs_nothing_and_says_how_to_set_one(
    tmp_path: Path, make_course: Callable
) -> None:
    course = make_course({})
    archive = course / "downloaded" / B / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.writestr(f"bob_late_4322_98766_{B}.ipynb", "{}")
    result = collect.collect_download(course, B)
    assert not (course / "submitted" / "bob" / B / "timestamp.txt").exists()
    assert any("no due date" in line and "nbgrader db assignment add" in line for _, line in result.problems)


CASES = {  # student: (handed in, extension, penalty on a score of 40)
    "on_time": ("2026-10-09T23:00:00", None, 0.0),
    "one_second": ("2026-10-09T23:59:01", None, 4.0),  # one started day: 10 %
    "two_days": ("2026-10-11T12:00:00", None, 8.0),  # two started days
    "extended": ("2026-10-11T12:00:00", dt.timedelta(days=2), 0.0),  # within the extension
    "no_time": ("", None, 0.0),  # no time known: on time
}


def test_the_configured_penalty_is_charged_on_the_score(tmp_path: Path, make_course: Callable) -> None:
    course = make_course({student: {A: 40.0} for student in CASES})
    plugin = penalty_plugin(course_config(course))
    with Gradebook(db_url(course)) as gb:
        for student, (submitted, extension, penalty) in CASES.items():
            if extension:
                grant_extension(gb, A, student, extension)
            lateness = record_lateness(gb, A, student, submitted, plugin)
            assert gb.find_submission(A, student).late_submission_penalty == penalty, student
            assert lateness.penalty == penalty and bool(lateness.late_by) == (penalty > 0), student


def test_late_by_reads_as_a_person_says_it() -> None:
    assert [late_by(s) for s in (0, 1, 3600, 86400 + 7200, 3 * 86400)] == [
        "",
        "1 min",
        "1 h",
        "1 day 2 h",
        "3 days",
    ]


def _canvas_export(path: Path) -> None:
    """A gradebook export as Canvas writes it (Grades > Export): BOM, the five identity
    columns, assignments as ``Name (id)``, read-only totals, then the Points Possible row."""
    rows = [
        CANVAS_HEADER := [
            "Student",
            "ID",
            "SIS User ID",
            "SIS Login ID",
            "Section",
            f"{A} (55501)",
            "Quiz 1 (55502)",
            "Current Points",
            "Final Points",
            "Current Score",
            "Final Score",
        ],
        ["    Points Possible", "", "", "", "", "50.00", "5.00", "(read only)", "(read only)", "", ""],
        ["Liddell, Alice", "4321", "s01", "alice@uni.edu", "RNN 101", "", "4.00", "4", "4", "80", "80"],
        ["Builder, Bob", "4322", "s02", "bob@uni.edu", "RNN 101", "", "", "0", "0", "", ""],
        ['=HYPERLINK("x"), Mallory', "4323", "s03", "m@uni.edu", "RNN 101", "", "", "0", "0", "", ""],
        ["Student, Test", "4399", "", "", "RNN 101", "", "", "0", "0", "", ""],
    ]
    assert len(CANVAS_HEADER) == len(rows[1])
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)


def _read_as_canvas(path: Path) -> tuple[list[str], dict[str, float], dict[str, dict[str, str]]]:
    """What Canvas's import reads: the header, the Points Possible row, rows by ID."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, points, students = rows[0], rows[1], rows[2:]
    assert points[0].strip() == "Points Possible"
    possible = {h: float(v) for h, v in zip(header[5:], points[5:], strict=True)}
    by_id = {row[1]: dict(zip(header, row, strict=True)) for row in students}
    return header, possible, by_id


def test_the_canvas_import_round_trips(
    tmp_path: Path, make_course: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    course = make_course(
        {"alice": {A: 50.0, B: 30.0}, "bob": {A: 40.0}, "=1+1": {A: 20.0}, "zed": {A: 10.0}},
    )
    with Gradebook(db_url(course)) as gb:  # bob a day late: 10 %
        record_lateness(gb, A, "bob", "2026-10-10T12:00:00", penalty_plugin(course_config(course)))
    # as collect writes it: an id that looks like a formula is stored inert
    (course / collect.LMS_IDS).write_text("student,lms_id\nalice,4321\nbob,4322\n'=1+1,4323\n")
    roster, out = tmp_path / "export.csv", tmp_path / "import.csv"
    _canvas_export(roster)
    assert cli(["export", "--course", str(course), "--canvas", str(roster), "--out", str(out)]) == 0
    header, possible, rows = _read_as_canvas(out)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (55501)", B]
    assert possible == {f"{A} (55501)": 50.0, B: 60.0}
    assert set(rows) == {"4321", "4322", "4323", "4399"}
    scores = {i: (r[f"{A} (55501)"], r[B]) for i, r in rows.items()}
    assert scores == {"4321": ("50", "30"), "4322": ("36", ""), "4323": ("20", ""), "4399": ("", "")}
    assert rows["4321"]["SIS Login ID"] == "alice@uni.edu" and rows["4321"]["Section"] == "RNN 101"
    assert rows["4323"]["Student"].startswith("'=")  # a name that is a formula stays text
    assert "zed: not exported: no LMS id" in capsys.readouterr().out

    generic = tmp_path / "generic.csv"
    assert cli(["export", "--course", str(course), "--out", str(generic)]) == 0
    with open(generic, newline="", encoding="utf-8") as f:
        got = {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}
    bob = got[("bob", A)]
    assert (bob["lms_id"], float(bob["score"]), float(bob["max"]), float(bob["late_penalty"])) == (
        "4322",
        36.0,
        50.0,
        4.0,
    )


def test_an_export_that_is_not_canvas_says_what_to_download(tmp_path: Path, make_course: Callable) -> None:
    course = make_course({})
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nAlice,a@uni.edu\n")
    with pytest.raises(SystemExit, match="not a Canvas gradebook export.*Export Entire Gradebook"):
        cli(["export", "--course", str(course), "--canvas", str(roster), "--out", str(tmp_path / "x.csv")])
