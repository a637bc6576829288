"""The student side never imports the instructor side: an import-linter contract, enforced.

The student side (``sandbox.STUDENT_SIDE``: what a notebook, a grading kernel and a
sandbox import, and what the student wheel ships) must not reach the reference, the
mistake catalogue or the hidden cases, not even through a lazy import inside a function.
The contract lives in pyproject.toml; these tests run it, prove it is not blind, and keep
its list of modules and the sandbox's in step.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from autograder.sandbox import STUDENT_SIDE

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: import-linter's own dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograder"


def contract() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"][0]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` (its own pyproject.toml)."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_contract_is_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


def test_the_contract_names_the_student_side_and_every_other_module() -> None:
    """Its source modules are exactly what the sandbox and the wheel copy; every other
    module of the package is forbidden to them (a new module must be placed on a side)."""
    sources = set(contract()["source_modules"])
    assert sources == {f"autograder.{n[:-3]}" for n in STUDENT_SIDE if n != "__init__.py"}
    everything = {f"autograder.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert set(contract()["forbidden_modules"]) == everything - sources


def test_a_lazy_import_of_the_instructor_side_fails_with_a_readable_message(tmp_path: Path) -> None:
    """The contract is not blind: a student-side module that imports the hidden cases inside
    a function (the shape of the old plain-nbgrader fallback) breaks it, and the message
    names both modules."""
    shutil.copytree(PACKAGE, tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.npz"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    checks = tmp_path / "autograder" / "checks.py"
    checks.write_text(
        checks.read_text()
        + "\n\ndef _hidden_path(assignment):\n"
        + "    from autograder.expected import hidden_vectors\n\n"
        + "    return hidden_vectors(assignment)\n"
    )
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert "BROKEN" in run.stdout and "autograder.checks -> autograder.expected" in run.stdout, run.stdout
