"""The nbgrader round trip on a throwaway course: generate, submit, autograde, feedback, export.

One class per assignment hands in the completed reference (full marks), the
untouched release (zero), one submission per graded helper (a graded function
another one calls) with that helper's first catalogued mistake (loses exactly
that grade cell; its callers keep theirs), and, for
each k below the longest catalogue's length, one submission with mistake number k
of every function that has one (each grade cell tests its own function with the
course's helpers injected, so every buggy function scores zero and every other one
full marks). Expected
points come from the grade cells' metadata (``autograder.instructor.verify.grade_cells``);
scores are read back through ``nbgrader.api.Gradebook``.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.instructor import submissions
from autograder.instructor.course import db_url, submit
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant
from autograder.instructor.verify import CellResult, grade_cells, hidden_outcome
from autograder.student.specs import ASSIGNMENTS, SPECS

Runner = Callable[..., subprocess.CompletedProcess]
COMBINED = range(max(len(mistakes) for mistakes in CATALOG.values()))  # k of the longest catalogue


@dataclass(frozen=True)
class Student:
    """A fake student: the release (``blank``) or the reference with catalogued mistakes."""

    name: str
    blank: bool = False
    mistakes: dict[str, int] = field(default_factory=dict)  # function -> index in CATALOG

    def notebook(self, assignment: str) -> nbformat.NotebookNode:
        if self.blank:
            return submissions.release(assignment)
        nb = submissions.completed(assignment)
        for function, k in self.mistakes.items():
            nb = submissions.edit_function(nb, function, CATALOG[function][k].edits)
        return nb

    def expected(self, assignment: str) -> dict[str, float]:
        """grade id -> points this submission must get: all of them for a right function, 0
        for a blank one, and for a mistake the share of the parts it leaves right, as the
        hidden cases judged in this process say (fewer than all the points, tests/test_trusted.py)."""
        return {
            grade_id: 0.0
            if self.blank
            else mistake_score(function, self.mistakes[function])
            if function in self.mistakes
            else points
            for function, (grade_id, points) in grade_cells(assignment).items()
        }


@functools.cache
def mistake_score(function: str, k: int) -> float:
    """The trusted score of ``function`` with its k-th catalogued mistake, judged in this process."""
    assignment = SPECS[function].assignment
    fn = getattr(mutant(assignment, function, CATALOG[function][k].edits), function)
    grade_id, points = grade_cells(assignment)[function]
    with contextlib.redirect_stdout(io.StringIO()):
        score = CellResult(function, grade_id, points, hidden_outcome(function, fn)).score
    assert score < points, f"{function} with {CATALOG[function][k].name!r} keeps all its points"
    return score


def roster(assignment: str) -> list[Student]:
    functions = list(grade_cells(assignment))
    students = [Student("reference"), Student("release", blank=True)]
    # one mistake alone in each graded helper that another graded function calls: its callers
    # keep their points (the combined students below cover every other mistake)
    helpers = {d for f in functions for d in SPECS[f].deps if d in functions}
    students += [Student(f"bug_{f}", mistakes={f: 0}) for f in functions if f in helpers and CATALOG.get(f)]
    for k in COMBINED:
        buggy = {f: k for f in functions if len(CATALOG.get(f, [])) > k}
        if buggy:
            students.append(Student(f"bugs_k{k}", mistakes=buggy))
    return students


@dataclass
class Course:
    root: Path
    assignment: str
    students: list[Student]


def in_group(assignment: str, *values: object) -> pytest.param:
    """A parameter that keeps every test of ``assignment``'s course on one xdist worker."""
    return pytest.param(
        assignment,
        *values,
        marks=pytest.mark.xdist_group(f"roundtrip_{assignment}"),
        id="-".join([assignment, *(getattr(v, "name", str(v)) for v in values)]),
    )


BY_ASSIGNMENT = [in_group(a) for a in ASSIGNMENTS]
BY_STUDENT = [in_group(a, s) for a in ASSIGNMENTS for s in roster(a)]


@pytest.fixture(scope="module")
def graded(
    tmp_path_factory: pytest.TempPathFactory, run_nbgrader: Runner, new_course
) -> Callable[[str], Course]:
    """``graded(assignment)``: a fresh course whose class handed in ``assignment`` and was
    autograded, built once per module and worker (the xdist groups keep one assignment per worker)."""
    built: dict[str, Course] = {}

    def build(assignment: str) -> Course:
        if assignment not in built:
            root = new_course(tmp_path_factory.mktemp(f"course_{assignment}") / "course")
            students = roster(assignment)
            for student in students:
                submit(root, student.name, assignment, student.notebook(assignment))
            start = time.perf_counter()
            run_nbgrader(root, "autograde", assignment, "--force")
            print(
                f"\nnbgrader autograde {assignment}: {len(students)} submissions in "
                f"{time.perf_counter() - start:.1f} s"
            )
            built[assignment] = Course(root, assignment, students)
        return built[assignment]

    return build


