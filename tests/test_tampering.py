"""Submissions that fake their grade in the kernel are caught by the trusted verify.

Each tampering student hands in ``assign_5a`` with a wrong ``rnn_cell_forward``
(it returns zeros of the right shapes) plus a cell or a function body that
fools the in-kernel grade cell: by patching NumPy, the check library, Python's
builtins or IPython, or by reading the instructor's solutions. One throwaway
course autogrades them all in one ``nbgrader autograde`` call, and the tests pin
down that

- an honest student with the same wrong function scores 0 there (so the full
  score of the others is the tamper's doing, not a weak check);
- each tamper does fool the kernel: its grade cell claims FULL marks, so the
  trusted verify has something to catch;
- plain ``nbgrader autograde`` alone (the course's ``nbgrader_config.py`` runs the
  trusted verify inside it, ``preprocessors.TrustedVerify``) leaves the honest score
  in the gradebook: 0 for the wrong function, full marks for the rest, and the
  course's ``flags_assign_5a.csv`` flags exactly that grade cell, with the claim;
- a function that reads ``solutions/`` or writes ``gradebook.db`` from its body
  gets nothing in the sandbox (bubblewrap), and the gradebook is left unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.instructor import submissions
from autograder.instructor.course import db_url, nbgrader, submit
from autograder.instructor.expected import hidden_suite
from autograder.instructor.sandbox import backend
from autograder.instructor.verify import CellResult, grade_cells, record, verify_notebook
from autograder.student.paths import course_root

pytestmark = pytest.mark.xdist_group("tampering")

ASSIGNMENT = "assign_5a"
WRONG = "rnn_cell_forward"

WRONG_SOURCE = '''\
def rnn_cell_forward(xt, a_prev, parameters):
    """Zeros of the right shapes: wrong, but shaped like the answer."""
    a_next = np.zeros((parameters["Waa"].shape[0], xt.shape[1]))
    yt_pred = np.zeros((parameters["Wya"].shape[0], xt.shape[1]))
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
'''

# Each tamper is a cell the student adds right after the setup cell (numpy and
# ``check`` imported), so it runs before every self-check and grade cell.
TAMPERS: dict[str, str] = {
    # rel_error is ||x - y|| / (||x|| + ||y||), and 0 when the denominator is 0
    "numpy_norm": "np.linalg.norm = lambda *args, **kwargs: 0.0\n",
    "check_redefined": (
        "def check(name, fn, hidden=False, points=None):\n"
        "    print('\\u2705 ' + name + ': all test case(s) passed.')\n"
    ),
    "judge_patched": (
        "import autograder.student.checks\n"
        "from autograder.student.judge import Outcome\n"
        "autograder.student.checks.judge = lambda spec, calls, run, expected: "
        "Outcome(spec.name, True, len(calls))\n"
    ),
    # builtins: every `import` the check library runs (``import warnings`` in
    # checks._quiet) goes through this hook, which rebinds the library's judge
    "import_hook": (
        "import builtins\n"
        "from autograder.student.judge import Outcome\n"
        "_real_import = builtins.__import__\n"
        "def _hook(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    if globals is not None and globals.get('__name__') == 'autograder.student.checks':\n"
        "        globals['judge'] = lambda spec, calls, run, expected: "
        "Outcome(spec.name, True, len(calls))\n"
        "    return _real_import(name, globals, locals, fromlist, level)\n"
        "builtins.__import__ = _hook\n"
    ),
    # nbgrader PR #1324's exploit (no traceback, so no error output) is caught by
    # nbgrader 0.9.6 through the execute reply's status; this one also reports success
    "showtraceback": (
        "import functools\n"
        "_ip = get_ipython()\n"
        "_ip.showtraceback = lambda *args, **kwargs: None\n"
        "_run_cell_async = _ip.run_cell_async\n"
        "@functools.wraps(_run_cell_async)\n"
        "async def _run_and_forget(*args, **kwargs):\n"
        "    result = await _run_cell_async(*args, **kwargs)\n"
        "    result.error_in_exec = None\n"
        "    return result\n"
        "_ip.run_cell_async = _run_and_forget\n"
    ),
}


def _solution_paths(course: Path) -> list[str]:
    """Where a student could find the solution notebook: the course repository the
    grader is installed from, and the throwaway course nbgrader runs in."""
    roots = [course_root(), course]
    return [str((r / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").resolve()) for r in roots]


def reads_solutions(course: Path) -> str:
    """rnn_cell_forward that execs the instructor's reference from ``solutions/``."""
    return f'''\
def rnn_cell_forward(xt, a_prev, parameters):
    """Copy the answer: load the instructor's notebook and run its function."""
    import json
    import numpy
    for path in {_solution_paths(course)!r}:
        try:
            with open(path, encoding="utf-8") as f:
                nb = json.load(f)
        except OSError:
            continue
        namespace = {{"np": numpy}}
        for cell in nb["cells"]:
            code = "".join(cell["source"])
            if cell["cell_type"] == "code" and ("def softmax" in code or "def rnn_cell_" in code):
                exec(code, namespace)
        return namespace["rnn_cell_forward"](xt, a_prev, parameters)
    try:
        from autograder.instructor.reference import reference
    except ImportError:
        raise FileNotFoundError("no solutions to copy here") from None
    return reference("{ASSIGNMENT}").rnn_cell_forward(xt, a_prev, parameters)
'''


