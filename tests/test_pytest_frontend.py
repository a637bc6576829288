"""The pytest front end of the trusted verify: ``python -m pytest autograder --submission PATH``.

Run as a student or an instructor would, in a subprocess from the repository root:
the untouched release fails one test per graded function, each naming the
function and saying NotImplementedError; a completed notebook passes; several
``--submission`` options grade several notebooks in one run, each test
reporting its own notebook and function.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.instructor import submissions
from autograder.instructor.verify import grade_cells
from autograder.student.paths import release_notebook

ROOT = Path(__file__).resolve().parents[1]
NOT_IMPLEMENTED = "NotImplementedError: replace `raise NotImplementedError()` with your code"


def run_frontend(*submission_paths: Path, **extra_env: str) -> subprocess.CompletedProcess:
    """``python -m pytest autograder -rA --submission ...`` from the repository root."""
    args = [a for p in submission_paths for a in ("--submission", str(p))]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONWARNINGS"))
    }  # no settings of the outer pytest
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "autograder", "-rA", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def statuses(output: str) -> dict[tuple[str, str], str]:
    """(submission path, function) -> PASSED/FAILED, from the -rA summary."""
    found = re.findall(
        r"^(PASSED|FAILED) autograder/test_submission\.py::test_function\[(.+)::(\w+)\]", output, re.M
    )
    return {(path, function): status for status, path, function in found}


def completed_notebook(folder: Path, assignment: str) -> Path:
    path = folder / f"{assignment}.ipynb"
    nbformat.write(submissions.completed(assignment), path)
    return path


def test_release_fails_every_check() -> None:
    """The blank release: exit code 1, one failure per graded function, each saying
    NotImplementedError under the function's name."""
    path = release_notebook("assign_5a")
    result = run_frontend(path)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    functions = list(grade_cells("assign_5a"))
    assert statuses(out) == {(str(path), f): "FAILED" for f in functions}, out[-3000:]
    for function in functions:
        assert f"{function} is not right yet." in out
        assert f"{function} is not right yet.\n  - case '" in out
    assert out.count(NOT_IMPLEMENTED) >= len(functions)
    assert f"{len(functions)} failed" in out and "passed" not in out.splitlines()[-1]


def test_completed_notebook_passes(tmp_path: Path) -> None:
    """The release with the solutions filled in: exit code 0, every function passes."""
    path = completed_notebook(tmp_path, "assign_5a")
    result = run_frontend(path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert statuses(out) == {(str(path), f): "PASSED" for f in grade_cells("assign_5a")}
    assert f"{len(grade_cells('assign_5a'))} passed" in out.splitlines()[-1]


def test_several_submissions_at_once(tmp_path: Path) -> None:
    """Two notebooks of different assignments in one run (each inferred from its file name):
    the blank one fails on every function, the completed one passes on every function."""
    blank, done = release_notebook("assign_5a"), completed_notebook(tmp_path, "assign_5b")
    result = run_frontend(blank, done)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    expected = {(str(blank), f): "FAILED" for f in grade_cells("assign_5a")}
    expected |= {(str(done), f): "PASSED" for f in grade_cells("assign_5b")}
    assert statuses(out) == expected, out[-3000:]
    n_failed, n_passed = len(grade_cells("assign_5a")), len(grade_cells("assign_5b"))
    assert f"{n_failed} failed, {n_passed} passed" in out.splitlines()[-1]


def test_refuses_without_the_sandbox(tmp_path: Path) -> None:
    """Without bubblewrap the front end runs nothing and says how to fix it."""
    path = tmp_path / "assign_5a.ipynb"
    nbformat.write(submissions.completed("assign_5a"), path)
    run = run_frontend(path, AUTOGRADER_SANDBOX="subprocess")
    assert run.returncode != 0
    assert "Refusing to run student code" in run.stdout + run.stderr
    assert "apt-get install bubblewrap" in run.stdout + run.stderr
