"""Student ids and student text that attack the instructor's side: graded with
``python -m autograder grade`` into PostgreSQL (the server of ``AUTOGRADER_TEST_POSTGRES``,
as ``.ci/run`` starts it; SQLite where it is missing).

One small class, graded once: an honest student, ids from an LMS download that start
like a formula (``=1+1``, ``@SUM(2+3)``) or an option (``-rf``, ``--force``), ids that are
invalid (an escape sequence, 245 and 130 characters), and a forger whose file name and
exception message hold newlines and escape sequences written to look like the summary's
own lines. Nothing forged reaches the terminal or a CSV, invalid ids get a line saying
what is wrong and what to do, and every classmate gets the exact score.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fresh_database
from nbgrader.api import Gradebook, MissingEntry
from test_tampering import TAMPERS

from autograder.instructor import submissions
from autograder.instructor.course import db_url, submit

pytestmark = pytest.mark.xdist_group("hostile_ids")
A = "assign_5a"
LIMITS = ["--cell-timeout", "10", "--notebook-timeout", "30", "--function-timeout", "5"]

# What the summary prints for an honest student with a problem, and for a clean class.
FORGED = (
    "\n  honest (timeout, 0 points)\n    - the notebook ran longer than 600 s\n\n9 graded; nothing to report."
)
ESCAPES = "\x1b[2J\x1b]0;owned\x07\r\x9b31m\u202e"
ESC_ID = "mallory\x1b[8m"
LONG_ID = "x" * 245
DB_LONG_ID = "y" * 130
# id -> (hands in the reference?, their exact score)
GRADED = {
    "honest": (True, 50.0),
    "=1+1": (True, 50.0),
    "@SUM(2+3)": (False, 0.0),
    "-rf": (True, 50.0),
    "--force": (True, 50.0),
    "forger": (True, 40.0),  # its rnn_cell_forward raises
}
INVALID = (ESC_ID, LONG_ID, DB_LONG_ID)

# The forger fakes its checks in the kernel (so nbgrader's score and the trusted one
# disagree and the trusted verify's message, quoting the exception, is printed) and
# names its notebook file so that the grader's own note quotes it.
FORGER_FUNCTION = f"""
def rnn_cell_forward(xt, a_prev, parameters):
    raise ValueError({FORGED + ESCAPES!r})
"""


@dataclass
class Graded:
    course: Path
    run: subprocess.CompletedProcess
    gradebook: str


@pytest.fixture(scope="module")
def postgres_or_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A fresh database on the PostgreSQL server of ``AUTOGRADER_TEST_POSTGRES``; None
    (the course's SQLite gradebook) when the variable is not set."""
    server = os.environ.get("AUTOGRADER_TEST_POSTGRES")
    if not server:
        yield None
        return
    with fresh_database(server, "ids") as url:
        yield url


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, postgres_or_sqlite: str | None, new_course) -> Graded:
    course = new_course(tmp_path_factory.mktemp("hostile_ids") / "course")
    full, blank = submissions.completed(A), submissions.release(A)
    for student, (reference, _) in GRADED.items():
        submit(course, student, A, full if reference else blank)
    forger = submissions.replace_function(full, "rnn_cell_forward", FORGER_FUNCTION)
    forger = submissions.add_cell(forger, TAMPERS["check_redefined"], after="code_setup")
    path = submit(course, "forger", A, forger)
    path.rename(path.with_name(f"homework{FORGED}{ESCAPES}.ipynb"))
    for student in INVALID:
        submit(course, student, A, full)
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), "--workers", "2", *LIMITS]
    if postgres_or_sqlite:
        cmd.append(f"--db-url={postgres_or_sqlite}")
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)
    return Graded(course, run, postgres_or_sqlite or db_url(course))


def test_the_class_is_graded_with_exact_scores(graded: Graded) -> None:
    """#10: a 130-character id used to stop ``grade`` on PostgreSQL (exit 1, classmates
    unscored); ids like ``-rf`` or ``=1+1`` are graded like any other."""
    assert graded.run.returncode == 0, graded.run.stdout[-3000:] + graded.run.stderr[-3000:]
    with Gradebook(graded.gradebook) as gb:
        got = {s: gb.find_submission(A, s).score for s in GRADED}
        for student in INVALID:  # an invalid id never reaches the gradebook
            with pytest.raises(MissingEntry):
                gb.find_student(student)
    assert got == {s: score for s, (_, score) in GRADED.items()}


def test_invalid_ids_get_a_line_saying_what_to_do(graded: Graded) -> None:
    """#8, #10: the 245- and 130-character ids and the one with an escape sequence are
    neither silently dropped nor graded: a line each in the summary and in the reports."""
    out = graded.run.stdout
    assert "x" * 40 + "... (205 more characters)" in out
    assert out.count("at most 64 are allowed") == 2, out[-3000:]
    assert "mallory\\x1b[8m" in out and "control or invisible characters" in out
    assert out.count("rename the folder submitted/") == 3
    with open(graded.course / "reports" / A / "grades.csv", encoding="utf-8") as f:
        status = {r["student"]: (r["status"], r["total"]) for r in csv.DictReader(f)}
    assert status[LONG_ID] == status[DB_LONG_ID] == status["mallory\\x1b[8m"] == ("invalid-id", "")
    flagged = (graded.course / "reports" / A / "flags.csv").read_text(encoding="utf-8")
    assert flagged.count("at most 64 are allowed") == 2


def test_student_text_forges_no_line_and_no_escape(graded: Graded) -> None:
    """#7: the forger's text (its file name in the grader's note, its exception in the
    trusted verify's message) shows on its own line, escaped; no escape sequence reaches
    the terminal and no line is forged."""
    out, err = graded.run.stdout, graded.run.stderr
    for stream in (out, err):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", stream), (
            "a control character got through"
        )
    lines = out.splitlines()
    assert not [ln for ln in lines if ln.lstrip().startswith(("honest (", "- the notebook ran longer"))]
    assert not [ln for ln in lines if ln.lstrip().startswith("9 graded; nothing to report")]
    forger = [ln for ln in lines if "honest (timeout, 0 points)" in ln]
    assert len(forger) == 2, lines  # the note on the file name and the flag, each one line
    assert all("\\n  honest (timeout, 0 points)\\n" in ln and "\\x1b[2J" in ln for ln in forger)


def test_every_csv_cell_is_inert(graded: Graded) -> None:
    """#8: no cell of grades.csv, flags.csv or nbgrader's export starts a formula or holds a
    control character; ``=1+1`` is still there, as text, with its score."""
    out = graded.course / "reports" / A
    for name in ("grades.csv", "flags.csv", "nbgrader_export.csv"):
        with open(out / name, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        for row in rows:
            for cell in row:
                live = cell.lstrip(" ")[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"-?[\d.]+", cell)
                assert not live, (name, row)
                assert not re.search(r"[\x00-\x1f\x7f-\x9f]", cell), (name, row)
    with open(out / "grades.csv", encoding="utf-8") as f:
        totals = {r["student"]: r["total"] for r in csv.DictReader(f)}
    assert totals["'=1+1"] == "50" and totals["'@SUM(2+3)"] == "0" and totals["'-rf"] == "50"
