"""Hostile notebooks graded with ``python -m autograder grade``: nothing they do reaches
the course, the grader, another student or the network, and nothing of the solution
reaches them.

Each attacker hands in the blank release plus one cell of attack, so any solution
text found in what they get back is a leak. The honest and victim students keep
their exact scores, the course's files stay byte-identical, and no process an
attacker started outlives grading. The attackers are graded in the same class as
``test_grade_class``'s students (``tests/adversarial.py``), once per test run; the tests
of that class share its xdist group (conftest.py), the others run on either worker.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from adversarial import MARKER, GradedClass, pth_files, running_with, tree_hashes
from nbgrader.api import Gradebook
from partial import trusted_score
from solution_text import readable_text, solution_lines

from autograder.instructor import cgroups
from autograder.instructor.course import db_url
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.preprocessors import clean_feedback_html
from autograder.instructor.verify import grade_cells
from autograder.student.paths import course_root, solution_notebook
from autograder.student.specs import ASSIGNMENTS

A = "assign_5a"
POINTS = {fn: p for fn, (_, p) in grade_cells(A).items()}
# Lines of the reference solution that no release notebook contains.
SOLUTION_LINES = ("np.tanh(Waa @ a_prev + Wax @ xt + ba)", "h_tilde = np.tanh(")


@pytest.fixture(scope="module")
def attacked(graded_class: GradedClass):
    g = graded_class
    return g.course, g.attacks, g.run, g.before, g.after, g.config, g.pth, g.received


def test_honest_victim_and_attackers_get_exact_scores(attacked) -> None:
    course, attacks, *_ = attacked
    with Gradebook(db_url(course)) as gb:
        for student in ("honest", "victim", "buggy", *attacks):
            got = {fn: gb.find_grade(gid, A, A, student).score for fn, (gid, _) in grade_cells(A).items()}
            want = POINTS if student in ("honest", "victim") else dict.fromkeys(POINTS, 0.0)
            if student == "buggy":  # the catalogue's first gru_cell_forward mistake, partly right
                swapped = CATALOG["gru_cell_forward"][0].edits
                want = {**POINTS, "gru_cell_forward": trusted_score(A, "gru_cell_forward", swapped)}
            assert got == want, (student, got)


def test_course_package_and_python_are_unchanged(attacked) -> None:
    course, _, _, before, after, config, pth, _ = attacked
    assert after == before
    assert (course / "nbgrader_config.py").read_bytes() == config
    assert pth_files() == pth
    assert not list(course.rglob("big*.bin")) and not Path("/tmp/planted").exists()


def test_grading_leaves_no_temporary_files(graded_class: GradedClass) -> None:
    # the verify's job folders, the kernels' libraries: made by the grader and its forked
    # workers, removed by whichever process made them when it ends
    assert graded_class.leftovers == []


def test_no_attacker_process_survives(attacked) -> None:
    course, *_ = attacked
    assert not running_with(MARKER)
    # the daemons did start: they said so before grading ended (else this test proves nothing)
    assert "daemon started" in (course / "autograded" / "leaves_a_daemon" / A / f"{A}.ipynb").read_text()


def test_the_kernel_gets_a_clean_environment(attacked) -> None:
    """Nothing of the grader's environment (HOME, PATH, tokens, pytest's variables), except
    NBGRADER_EXECUTION, which notebooks read to shorten training under the grader."""
    course, *_ = attacked
    text = (course / "autograded" / "reads_the_environment" / A / f"{A}.ipynb").read_text()
    env = dict(ast.literal_eval(re.search(r"ENVIRONMENT (\[.*?\])\\n", text).group(1)))
    assert env["NBGRADER_EXECUTION"] == "autograde"
    assert env["HOME"] == "/home/student" and env["PATH"] == "/usr/bin:/bin"
    passed_on = ("PATH", "LANG", "TERM", "NBGRADER_EXECUTION")  # the last may be set here by a test
    leaked = {k for k, v in os.environ.items() if env.get(k) == v and k not in passed_on}
    assert not leaked, leaked


def test_a_kernel_writes_nothing_to_the_graders_terminal(attacked) -> None:
    """Raw bytes a kernel writes to its own stdout and stderr reach neither the grader's
    terminal nor its log: no forged line, no escape sequence."""
    _, _, run, *_ = attacked
    assert "FORGED-BY-A-KERNEL" not in run.stdout + run.stderr


def test_no_network(attacked) -> None:
    *_, received = attacked
    assert received == []


def test_nothing_of_the_solution_comes_back(attacked) -> None:
    course, attacks, *_ = attacked
    assert SOLUTION_LINES[0] in solution_notebook(A).read_text()  # the probe is a real solution line
    for student in attacks:
        for kind in ("autograded", "feedback"):
            for path in (course / kind / student).rglob("*.*"):
                text = path.read_text(errors="replace")
                for line in SOLUTION_LINES:
                    assert line not in text, f"{student}'s {kind} {path.name} holds {line!r}"


def _printed(course: Path, student: str, pattern: str) -> int | None:
    text = (course / "autograded" / student / A / f"{A}.ipynb").read_text()
    found = re.search(pattern, text)
    return int(found.group(1)) if found else None


def test_processes_and_memory_are_bounded_per_submission(attacked) -> None:
    """With cgroups, a submission gets 128 tasks and 4 GB in all, however many processes it
    spreads them over (the hog is stopped, or its kernel is, with what it holds)."""
    course, _, run, *_ = attacked
    if not cgroups.available():
        assert "per-process rlimits only" in run.stdout  # the instructor is told
        return
    assert "cgroup" in run.stdout
    forked = _printed(course, "fork_storm", r"forked (\d+) processes")
    assert forked is not None and forked < 128
    holding = _printed(course, "memory_hog", r"holding (\d+) GB at once")
    assert holding is None or holding <= 4  # None: the kernel itself was stopped


def test_student_text_is_escaped_in_feedback(attacked) -> None:
    course, *_ = attacked
    html = (course / "feedback" / "prints_helper_source" / A / f"{A}.html").read_text()
    # live markup only: the same text escaped (in the code cell, in the message) is harmless
    assert "<script>alert('owned')" not in html  # an exception message, in the trusted summary
    assert "<script>alert('owned2')" not in html and "<img src=x onerror" not in html  # displayed HTML
    assert "raised ValueError: &lt;script&gt;alert('owned')" in html  # the message is shown, as text


@pytest.mark.parametrize(
    ("markup", "forbidden"),
    [
        ("<p>hi<script>alert(1)</script></p>", "<script"),
        ("<img src=x onerror=alert(3)>", "onerror"),
        ('<img src="https://tracker.example/p.png">', "tracker"),  # no request leaves the page
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "svg"),  # SVG can carry script
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<a href="data:text/html,x">x</a>', "data:"),
        ('<h1 onclick="x()" style="position:fixed">x</h1>', "onclick"),
        ('<div style="position:fixed;top:0">x</div>', "position"),
        ("<iframe src=https://example.org></iframe>", "<iframe"),
    ],
)
def test_feedback_html_keeps_markdown_and_drops_the_rest(markup: str, forbidden: str) -> None:
    """The feedback's sanitizer keeps what markdown renders to (a student's answers, the
    course's text and figures) and drops scripts, handlers, styles and outside requests."""
    assert forbidden not in clean_feedback_html(markup)
    kept = '<h2 id="t">T</h2><p>a <em>b</em></p><table><thead><tr><th>x</th></tr></thead></table>'
    assert clean_feedback_html(kept) == kept
    figure = '<img alt="f" src="data:image/png;base64,iVBORw0KGgo=">'
    assert clean_feedback_html(figure) == figure