@pytest.fixture(scope="module")
def feedback(graded: Callable[[str], Course], run_nbgrader: Runner) -> Callable[[str], dict[str, Path]]:
    """``feedback(assignment)``: student -> the HTML of ``nbgrader generate_feedback`` (run once)."""
    done: dict[str, dict[str, Path]] = {}

    def generate(a: str) -> dict[str, Path]:
        if a not in done:
            course = graded(a)
            run_nbgrader(course.root, "generate_feedback", a)
            done[a] = {s.name: course.root / "feedback" / s.name / a / f"{a}.html" for s in course.students}
        return done[a]

    return generate


def test_every_graded_function_has_a_catalogued_mistake() -> None:
    """The round trip below would prove nothing for a function without a known mistake."""
    for assignment in ASSIGNMENTS:
        for function in grade_cells(assignment):
            assert CATALOG.get(function), f"{function} has no mistake in autograder/instructor/mistakes.py"


@pytest.mark.parametrize(("assignment", "student"), BY_STUDENT)
def test_autograde_scores(graded: Callable[[str], Course], assignment: str, student: Student) -> None:
    """Each grade cell's auto score is its points, or zero exactly where the submission is wrong."""
    course, a = graded(assignment), assignment
    expected = student.expected(a)
    with Gradebook(db_url(course.root)) as gb:
        got = {grade_id: gb.find_grade(grade_id, a, a, student.name).auto_score for grade_id in expected}
        maxima = {grade_id: gb.find_grade(grade_id, a, a, student.name).max_score for grade_id in expected}
        total = gb.find_submission(a, student.name).score
    assert maxima == {gid: points for gid, points in grade_cells(a).values()}
    assert got == expected, f"{student.name} (mistakes {student.mistakes})"
    assert total == pytest.approx(sum(expected.values()), abs=1e-9)


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_gradebook_has_exactly_the_class(graded: Callable[[str], Course], assignment: str) -> None:
    """Every submission was autograded, and no one else appears in the gradebook."""
    course, a = graded(assignment), assignment
    with Gradebook(db_url(course.root)) as gb:
        graded = {s.student.id for s in gb.assignment_submissions(a)}
    assert graded == {s.name for s in course.students}
    for s in course.students:
        assert (course.root / "autograded" / s.name / a / f"{a}.ipynb").is_file()


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_generate_feedback(
    graded: Callable[[str], Course], feedback: Callable[[str], dict[str, Path]], assignment: str
) -> None:
    """`nbgrader generate_feedback` writes one HTML report per student, showing their score."""
    course, reports = graded(assignment), feedback(assignment)
    for student in course.students:
        html = reports[student.name]
        assert html.is_file(), f"no feedback for {student.name}"
        total = float(sum(student.expected(course.assignment).values()))
        maximum = float(sum(points for _, points in grade_cells(course.assignment).values()))
        shown = re.search(r"\(Score: ([0-9.]+) / ([0-9.]+)\)", html.read_text(encoding="utf-8"))
        assert shown, f"{student.name}: no score in the feedback"
        assert float(shown[1]) == pytest.approx(total, abs=0.01), student.name  # shown to 2 decimals
        assert float(shown[2]) == maximum, student.name


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_feedback_hides_hidden_tests(
    graded: Callable[[str], Course], feedback: Callable[[str], dict[str, Path]], assignment: str
) -> None:
    """The feedback never shows the hidden-test source (nbgrader_config's HideHiddenTests)."""
    for student in graded(assignment).students:
        text = feedback(assignment)[student.name].read_text(encoding="utf-8")
        for secret in ("hidden=True", "HIDDEN TESTS"):
            assert secret not in text, f"{student.name}'s feedback shows {secret!r}"


@pytest.mark.parametrize("assignment", BY_ASSIGNMENT)
def test_export(graded: Callable[[str], Course], run_nbgrader: Runner, assignment: str) -> None:
    """`nbgrader export` writes grades.csv with every student's total and the maximum."""
    course, a = graded(assignment), assignment
    run_nbgrader(course.root, "export")
    with open(course.root / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == a}
    assert set(rows) == {s.name for s in course.students}
    maximum = sum(points for _, points in grade_cells(a).values())
    for s in course.students:
        assert float(rows[s.name]["score"]) == pytest.approx(sum(s.expected(a).values()), abs=1e-9), s.name
        assert float(rows[s.name]["max_score"]) == maximum