def home_marker(course: Path) -> Path:
    """Where a submission tries to write into the instructor's HOME (the course's name in it)."""
    return Path.home() / f"pwned-{course.name}.txt"


def writes_gradebook(course: Path) -> str:
    """rnn_cell_forward that overwrites the course's gradebook.db and writes into the course
    and the instructor's HOME, then copies the solution."""
    body = reads_solutions(course).split('"""\n', 1)[1]
    gradebook, marker = (course / "gradebook.db").resolve(), (course / "pwned.txt").resolve()
    home = home_marker(course)
    return f'''\
def rnn_cell_forward(xt, a_prev, parameters):
    """Vandalise the gradebook, then copy the answer."""
    for path, mode in (({str(gradebook)!r}, "r+b"), ({str(marker)!r}, "wb"), ({str(home)!r}, "wb")):
        try:
            with open(path, mode) as f:
                f.write(b"all full marks")
        except OSError:
            pass
{body}'''


@dataclass(frozen=True)
class Student:
    """A tampering student: the completed notebook with ``rnn_cell_forward`` replaced."""

    name: str
    function_source: Callable[[Path], str]
    tamper: str | None = None  # a cell added after the setup cell
    last: str | None = None  # a cell added at the end

    def notebook(self, course: Path) -> nbformat.NotebookNode:
        nb = submissions.replace_function(
            submissions.completed(ASSIGNMENT), WRONG, self.function_source(course)
        )
        nb = submissions.add_cell(nb, self.tamper, after="code_setup") if self.tamper else nb
        return submissions.add_cell(nb, self.last) if self.last else nb


HONEST = Student("honest_wrong", lambda _: WRONG_SOURCE)
TAMPERING = [Student(name, lambda _: WRONG_SOURCE, cell) for name, cell in TAMPERS.items()]
TAMPERING.append(Student("reads_solutions", reads_solutions))
# The check faked, then a cell nested too deep for Python's parser (MemoryError, not
# SyntaxError): the kernel shows the error and goes on; had it stopped the trusted verify,
# plain autograde would have kept the kernel's claims.
PARSER_BOMB = "x = " + "-" * 6000 + "1\ny = x" + "[0]" * 3000
TAMPERING.append(Student("parser_bomb", lambda _: WRONG_SOURCE, TAMPERS["check_redefined"], PARSER_BOMB))
WRITER = Student("writes_gradebook", writes_gradebook)
# Every grade cell shows its points, the last one more than it is worth: nbgrader cannot
# score that output and raised, after it had saved the claims of the cells before it.
OVER_THE_TOP = """\
def check(name, fn, hidden=False, points=None):
    if points is None:
        return None
    return 1e9 if name == "gru_forward" else float(points)
"""
UNSCORABLE = Student("unscorable_output", lambda _: WRONG_SOURCE, OVER_THE_TOP)
# plain nbgrader autograde runs the writer's function in its (sandboxed) kernel too
AUTOGRADED = [HONEST, *TAMPERING, WRITER, UNSCORABLE]


