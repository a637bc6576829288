"""``python -m autograder release``: what students get, and nothing of the solutions.

Writes ``dist/student/`` and ``dist/student.zip``:

- ``notebooks/``: the release notebooks (``nbgrader generate_assignment``'s output);
- ``data/``: the names the language model trains on;
- ``wheels/rnn_course_checks-*.whl``: the student side of this package (the check
  library, its public vectors, the numerical gradient check, the course data),
  installable on its own, e.g. into a JupyterHub image;
- ``requirements.txt``: that wheel, NumPy, matplotlib and JupyterLab, nothing more;
- ``README.md``: install, then ``jupyter lab``.

No file of it holds solution text: no ``solutions/``, no reference, no hidden
cases, no mistake catalogue (``tests/test_release_bundle.py`` searches every file,
and the wheel's, for the reference's distinctive lines).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.instructor.sandbox import copy_student_side
from autograder.student.paths import course_root, release_notebook
from autograder.student.specs import ASSIGNMENTS, title

NAME = "rnn-course-checks"
VERSION = "0.1.0"
STUDENT_REQUIREMENTS = ["numpy>=1.24,<3", "matplotlib>=3.7,<4", "jupyterlab>=4,<5"]

STUDENT_README = """# Recurrent networks from scratch

One notebook per assignment:

{notebooks}

Under each function you write, a check cell tells you whether it is right, and if not,
which output is wrong and what to look at.

```bash
pip install -r requirements.txt     # NumPy, matplotlib, JupyterLab and the checks
jupyter lab notebooks/
```

Run the notebook from the top (Run > Run All Cells); it stops at the first function
you have not written yet. Hand in the `.ipynb` file as your course asks.
"""

PYPROJECT = f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{NAME}"
version = "{VERSION}"
description = "Self-checks of the course on recurrent networks from scratch (no solutions)."
requires-python = ">=3.10"
dependencies = ["numpy>=1.24"]

[tool.setuptools]
packages = ["autograder", "autograder.student", "autograder.student.assignments"]

[tool.setuptools.package-data]
"autograder.student" = ["vectors/*.npz", "data/*.txt"]
"""


def build_wheel(dest: Path) -> Path:
    """A wheel of the student side of the package, with the public vectors and the data
    inside it (``paths.data_file`` finds them there); returns its path."""
    with tempfile.TemporaryDirectory(prefix="student-wheel-") as tmp:
        stage = Path(tmp)
        (stage / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        student = copy_student_side(stage) / "student"
        (student / "data").mkdir()
        for txt in sorted((course_root() / "data").glob("*.txt")):
            shutil.copy(txt, student / "data" / txt.name)
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(stage)]
        run = subprocess.run([*cmd, "-w", str(dest)], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"building the student wheel failed:\n{run.stderr[-2000:]}")
    return next(dest.glob(f"{NAME.replace('-', '_')}-{VERSION}-*.whl"))


# An assignment whose provided (read-only) code answers another one's graded functions:
# released only after that one's deadline. assign_5b's provided cell holds rnn_forward,
# 5a's answer (tests/test_notebook_text.py finds every such function and checks this list).
CARRIES_ANSWERS_OF: dict[str, dict[str, tuple[str, ...]]] = {"assign_5b": {"assign_5a": ("rnn_forward",)}}


def release_warnings(assignments: tuple[str, ...]) -> list[str]:
    """What a bundle of ``assignments`` gives away: another assignment's answers."""
    return [
        f"{a} contains {', '.join(names)}, graded in {other}: release {a} only after {other}'s deadline"
        for a in assignments
        for other, names in CARRIES_ANSWERS_OF.get(a, {}).items()
    ]


def build_bundle(out: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> Path:
    """Write the student bundle of ``assignments`` to ``out`` (replaced) and ``out``.zip;
    return the zip."""
    if out.exists():
        shutil.rmtree(out)
    (out / "notebooks").mkdir(parents=True)
    for assignment in assignments:
        shutil.copy(release_notebook(assignment), out / "notebooks" / f"{assignment}.ipynb")
    shutil.copytree(course_root() / "data", out / "data", ignore=shutil.ignore_patterns("README.md"))
    wheel = build_wheel(out / "wheels")
    requirements = [f"./wheels/{wheel.name}", *STUDENT_REQUIREMENTS]
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    notebooks = "\n".join(f"- `notebooks/{a}.ipynb`: {title(a)}" for a in ASSIGNMENTS)
    (out / "README.md").write_text(STUDENT_README.format(notebooks=notebooks), encoding="utf-8")
    return Path(shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name))


def main(out: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> int:
    archive = build_bundle(out.resolve(), assignments)
    print(f"Student bundle of {', '.join(assignments)}: {out}/ and {archive}")
    for warning in release_warnings(assignments):
        print(f"  Note: {warning}.")
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(out)}  ({path.stat().st_size:,} bytes)")
    return 0