def test_the_front_end_and_verify_contain_the_same_attack(attacked, tmp_path: Path) -> None:
    """The function-level attack through ``pytest autograder --submission`` and ``verify``:
    the same sandbox, so the same nothing: course unchanged, no daemon, no network."""
    course, attacks, _, before, *_, received = attacked
    notebook = tmp_path / f"{A}.ipynb"
    notebook.write_bytes((course / "submitted" / "attacks_from_a_function" / A / f"{A}.ipynb").read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONWARNINGS"))}
    front = [sys.executable, "-m", "pytest", "autograder", "-q", "--submission", str(notebook)]
    run = subprocess.run(front, cwd=course_root(), capture_output=True, text=True, env=env, timeout=600)
    assert "rnn_cell_forward" in run.stdout and "alert(" in run.stdout, run.stdout[-2000:]
    verify = [sys.executable, "-m", "autograder", "verify", A, "--course", str(course)]
    verify += ["--student", "attacks_from_a_function"]
    assert subprocess.run(verify, capture_output=True, text=True, timeout=600).returncode == 0
    watched = [course / "solutions", course / "submitted"]
    assert tree_hashes(*watched, course_root() / "autograder", course_root() / "solutions") == before
    assert not running_with(MARKER) and received == []
    assert not list(course.rglob("big*.bin")) and not Path("/tmp/planted").exists()


def test_grading_refuses_without_the_sandbox(tmp_path: Path) -> None:
    """With bubblewrap unavailable, grade says why in one line and runs nothing."""
    env = {**os.environ, "AUTOGRADER_SANDBOX": "subprocess"}
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode != 0
    assert "Refusing to run student code" in run.stderr and "apt-get install bubblewrap" in run.stderr


def verify_job_files(assignment: str) -> dict[str, bytes]:
    """Every file of the trusted verify's job folder (what its sandbox reads at /in)."""
    from autograder.instructor.sandbox import _job_folder
    from autograder.instructor.verify import hidden_tasks

    folder = _job_folder(hidden_tasks(assignment))
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_plain_nbgrader_autograde_refuses_without_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_course
) -> None:
    """The course's nbgrader_config.py starts every kernel in the sandbox: with bubblewrap
    unavailable, plain `nbgrader autograde` runs no student code and says why and how to fix it."""
    from autograder.instructor import submissions
    from autograder.instructor.course import nbgrader, submit

    course = new_course(tmp_path / "course")
    marker = tmp_path / "ran.txt"
    nb = submissions.add_cell(submissions.completed(A), f"open({str(marker)!r}, 'w').write('ran')")
    submit(course, "alice", A, nb)
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "subprocess")
    run = nbgrader(course, "autograde", A, timeout=300)
    assert run.returncode != 0 and not marker.exists()
    log = run.stdout + run.stderr
    assert "Refusing to run student code" in log and "apt-get install bubblewrap" in log


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nothing_a_sandbox_can_read_holds_solution_text(assignment: str, tmp_path: Path) -> None:
    """Every file the kernel's sandbox is given (the student library, the data) and every
    file of a verify job holds none of the reference's distinctive lines, nor any edit
    string of the mistake catalogue."""
    from autograder.instructor.sandbox import student_library

    lines = solution_lines(assignment)
    assert len(lines) > 10, "the probe needs real solution lines"
    library = student_library(tmp_path / "library")
    files = {str(p): p.read_bytes() for p in library.rglob("*") if p.is_file()}
    files.update(verify_job_files(assignment))
    texts = {k: v for name, data in files.items() for k, v in readable_text(name, data).items()}
    assert not [name for name in texts if name.endswith(("reference.py", "mistakes.py", "expected.py"))]
    for name, text in texts.items():
        leaked = sorted(ln for ln in lines if ln in text)
        assert not leaked, f"{name} holds solution text: {leaked[:3]}"