@dataclass
class Course:
    root: Path
    results: dict[str, list[CellResult]]  # student -> trusted verdicts


@pytest.fixture(scope="module")
def course(
    tmp_path_factory: pytest.TempPathFactory,
    run_nbgrader: Callable[..., subprocess.CompletedProcess],
    new_course: Callable[[Path], Path],
) -> Course:
    """A course in which every student of AUTOGRADED was autograded by nbgrader (in one call)
    and verified by the trusted step; the tests record the verdicts into the gradebook."""
    root = new_course(tmp_path_factory.mktemp("tampering") / "tampering_course")
    for student in AUTOGRADED:
        submit(root, student.name, ASSIGNMENT, student.notebook(root))
    start = time.perf_counter()
    run_nbgrader(root, "autograde", ASSIGNMENT, "--force")
    print(f"\nnbgrader autograde: {len(AUTOGRADED)} submissions in {time.perf_counter() - start:.1f} s")
    results = {s.name: verify_notebook(ASSIGNMENT, _submitted(root, s)) for s in AUTOGRADED}
    return Course(root, results)


def _submitted(root: Path, student: Student) -> Path:
    return root / "submitted" / student.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _auto_scores(root: Path, student: str) -> dict[str, float | None]:
    """grade id -> nbgrader's in-kernel auto score."""
    with Gradebook(db_url(root)) as gb:
        return {
            gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).auto_score
            for gid, _ in grade_cells(ASSIGNMENT).values()
        }


def _full_marks() -> dict[str, float]:
    return {gid: points for gid, points in grade_cells(ASSIGNMENT).values()}


def _honest() -> dict[str, float]:
    """The scores a submission with only rnn_cell_forward wrong deserves."""
    wrong_id = grade_cells(ASSIGNMENT)[WRONG][0]
    return {gid: 0.0 if gid == wrong_id else points for gid, points in _full_marks().items()}


def test_wrong_function_fails_in_kernel_without_tampering(course: Course) -> None:
    """The control: the same wrong function, handed in honestly, scores 0 under nbgrader."""
    assert _auto_scores(course.root, HONEST.name) == _honest()


def _flags(root: Path, student: str) -> list[tuple[str, float, float, str]]:
    """(grade id, the kernel's claim, the trusted score, reason) of each flag that plain
    ``nbgrader autograde`` wrote for ``student``."""
    with open(root / f"flags_{ASSIGNMENT}.csv", newline="", encoding="utf-8") as f:
        return [
            (r["grade_id"], float(r["nbgrader_score"]), float(r["trusted_score"]), r["reason"])
            for r in csv.DictReader(f)
            if r["student"] == student
        ]


@pytest.mark.parametrize("student", TAMPERING, ids=lambda s: s.name)
def test_tamper_fools_the_kernel_not_the_gradebook(course: Course, student: Student) -> None:
    """In the kernel the wrong function's grade cell claims full marks (the tamper works
    there); after plain `nbgrader autograde` alone the gradebook holds the honest score,
    and the claim is flagged."""
    wrong_id, points = grade_cells(ASSIGNMENT)[WRONG]
    assert _auto_scores(course.root, student.name) == _honest()
    flags = _flags(course.root, student.name)
    if student.name == "reads_solutions":  # the kernel's sandbox shows it no solutions/ at all
        assert flags == [], "a kernel that nbgrader started could read solutions/"
        return
    assert [f[:3] for f in flags] == [(wrong_id, points, 0.0)], (
        f"{student.name} no longer fools the kernel's grade cell; find a stronger tamper"
    )
    assert "tampering" in flags[0][3]


