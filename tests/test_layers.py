"""The tree shows the boundary, and import-linter enforces it.

``autograder/student/`` (what a notebook, a grading kernel and a sandbox import, and what
the student wheel ships) must not reach ``autograder/instructor/`` (the reference, the
mistake catalogues, the hidden cases), not even through a lazy import inside a function;
and no module of the package may be part of an import circle. The contracts live in
pyproject.toml; these tests run them, prove they are not blind, and check that the sandbox
copies the student side as a whole folder and that assignments are found by looking.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.instructor.sandbox import copy_student_side
from autograder.student.paths import release_notebook, solution_notebook, vectors_file
from autograder.student.specs import ASSIGNMENTS, specs_for

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograder"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` (its own pyproject.toml)."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    """The package and its contracts, copied, to be broken on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.npz"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_are_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_a_lazy_import_of_the_instructor_side_fails_with_a_readable_message(package_copy: Path) -> None:
    """The contract is not blind: a student-side module that imports the hidden cases inside
    a function (the shape of the old plain-nbgrader fallback) breaks it, and the message
    names both modules."""
    checks = package_copy / "autograder" / "student" / "checks.py"
    checks.write_text(
        checks.read_text()
        + "\n\ndef _hidden_path(assignment):\n"
        + "    from autograder.instructor.expected import hidden_vectors\n\n"
        + "    return hidden_vectors(assignment)\n"
    )
    run = lint_imports(package_copy)
    assert run.returncode != 0
    assert "BROKEN" in run.stdout
    assert "autograder.student.checks -> autograder.instructor.expected" in run.stdout, run.stdout


def test_an_import_circle_fails(package_copy: Path) -> None:
    """The other contract is not blind either: the report module reaching back into the
    class grader that imports it (a circle this package once had) breaks it."""
    report = package_copy / "autograder" / "instructor" / "report.py"
    report.write_text(report.read_text() + "\n\ndef _later():\n    from autograder.instructor import grade\n")
    run = lint_imports(package_copy)
    assert run.returncode != 0
    assert "No import circles BROKEN" in run.stdout, run.stdout


def test_the_sandbox_gets_the_student_side_as_a_whole_folder(tmp_path: Path) -> None:
    """Every file of ``autograder/student/`` (a module added there tomorrow included), the
    package's ``__init__``, and nothing of the instructor's side."""
    copied = copy_student_side(tmp_path)
    got = {p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()}
    student = PACKAGE / "student"
    want = {
        p.relative_to(PACKAGE).as_posix()
        for p in student.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and "data" not in p.relative_to(student).parts
    }
    assert got == want | {"__init__.py"}
    assert not [name for name in got if name.startswith("instructor")]


def test_assignments_are_found_by_looking() -> None:
    """An assignment is a module in ``autograder/student/assignments/`` and one in
    ``autograder/instructor/mistakes/``, with its two notebooks and its public vectors:
    the list the whole package (and this suite) uses is what those folders hold."""
    from autograder.instructor.mistakes import CATALOG

    modules = sorted(p.stem for p in (PACKAGE / "student" / "assignments").glob("assign_*.py"))
    assert list(ASSIGNMENTS) == modules and len(modules) >= 2
    catalogues = sorted(p.stem for p in (PACKAGE / "instructor" / "mistakes").glob("assign_*.py"))
    assert catalogues == modules
    for assignment in ASSIGNMENTS:
        specs = specs_for(assignment)
        assert specs and all(s.assignment == assignment for s in specs)
        assert all(s.name in CATALOG for s in specs)
        for path in (solution_notebook(assignment), release_notebook(assignment), vectors_file(assignment)):
            assert path.is_file(), path
