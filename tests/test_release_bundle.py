"""``python -m autograder release``: the student bundle holds what a student needs and no
solution text, and its wheel works on its own in a fresh virtual environment."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
from solution_text import files_text, solution_lines

import autograder
from autograder.student.paths import solution_notebook
from autograder.student.specs import ASSIGNMENTS

pytestmark = pytest.mark.xdist_group("release_bundle")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "student"
    cmd = [sys.executable, "-m", "autograder", "release", "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Student bundle" in run.stdout
    return out


def test_the_bundle_holds_what_a_student_needs(bundle: Path) -> None:
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    (wheel,) = [f for f in files if f.endswith(".whl")]
    assert files == {
        "README.md",
        "requirements.txt",
        "data/element_list.txt",
        "data/movie_title_list.txt",
        *(f"notebooks/{a}.ipynb" for a in ASSIGNMENTS),
        wheel,
    }
    assert {"assign_5a", "assign_5b", "assign_5c"} <= set(ASSIGNMENTS)
    requirements = (bundle / "requirements.txt").read_text().split()
    assert requirements[0] == f"./{wheel}"
    assert not [
        r for r in requirements if r.startswith(("nbgrader", "pytest", "ruff"))
    ]  # no instructor tools
    assert (bundle.parent / "student.zip").exists()
    with zipfile.ZipFile(bundle / wheel) as archive:
        modules = {n for n in archive.namelist() if n.startswith("autograder/") and n.endswith(".py")}
        package = Path(autograder.__file__).parent
        student_side = {"autograder/__init__.py"} | {
            f"autograder/{p.relative_to(package).as_posix()}" for p in (package / "student").rglob("*.py")
        }
        assert modules == student_side  # the student side, the whole folder, nothing else
        assert {n for n in archive.namelist() if n.endswith(".npz")} == {
            f"autograder/student/vectors/{a}.npz" for a in ASSIGNMENTS
        }


def test_no_file_of_the_bundle_holds_solution_text(bundle: Path) -> None:
    """Every file, every member of the wheel and of the zip, searched for the reference's
    distinctive lines and the mistake catalogue's edit strings (those that neither
    release notebook holds: a release provides some code of its own), in notebooks as
    their cells read, not only JSON-escaped."""
    lines = {line for a in ASSIGNMENTS for line in solution_lines(a)}
    assert len(lines) > 20, "the probe needs real solution lines"
    assert any(line in solution_notebook("assign_5b").read_text() for line in lines)  # a real probe
    texts = files_text(bundle.parent)  # the folder and student.zip
    assert any(name.endswith(".whl!autograder/student/checks.py") for name in texts)
    assert not [n for n in texts if n.endswith(("reference.py", "mistakes.py", "expected.py", "solutions"))]
    for name, text in texts.items():
        leaked = sorted(line for line in lines if line in text)
        assert not leaked, f"{name} holds solution text: {leaked[:3]}"


def test_the_wheel_works_on_its_own(bundle: Path, tmp_path: Path) -> None:
    """In a fresh venv holding only the wheel (and NumPy), far from the repository, the
    checks judge a function and the data is found."""
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    wheel = next((bundle / "wheels").glob("*.whl"))
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)]
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # nothing of this repository's
    run = subprocess.run(install, capture_output=True, text=True, env=clean, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    solution = nbformat.read(solution_notebook("assign_5a"), as_version=4)
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in solution.cells}
    script = "\n".join(
        [
            source["code_setup"],
            source["rnn_cell_forward"],
            "import autograder, autograder.student.paths",
            "print(autograder.__file__)",
            "print(autograder.student.paths.data_file('element_list.txt').read_text().split()[0])",
            'check("rnn_cell_forward", rnn_cell_forward)',
            "def wrong(xt, a_prev, parameters):",
            "    return rnn_cell_forward(xt, 0 * a_prev, parameters)",
            "try:",
            '    check("rnn_cell_forward", wrong)',
            "except AssertionError as e:",
            "    print('CAUGHT', e)",
            'check("rnn_cell_forward", rnn_cell_forward, hidden=True)',
        ]
    )
    run = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path, env=clean, timeout=300
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert str(env) in lines[0]  # the wheel's package, not the repository's
    assert lines[1] == "Hydrogen"
    assert "rnn_cell_forward" in lines[2]  # the check's confirmation
    assert any(line.startswith("CAUGHT") for line in lines)
    # no hidden case ships: the grade cell's hidden check only says where they run
    assert any(line.startswith("Hidden tests: not run in this notebook") for line in lines)