def test_an_output_nbgrader_cannot_score_leaves_no_claim_standing(course: Course) -> None:
    """A grade cell whose output nbgrader cannot score (more points than the cell is worth)
    gets no claim; the cells before it keep theirs only until the trusted verify, which
    still runs: the gradebook holds the honest scores, and both cells are flagged."""
    assert _auto_scores(course.root, UNSCORABLE.name) == _honest()
    with open(course.root / f"flags_{ASSIGNMENT}.csv", newline="", encoding="utf-8") as f:
        rows = {r["grade_id"]: r for r in csv.DictReader(f) if r["student"] == UNSCORABLE.name}
    cells = grade_cells(ASSIGNMENT)
    wrong_id, points = cells[WRONG]
    assert set(rows) == {wrong_id, cells["gru_forward"][0]}, rows
    assert (float(rows[wrong_id]["nbgrader_score"]), float(rows[wrong_id]["trusted_score"])) == (points, 0.0)
    unscored = rows[cells["gru_forward"][0]]
    assert unscored["nbgrader_score"] == "" and "produced no score" in unscored["reason"], unscored


@pytest.mark.parametrize("student", AUTOGRADED, ids=lambda s: s.name)
def test_verify_scores_honestly_and_flags(course: Course, student: Student) -> None:
    """The trusted verify gives 0 for the wrong function and full marks elsewhere, the same
    verdict nbgrader's autograde recorded; recording it again changes nothing."""
    results = course.results[student.name]
    assert {r.grade_id: r.score for r in results} == _honest()
    wrong = next(r for r in results if r.function == WRONG)
    assert "disagrees with the expected value" in wrong.outcome.message() or (
        "raised" in wrong.outcome.message()
    ), wrong.outcome.message()
    with Gradebook(db_url(course.root)) as gb:
        again = record(gb, ASSIGNMENT, student.name, results)
        final = {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student.name).score for gid in _full_marks()}
        total = gb.find_submission(ASSIGNMENT, student.name).score
    assert again == [], "the gradebook already held the trusted scores"
    assert final == _honest()
    assert total == sum(_honest().values())
    if student is HONEST:
        assert _flags(course.root, student.name) == [], "an honest submission is not flagged"


def test_tampering_is_dropped_when_loading(course: Course) -> None:
    """The tamper cells' statements never reach the sandbox: only definitions are loaded,
    so the wrong function is judged on what it computes (relative error 1 everywhere)."""
    for student in (s for s in TAMPERING if s.tamper):
        wrong = next(r for r in course.results[student.name] if r.function == WRONG)
        assert "relative error 1 " in wrong.outcome.message(), (student.name, wrong.outcome.message())


