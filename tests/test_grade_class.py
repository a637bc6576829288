"""An adversarial class graded by ``python -m autograder grade``.

Twenty-three of its students (``tests/adversarial.py``; the class is graded once per
test run and shared with ``test_containment``) hand in ``assign_5a``: honest full, partial and blank work,
a catalogued mistake, four tampers, and every way a notebook can break (not
JSON, empty, deleted, duplicated and retyped cells, a renamed function, a kernel
killed by ``os._exit`` or a segfault, an infinite loop, a memory hog, megabytes
of output, a notebook slower than its time limit, a wrong file name). The tests
pin down each student's exact score per function (read back through nbgrader's
``Gradebook``), that the batch completes with a line for each broken
submission, that a second run skips everyone, and that ``--force`` regrades to
identical numbers.
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
from adversarial import CLASS, POINTS, GradedClass, grade_command
from nbgrader.api import Gradebook
from partial import read_parts

from autograder.instructor.course import db_url
from autograder.instructor.verify import grade_cells

pytestmark = pytest.mark.xdist_group("adversarial")  # shares the graded class with test_containment

A = "assign_5a"


@pytest.fixture(scope="module")
def graded(graded_class: GradedClass) -> tuple[Path, subprocess.CompletedProcess]:
    return graded_class.course, graded_class.run


def trusted_scores(course: Path) -> dict[str, dict[str, float]]:
    """student -> function -> final score in the gradebook."""
    cells = grade_cells(A)
    with Gradebook(db_url(course)) as gb:
        return {s: {fn: gb.find_grade(gid, A, A, s).score for fn, (gid, _) in cells.items()} for s in CLASS}


def test_every_student_gets_exactly_the_expected_score(graded) -> None:
    course, _ = graded
    got = trusted_scores(course)
    wrong = {s: (got[s], want) for s, (_, want, _) in CLASS.items() if got[s] != want}
    assert not wrong, f"unexpected scores (got, expected): {wrong}"


def test_the_batch_completes_with_progress_and_reports(graded_class: GradedClass) -> None:
    course, run, everyone = graded_class.course, graded_class.run, graded_class.students
    assert f"{len(everyone)}/{len(everyone)}" in run.stderr  # tqdm's progress bar
    out = course / "reports" / A
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(everyone)
    for student, (_, want, _) in CLASS.items():
        assert float(rows[student]["total"]) == sum(want.values()), student
    for png in ("grade_histogram.png", "failure_rates.png"):
        assert (out / png).stat().st_size > 1000
    assert (out / "nbgrader_export.csv").exists()


@pytest.mark.parametrize(
    ("student", "status", "words"),
    [
        ("not_json", "malformed", "not a valid notebook"),
        ("empty_file", "malformed", "not a valid notebook"),
        ("deleted_grade_cell", "ok", "test_rnn_forward was deleted; restored"),
        ("duplicated_cells", "ok", "appears 2 times"),
        ("retyped_solution", "ok", "changed back to code"),
        ("retyped_grade_cell", "ok", "changed back to code"),
        ("os_exit", "kernel-crash", "the kernel died"),
        ("segfault", "kernel-crash", "the kernel died"),
        ("slow_notebook", "timeout", "ran longer than 20 s"),
        ("wrong_file_name", "ok", "handed in as my homework (1).ipynb"),
        ("odd_metadata", "malformed", "its cells are malformed (AttributeError"),
    ],
)
def test_broken_submissions_get_a_clear_line(graded, student: str, status: str, words: str) -> None:
    course, run = graded
    from autograder.instructor.grade import load_result

    result = load_result(course, A, student)
    assert result.status == status
    assert any(words in note for note in result.notes), result.notes
    assert words in run.stdout  # the terminal report


@pytest.mark.parametrize("student", [s for s in CLASS if s.startswith("tamper_")])
def test_tampering_scores_full_in_kernel_and_is_flagged(graded, student: str) -> None:
    course, _ = graded
    from autograder.instructor.grade import load_result

    cell = load_result(course, A, student).cells["test_rnn_cell_forward"]
    assert (cell["auto"], cell["trusted"]) == (POINTS["rnn_cell_forward"], 0.0)
    flagged = (course / "reports" / A / "flags.csv").read_text(encoding="utf-8")
    assert f"{student},{A},test_rnn_cell_forward" in flagged


def test_feedback_shows_what_failed_never_hidden_tests(graded) -> None:
    course, _ = graded
    html = (course / "feedback" / "tamper_check_redefined" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "checked outside your notebook" in html
    assert "a_next disagrees with the expected value" in html  # the check library's words
    for student in ("full", "gru_mistake", "tamper_numpy_norm"):
        html = (course / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")
        assert "HIDDEN TESTS" not in html and "hidden=True" not in html
        # the course's text reads as it does in JupyterLab, though the feedback is sanitized
        assert '<h1 id="Assignment-5a' in html and "<p>A feedforward network" in html
        assert re.search(r"&lt;/?(p|h\d|th|img)\b", html) is None
        # the figure, with its alt text (attributes in either order)
        assert re.search(r'<img (?=[^>]*\balt="The RNN unrolled)[^>]*\bsrc="data:image/png;base64,', html)


def test_partial_credit_shows_in_grades_csv_and_feedback(graded) -> None:
    """A function partly right: its share in the gradebook and grades.csv, which part earned
    what in grades.csv's ``partly right`` column and in the feedback's first cell."""
    course, _ = graded
    with open(course / "reports" / A / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    by_part = {
        "a_next (and cache[0:3])": (0.0, 6.0),
        "yt_pred": (0.0, 6.0),
        "cache[3] (z)": (2.0, 2.0),
        "cache[4] (r)": (2.0, 2.0),
        "cache[5] (h_tilde)": (4.0, 4.0),
    }
    assert float(rows["gru_mistake"]["gru_cell_forward"]) == 8.0
    function, _, text = rows["gru_mistake"]["partly right"].partition(": ")
    assert function == "gru_cell_forward" and read_parts(text) == by_part
    assert rows["full"]["partly right"] == rows["blank"]["partly right"] == ""
    html = (course / "feedback" / "gru_mistake" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "points by part" in html and "partly right" in html and text in html


def test_output_is_capped(graded) -> None:
    course, _ = graded
    autograded = course / "autograded" / "huge_output" / A / f"{A}.ipynb"
    assert autograded.stat().st_size < 1_000_000  # 10 MB were printed


def test_second_run_skips_and_force_regrades_identically(graded_class: GradedClass) -> None:
    course = graded_class.course
    before = trusted_scores(course)
    csv_before = (course / "reports" / A / "grades.csv").read_text(encoding="utf-8")
    again = grade_command(course)
    assert f"{len(graded_class.students)} already graded" in again.stdout
    # forced on five kinds of submission (honest, a mistake, a tampered check, not a
    # notebook, a crash): the whole class again cost the suite a minute
    some = ("full", "gru_mistake", "tamper_check_redefined", "not_json", "segfault")
    forced = grade_command(course, "--force", *(arg for s in some for arg in ("--student", s)))
    assert f"{len(some)} submission(s), 0 already graded" in forced.stdout
    assert trusted_scores(course) == before
    assert (course / "reports" / A / "grades.csv").read_text(encoding="utf-8") == csv_before


def test_a_manual_score_survives_every_regrade(graded_class: GradedClass, run_nbgrader) -> None:
    """An instructor's correction in formgrader (nbgrader's manual score) is never overwritten:
    not by grade --force, not by verify, not by plain nbgrader autograde --force; the reports
    use it and say it was set by hand. A manual score the grader itself wrote under its old
    scheme (the trusted score kept there) is cleared, not taken for a person's."""
    import json
    import sys

    course = graded_class.course
    gid, points = grade_cells(A)["rnn_forward"]
    other_gid, other_points = grade_cells(A)["gru_forward"]
    old = course / "grading" / A / "gru_mistake.json"
    with Gradebook(db_url(course)) as gb:
        gb.find_grade(gid, A, A, "full").manual_score = points - 3  # a person's correction
        # gru_mistake as the old scheme left it: every trusted score also written as manual
        for g in gb.find_submission_notebook(A, A, "gru_mistake").grades:
            g.manual_score = g.auto_score
        gb.find_grade(other_gid, A, A, "gru_mistake").manual_score = other_points / 2  # and a person's
        gb.db.commit()
    state = json.loads(old.read_text())
    state.pop("scheme")
    old.write_text(json.dumps(state))
    try:
        grade_command(course, "--force", "--student", "full", "--student", "gru_mistake")
        cmd = [sys.executable, "-m", "autograder", "verify", A, "--course", str(course), "--student", "full"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        run_nbgrader(course, "autograde", A, "--force", "--student", "full")
        with Gradebook(db_url(course)) as gb:
            kept = gb.find_grade(gid, A, A, "full")
            assert (kept.manual_score, kept.score) == (points - 3, points - 3)
            mistake = {g.name: g for g in gb.find_submission_notebook(A, A, "gru_mistake").grades}
            assert mistake[other_gid].manual_score == other_points / 2  # a person's: kept
            cleared = [g for name, g in mistake.items() if name != other_gid]
            assert all(g.manual_score is None for g in cleared), "the old scheme's scores read as a person's"
            assert trusted_scores(course)["gru_mistake"] == {
                fn: (other_points / 2 if g == other_gid else CLASS["gru_mistake"][1][fn])
                for fn, (g, _) in grade_cells(A).items()
            }
        grade_command(course)  # reports rebuilt
        with open(course / "reports" / A / "grades.csv", encoding="utf-8") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        assert rows["full"]["rnn_forward"] == f"{points - 3:g}"
        assert rows["full"]["set by hand"] == "rnn_forward"
        assert rows["gru_mistake"]["set by hand"] == "gru_forward"
    finally:
        with Gradebook(db_url(course)) as gb:
            gb.find_grade(gid, A, A, "full").manual_score = None
            gb.find_grade(other_gid, A, A, "gru_mistake").manual_score = None
            gb.db.commit()
        grade_command(course, "--force", "--student", "full")  # the autograded copy as the class left it
