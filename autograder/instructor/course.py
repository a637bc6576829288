"""A course directory in nbgrader's layout, and the nbgrader commands run on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.student.paths import course_root
from autograder.student.specs import ASSIGNMENTS


def make_course(root: Path, assignments: tuple[str, ...] = ASSIGNMENTS) -> Path:
    """A fresh course at ``root``: the config and ``solutions/`` copied, the release of
    ``assignments`` generated from them by nbgrader as an instructor would (each takes
    seconds, so a test that grades one assignment releases only that one)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(course_root() / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(course_root() / "solutions", root / "solutions", dirs_exist_ok=True)
    for assignment in assignments:
        done = nbgrader(root, "generate_assignment", assignment, "--force")
        if done.returncode:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed in {root} (is this package "
                f"installed where nbgrader's Python finds it? `pip install -e .`):\n{done.stderr[-2000:]}"
            )
    return root


def submit(root: Path, student: str, assignment: str, nb: nbformat.NotebookNode | str) -> Path:
    """Place a submission where ``nbgrader collect`` would: submitted/<student>/<assignment>/.

    ``nb`` may be raw text, to hand in files that are not valid notebooks.
    """
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
    return path


def nbgrader(
    root: Path, *args: str, db_url: str | None = None, timeout: float | None = None, **popen
) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in the course at ``root`` (its config applies)."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    if db_url:
        cmd.append(f"--CourseDirectory.db_url={db_url}")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, env=env, timeout=timeout, check=False, **popen
    )


def course_config(root: Path):
    """The traitlets config of ``root``'s nbgrader_config.py, as nbgrader loads it."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def db_url(root: Path) -> str:
    return f"sqlite:///{(root / 'gradebook.db').resolve()}"


def gradebook_url(root: Path, explicit: str | None = None) -> str:
    """The course's gradebook: ``explicit`` (``--db-url``), else the ``CourseDirectory.db_url``
    of the course's ``nbgrader_config.py`` (what plain nbgrader commands use), else
    ``gradebook.db`` in the course folder."""
    if explicit:
        return explicit
    from traitlets.config.loader import PyFileConfigLoader

    if (root / "nbgrader_config.py").exists():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        if "db_url" in config.CourseDirectory:
            return str(config.CourseDirectory.db_url)
    return db_url(root)