def _hidden_calls() -> list[dict]:
    _, plan, *_ = next(s for s in hidden_suite(ASSIGNMENT) if s[0].name == WRONG)
    return plan["calls"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sandbox_hides_solutions_and_gradebook(course: Course) -> None:
    """A function body that writes gradebook.db and execs the solution notebook gets nothing:
    bubblewrap shows it neither file, it scores 0, and the gradebook is byte-for-byte unchanged."""
    assert backend() == "bubblewrap", (
        "the trusted verify is running without bubblewrap, so student code could read solutions/ "
        "and write the gradebook: install it with `apt-get install bubblewrap`"
    )
    gradebook = course.root / "gradebook.db"
    assert gradebook.is_file()
    for path in _solution_paths(course.root):
        assert Path(path).is_file(), f"{path} must exist for this test to mean anything"
    before = _sha256(gradebook)
    path = submit(course.root, WRITER.name, ASSIGNMENT, WRITER.notebook(course.root))
    results = {r.function: r for r in verify_notebook(ASSIGNMENT, path)}
    assert _sha256(gradebook) == before, "student code changed gradebook.db"
    assert not (course.root / "pwned.txt").exists(), "student code wrote into the course folder"
    assert results[WRONG].score == 0.0
    message = results[WRONG].outcome.message()
    assert "your function raised" in message and "Error" in message, message
    assert results[WRONG].outcome.failed_cases == [c["label"] for c in _hidden_calls()], message
    assert {r.grade_id: r.score for r in results.values()} == _honest()


def test_verify_after_autograde_keeps_the_flags(course: Course) -> None:
    """`python -m autograder verify` after plain autograde finds the claims already replaced
    in the gradebook; the flags autograde wrote (the only record of the claims) stay."""
    import sys

    cmd = [sys.executable, "-m", "autograder", "verify", ASSIGNMENT, "--course", str(course.root)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=900)
    wrong_id, points = grade_cells(ASSIGNMENT)[WRONG]
    for student in TAMPERING:
        if student.name != "reads_solutions":
            assert [f[:3] for f in _flags(course.root, student.name)] == [(wrong_id, points, 0.0)], (
                student.name
            )
    assert _auto_scores(course.root, HONEST.name) == _honest()


def test_plain_autograde_changes_nothing_of_the_course_or_home(course: Course) -> None:
    """The writer's function ran in plain nbgrader autograde's kernel (its self-check and grade
    cells call it): the gradebook is intact, nothing was written into the course or HOME, and
    it earned nothing for the function."""
    assert not (course.root / "pwned.txt").exists()
    assert not home_marker(course.root).exists()
    assert _auto_scores(course.root, WRITER.name) == _honest()


# appended to a course's nbgrader_config.py: the grader's machine fails as it can (no
# sandbox, a full disk): the verify of every student, saving s2's claims at its third cell
BROKEN_GRADER = """
import autograder.instructor.preprocessors as _pre
import autograder.instructor.verify as _verify


def _no_sandbox(*args, **kwargs):
    raise OSError("bwrap: cannot create the sandbox (the test broke the verify)")


_verify.verify_notebook = _no_sandbox
_add_score, _saved = _pre.SaveAutoGradesSafely._add_score, []


def _add_score_until_the_disk_fills(self, cell, resources):
    if self.student_id == "s2":
        if len(_saved) == 2:
            raise OSError("disk full (the test broke the gradebook)")
        _saved.append(cell)
    return _add_score(self, cell, resources)


_pre.SaveAutoGradesSafely._add_score = _add_score_until_the_disk_fills
"""


def test_a_grader_that_fails_leaves_zeros_not_the_kernels_claims(
    tmp_path: Path, new_course: Callable[..., Path]
) -> None:
    """Two correct notebooks, whose kernels claim full marks. When the trusted verify fails
    (s1), plain ``nbgrader autograde`` fails that submission saying why and how to regrade
    it, and the gradebook holds 0 for every grade cell, each flagged with the claim it
    replaced. When saving the claims fails part-way (s2: nbgrader commits cell by cell),
    the verify never runs, and the gradebook holds 0 too, not the claims saved so far."""
    root = new_course(tmp_path / "course", (ASSIGNMENT,))
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(BROKEN_GRADER)
    for student in ("s1", "s2"):
        submit(root, student, ASSIGNMENT, submissions.completed(ASSIGNMENT))
    run = nbgrader(root, "autograde", ASSIGNMENT, timeout=600)
    log = run.stdout + run.stderr
    assert run.returncode != 0, log[-3000:]
    assert "the trusted verify of s1 failed" in log and "--force --student=s1" in log, log[-3000:]
    assert "the test broke the gradebook" in log, log[-3000:]
    with Gradebook(db_url(root)) as gb:
        for student in ("s1", "s2"):
            scores = {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).score for gid in _full_marks()}
            assert scores == dict.fromkeys(_full_marks(), 0.0), (student, scores)
            assert gb.find_submission(ASSIGNMENT, student).score == 0.0
    flags = _flags(root, "s1")
    assert [f[:3] for f in flags] == [(gid, points, 0.0) for gid, points in _full_marks().items()]
    for *_, reason in flags:
        assert "could not judge" in reason and "the test broke the verify" in reason, reason
    assert _flags(root, "s2") == []