def hidden_answers(assignment: str) -> dict[str, bytes]:
    """The bytes of every answer of the hidden cases: the reference's outputs, the
    distributions ``sample`` is judged by, and what each replayed helper returned, less
    the arrays that are also inputs (a cache holds its ``xt``) and arrays of fewer than
    four distinct numbers, whose bytes any file of zeros or one-hot columns holds."""
    import numpy as np

    from autograder.instructor.expected import hidden_suite
    from autograder.student.runner import decode, flatten

    answers: dict[str, bytes] = {}
    for spec, plan, arrays, expected in hidden_suite(assignment):
        inputs = {np.asarray(arrays[k]).tobytes() for k in array_refs_of(plan)}
        found = {k: v for k, v in expected.items() if not k.startswith(("mistake", "num/"))}
        for call in plan["calls"]:
            for name, records in call.get("helpers", {}).items():
                for i, rec in enumerate(records):
                    flatten(decode(rec["out"], arrays), f"{call['label']}/{name}/{i}", found, {})
        for key, value in found.items():
            value = np.asarray(value)
            # an answer, not a pattern any array holds (zeros, a one-hot column)
            distinct = value.dtype.kind == "f" and np.unique(value).size >= 4
            if distinct and value.tobytes() not in inputs:
                answers[f"{spec.name}::{key}"] = value.tobytes()
    return answers


def array_refs_of(plan: dict) -> list[str]:
    from autograder.student.runner import array_refs

    return array_refs([[c["args"], c.get("kwargs", {})] for c in plan["calls"]])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_answer_reaches_a_sandbox(assignment: str, tmp_path: Path) -> None:
    """Neither the grading kernel's sandbox nor the verify's holds an answer of the hidden
    cases: no expected output, no record of what a replayed helper returned, in any file
    they can read, byte for byte (a packed array lies whole inside its file)."""
    from autograder.instructor.sandbox import student_library

    answers = hidden_answers(assignment)
    assert len(answers) > 20, "the probe needs real answers"
    library = student_library(tmp_path / "library")
    files = {str(p): p.read_bytes() for p in library.rglob("*") if p.is_file()}
    files.update(verify_job_files(assignment))
    for name, data in files.items():
        found = [key for key, answer in answers.items() if answer in data]
        assert not found, f"{name} holds answers of the hidden cases: {found[:5]}"
