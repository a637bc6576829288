"""An adversarial class graded by ``python -m autograder grade``.

Twenty-three students hand in ``assign_5a``: honest full, partial and blank work,
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

import copy
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_tampering import TAMPERS, WRONG_SOURCE

from autograder import submissions
from autograder.course import db_url, make_course, submit
from autograder.mistakes import CATALOG
from autograder.verify import grade_cells

pytestmark = pytest.mark.xdist_group("grade_class")

A = "assign_5a"
POINTS = {fn: points for fn, (_, points) in grade_cells(A).items()}
FULL = sum(POINTS.values())
# Limits small enough to keep the test short, large enough for an honest notebook (~7 s).
LIMITS = ["--cell-timeout", "10", "--notebook-timeout", "45", "--function-timeout", "5"]


def _without(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def _retyped(nb: nbformat.NotebookNode, grade_id: str, cell_type: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            new = (nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_raw_cell)(
                c.source, metadata=c.metadata
            )
            new.id = c.id
            nb.cells[i] = new
    return nb


def _duplicated(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    twin = copy.deepcopy(nb.cells[i])
    twin.id = twin.id + "-copy"
    nb.cells.insert(i + 1, twin)
    return nb


def _prepend_to(nb: nbformat.NotebookNode, function: str, line: str) -> nbformat.NotebookNode:
    """The function's body starts with ``line`` (indented into the body)."""
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == function:
            head, rest = c.source.split("\n", 1)
            assert head.startswith(f"def {function}(")
            c.source = f"{head}\n    {line}\n{rest}"
    return nb


def the_class() -> dict[str, tuple[nbformat.NotebookNode | str, dict[str, float], str]]:
    """student -> (what they hand in, their expected trusted score per function, file name)."""
    full, blank = submissions.completed(A), submissions.release(A)
    wrong = submissions.replace_function(full, "rnn_cell_forward", WRONG_SOURCE)
    swap = next(m for m in CATALOG["gru_cell_forward"] if "1" in m.name and "z" in m.name)

    def score(*failing: str) -> dict[str, float]:
        return {fn: 0.0 if fn in failing else p for fn, p in POINTS.items()}

    partial = copy.deepcopy(blank)
    for fn in ("rnn_cell_forward", "rnn_forward"):
        partial = submissions.replace_function(
            partial,
            fn,
            next(c.source for c in full.cells if c.metadata.get("nbgrader", {}).get("grade_id") == fn),
        )
    renamed = submissions.edit_function(
        full, "rnn_cell_forward", (("def rnn_cell_forward(", "def rnn_cell_fwd("),)
    )
    after = "code_setup"
    nb = A + ".ipynb"
    return {
        "full": (full, score(), nb),
        "blank": (blank, score(*POINTS), nb),
        "partial": (partial, score("gru_cell_forward", "gru_forward"), nb),
        "gru_mistake": (submissions.with_mistake(A, "gru_cell_forward", swap), score("gru_cell_forward"), nb),
        **{
            f"tamper_{kind}": (submissions.add_cell(wrong, code, after=after), score("rnn_cell_forward"), nb)
            for kind, code in TAMPERS.items()
        },
        "not_json": ('{"cells": [ this is not json', score(*POINTS), nb),
        "empty_file": ("", score(*POINTS), nb),
        "deleted_grade_cell": (_without(full, "test_rnn_forward"), score(), nb),
        "deleted_solution": (_without(full, "gru_forward"), score("gru_forward"), nb),
        "duplicated_cells": (_duplicated(_duplicated(full, "test_gru_forward"), "rnn_forward"), score(), nb),
        "retyped_solution": (_retyped(full, "rnn_cell_forward", "markdown"), score(), nb),
        "retyped_grade_cell": (_retyped(full, "test_gru_cell_forward", "raw"), score(), nb),
        # the student's rnn_forward calls the missing name; the hidden test gives it the course's cell
        "renamed_function": (renamed, score("rnn_cell_forward"), nb),
        "os_exit": (submissions.add_cell(full, "import os\nos._exit(3)\n", after="rnn_forward"), score(), nb),
        "segfault": (
            submissions.add_cell(full, "import ctypes\nctypes.string_at(0)\n", after="gru_cell_forward"),
            score(),
            nb,
        ),
        "infinite_loop": (_prepend_to(full, "rnn_forward", "while True: pass"), score("rnn_forward"), nb),
        "memory_hog": (
            _prepend_to(full, "gru_forward", "hog = [np.ones(10**8) for _ in range(100)]"),
            score("gru_forward"),
            nb,
        ),
        "huge_output": (submissions.add_cell(full, "print('spam ' * 2_000_000)\n", after=after), score(), nb),
        "slow_notebook": (_slow(full), score(), nb),
        "wrong_file_name": (full, score(), "my homework (1).ipynb"),
    }


def _slow(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Six cells of 8 s each: every cell within the 10 s cell limit, 48 s in all (> 45 s)."""
    for _ in range(6):
        nb = submissions.add_cell(nb, "import time\ntime.sleep(8)\n", after="code_setup")
    return nb


CLASS = the_class()


def grade(course: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), "--workers", "2", *LIMITS]
    result = subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    for student, (nb, _, name) in CLASS.items():
        path = submit(course, student, A, nb)
        if name != path.name:
            path.rename(path.with_name(name))
    return course, grade(course)


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


def test_the_batch_completes_with_progress_and_reports(graded) -> None:
    course, run = graded
    assert f"{len(CLASS)}/{len(CLASS)}" in run.stderr  # tqdm's progress bar
    out = course / "reports" / A
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(CLASS)
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
        ("slow_notebook", "timeout", "ran longer than 45 s"),
        ("wrong_file_name", "ok", "handed in as my homework (1).ipynb"),
    ],
)
def test_broken_submissions_get_a_clear_line(graded, student: str, status: str, words: str) -> None:
    course, run = graded
    from autograder.grade import load_result

    result = load_result(course, A, student)
    assert result.status == status
    assert any(words in note for note in result.notes), result.notes
    assert words in run.stdout  # the terminal report


@pytest.mark.parametrize("student", [s for s in CLASS if s.startswith("tamper_")])
def test_tampering_scores_full_in_kernel_and_is_flagged(graded, student: str) -> None:
    course, _ = graded
    from autograder.grade import load_result

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


def test_output_is_capped(graded) -> None:
    course, _ = graded
    autograded = course / "autograded" / "huge_output" / A / f"{A}.ipynb"
    assert autograded.stat().st_size < 1_000_000  # 10 MB were printed


def test_second_run_skips_and_force_regrades_identically(graded) -> None:
    course, _ = graded
    before = trusted_scores(course)
    csv_before = (course / "reports" / A / "grades.csv").read_text(encoding="utf-8")
    again = grade(course)
    assert f"{len(CLASS)} already graded" in again.stdout
    forced = grade(course, "--force")
    assert "0 already graded" in forced.stdout
    assert trusted_scores(course) == before
    assert (course / "reports" / A / "grades.csv").read_text(encoding="utf-8") == csv_before
