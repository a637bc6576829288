"""What a submission folder may make the grader read, and how much a notebook may make it
hold: only the notebook, a regular file, bounded; outputs bounded while they stream.

The hand-ins of ``tests/adversarial.py`` (links to ``solutions/``, to a classmate, to the
grader's environment; hard links; a FIFO; an extra HTML file; notebooks 300 MB large,
100,000 levels deep, with a 3 MB string or 5,000 cells; 30 MB of display data; 64 MB
messages for 3 s; a cell reading IPython's history) are graded with the adversarial class,
once per test run. The bounds themselves are checked here directly, in milliseconds.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import nbformat
import pytest
from adversarial import POINTS, SCRIPT, SECRET, GradedClass
from nbgrader.api import Gradebook

from autograder.instructor import submissions
from autograder.instructor.course import db_url, submit
from autograder.instructor.grade import load_result
from autograder.instructor.intake import read_handin
from autograder.instructor.notebook import NotebookError, _json_shape, parse_notebook, read_notebook
from autograder.instructor.verify import grade_cells
from autograder.student.paths import solution_notebook

A = "assign_5a"
SOLUTION_LINES = ("np.tanh(Waa @ a_prev + Wax @ xt + ba)", "h_tilde = np.tanh(")


def _returned(course: Path, student: str) -> dict[str, str]:
    """Every file the student gets back (feedback) or the instructor keeps (autograded)."""
    return {
        str(p.relative_to(course)): p.read_text(errors="replace")
        for kind in ("autograded", "feedback")
        for p in sorted((course / kind / student).rglob("*"))
        if p.is_file()
    }


@pytest.mark.xdist_group("adversarial")  # shares the graded class with test_containment
class TestTheClass:
    def test_each_hand_in_gets_its_exact_score_status_and_a_line(self, graded_class: GradedClass) -> None:
        course = graded_class.course
        with Gradebook(db_url(course)) as gb:
            for student, (want, status, words) in graded_class.hand_ins.items():
                got = {fn: gb.find_grade(gid, A, A, student).score for fn, (gid, _) in grade_cells(A).items()}
                result = load_result(course, A, student)
                assert got == want, (student, got, result.notes)
                assert not status or result.status == status, (student, result.status, result.notes)
                assert not words or any(words in note for note in result.notes), (student, result.notes)

    def test_honest_classmates_keep_their_scores(self, graded_class: GradedClass) -> None:
        with Gradebook(db_url(graded_class.course)) as gb:
            for student in ("honest", "victim"):
                got = {fn: gb.find_grade(gid, A, A, student).score for fn, (gid, _) in grade_cells(A).items()}
                assert got == POINTS

    def test_nothing_linked_comes_back(self, graded_class: GradedClass) -> None:
        """No solution, classmate, password file or grader environment in anything returned
        for the students who linked them; the probes are real (the targets hold them)."""
        course = graded_class.course
        assert SOLUTION_LINES[0] in solution_notebook(A).read_text()
        for student in ("link_to_solutions", "link_to_classmate", "hardlink_to_solutions", "linked_extras"):
            for name, text in _returned(course, student).items():
                for probe in (*SOLUTION_LINES, SECRET, "root:x:0:0", "### BEGIN SOLUTION"):
                    assert probe not in text, f"{name} holds {probe!r}"
        for student in graded_class.students:
            for name, text in _returned(course, student).items():
                assert SECRET not in text, f"{name} holds the grader's environment"

    def test_feedback_holds_only_the_notebooks_feedback(self, graded_class: GradedClass) -> None:
        course = graded_class.course
        for student in ("notes_beside", "linked_extras", "fifo_beside"):
            found = sorted(p.name for p in (course / "feedback" / student / A).iterdir())
            assert found == [f"{A}.html"], (student, found)
        html = (course / "feedback" / "notes_beside" / A / f"{A}.html").read_text()
        assert SCRIPT not in html and "alert('notes')" not in html

    def test_every_kind_of_output_is_capped(self, graded_class: GradedClass) -> None:
        """30 MB of images, JSON, updated displays, text and an exception: the autograded
        notebook and the feedback stay small (both are read by people)."""
        course = graded_class.course
        autograded = course / "autograded" / "display_flood" / A / f"{A}.ipynb"
        feedback = course / "feedback" / "display_flood" / A / f"{A}.html"
        assert autograded.stat().st_size < 3 * 1024**2
        assert feedback.stat().st_size < 3 * 1024**2
        nb = nbformat.read(autograded, as_version=4)
        flood = next(c for c in nb.cells if "DISPLAY" not in c.source and "blob =" in c.source)
        assert any(o.output_type == "error" for o in flood.outputs)  # an error is never dropped
        assert "output limit" in json.dumps(flood.outputs)

    def test_a_stream_of_output_leaves_the_graders_memory_flat(self, graded_class: GradedClass) -> None:
        """64 MB messages for 3 s: no grader process (the command, its workers) held more than
        600 MB at any time (a worker's own size is about 250 MB)."""
        assert graded_class.peak_rss < 600 * 1024**2, graded_class.peak_rss / 1024**2
        # frames over 32 MB cut the kernel off: the cell may end in an IOPub timeout
        autograded = graded_class.course / "autograded" / "stream_flood" / A / f"{A}.ipynb"
        assert not autograded.exists() or autograded.stat().st_size < 3 * 1024**2

    def test_the_kernel_never_holds_hidden_test_source(self, graded_class: GradedClass) -> None:
        """A hook before every cell and IPython's history show only what the kernel ran:
        the grade cells' check calls, never the hidden-test markers around them."""
        course = graded_class.course
        nb = nbformat.read(course / "autograded" / "reads_history" / A / f"{A}.ipynb", as_version=4)
        outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert "HISTORY" in outputs and 'check(\\"rnn_forward\\", rnn_forward, hidden=True)' in outputs
        assert "HIDDEN TESTS" not in outputs
        html = (course / "feedback" / "reads_history" / A / f"{A}.html").read_text()
        assert "HIDDEN TESTS" not in html


# --- the bounds, directly -------------------------------------------------------------------


def _course(tmp_path: Path, student: str = "s") -> Path:
    (tmp_path / "submitted" / student / A).mkdir(parents=True)
    return tmp_path


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


def test_only_a_regular_notebook_of_the_folder_is_read(tmp_path: Path) -> None:
    course = _course(tmp_path)
    folder = course / "submitted" / "s" / A
    nb = folder / f"{A}.ipynb"
    outside = tmp_path / "secret.ipynb"
    outside.write_text("secret")
    for make, words in [
        (lambda: nb.symlink_to("/dev/zero"), "symbolic link"),
        (lambda: nb.symlink_to(outside), "symbolic link"),
        (lambda: os.mkfifo(nb), "not a regular file"),
        (lambda: nb.mkdir(), "not a regular file"),
        (lambda: os.link(outside, nb), "2 names on the disk"),
        (lambda: _sparse(nb, 17 * 1024**2), "over the 16 MB limit"),
    ]:
        make()
        start = time.process_time()  # this process's CPU: a busy machine does not add to it
        handin = read_handin(course, "s", A)
        assert handin.notebook is None and words in handin.notes[-1], handin.notes
        assert time.process_time() - start < 0.5
        nb.rmdir() if nb.is_dir() and not nb.is_symlink() else nb.unlink()
    nb.write_text("mine")
    (folder / "extra.ipynb").symlink_to(outside)
    handin = read_handin(course, "s", A)
    assert handin.notebook == b"mine"
    assert handin.notes == ["only the notebook is graded; ignored: extra.ipynb"]


def test_a_linked_submission_folder_is_not_read(tmp_path: Path) -> None:
    course = _course(tmp_path, "victim")
    (course / "submitted" / "victim" / A / f"{A}.ipynb").write_text("victim's")
    (course / "submitted" / "thief").symlink_to(course / "submitted" / "victim")
    (course / "submitted" / "other").mkdir()
    (course / "submitted" / "other" / A).symlink_to(course / "submitted" / "victim" / A)
    for student in ("thief", "other"):
        handin = read_handin(course, student, A)
        assert handin.notebook is None and "is a link, not a folder" in handin.notes[0]


def test_a_notebook_under_another_name_and_many_files(tmp_path: Path) -> None:
    course = _course(tmp_path)
    folder = course / "submitted" / "s" / A
    (folder / "my\x1b[31m hw.ipynb").write_text("mine")
    for i in range(50):
        (folder / f"f{i}.txt").write_text("")
    handin = read_handin(course, "s", A)
    assert handin.notebook == b"mine"
    assert handin.notes[0] == "the notebook was handed in as my\\x1b[31m hw.ipynb; graded as such"
    assert handin.notes[1].endswith("and 40 more") and "\x1b" not in "".join(handin.notes)


def _reference_shape(obj: object) -> tuple[int, int]:
    if isinstance(obj, (dict, list)):
        items = [*obj, *obj.values()] if isinstance(obj, dict) else obj
        inner = [_reference_shape(v) for v in items]
        return 1 + max([d for d, _ in inner], default=0), max([s for _, s in inner], default=0)
    return (0, len(json.dumps(obj)) - 2) if isinstance(obj, str) else (0, 0)


def test_the_shape_of_json_is_measured_without_parsing() -> None:
    """Depth and longest string, against a recursive reference, on random JSON full of
    quotes, backslashes and brackets inside strings, across chunk boundaries."""
    rng = random.Random(5)

    def text() -> str:
        return "".join(rng.choice('ab"\\[]{}\n') for _ in range(rng.randint(0, 30)))

    def value(depth: int = 0) -> object:
        r = rng.random()
        if depth > 6 or r < 0.3:
            return text()
        if r < 0.6:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 4))} if r > 0.65 else 7

    for _ in range(500):
        obj = value()
        data = json.dumps(obj).encode()
        for chunk in (5, 64, 1 << 20):
            assert _json_shape(data, chunk) == _reference_shape(obj), data


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels deep"),
        (b'{"cells": ["' + b"s" * (3 * 1024**2) + b'"]}', "a string of 3.0 MB"),
        (json.dumps({"cells": [{}] * 3000}).encode(), "3,000 cells"),
        (b" " * (16 * 1024**2 + 1), "larger than the limit of 16 MB"),
    ],
    ids=["deep", "long string", "many cells", "large"],
)
def test_notebooks_beyond_the_bounds_are_refused_cheaply(data: bytes, words: str) -> None:
    start = time.process_time()  # this process's CPU: a busy machine does not add to it
    with pytest.raises(NotebookError, match=words):
        parse_notebook(data)
    assert time.process_time() - start < 1.0


def test_the_course_notebooks_are_well_within_the_bounds(tmp_path: Path) -> None:
    nb = submissions.completed(A)
    path = submit(_course(tmp_path), "s", A, nb)
    assert read_notebook(path).cells == nb.cells
    assert parse_notebook(path.read_bytes()).cells == nb.cells
