"""Where the course's files live: the repository that holds this package."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def course_root() -> Path:
    """The course repository (override with AUTOGRADER_COURSE_ROOT)."""
    env = os.environ.get("AUTOGRADER_COURSE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def solution_notebook(assignment: str) -> Path:
    """The instructor's source notebook of ``assignment``."""
    return course_root() / "solutions" / assignment / f"{assignment}.ipynb"


def release_notebook(assignment: str) -> Path:
    """The committed student release of ``assignment``."""
    return course_root() / "notebooks" / assignment / f"{assignment}.ipynb"


def data_file(name: str) -> Path:
    """A file of the course's data, wherever the notebook runs from: inside the installed
    check library (the student wheel), else the course repository's ``data/``."""
    for path in (Path(__file__).resolve().parent / "data" / name, course_root() / "data" / name):
        if path.exists():
            return path
    raise FileNotFoundError(
        f"The course data file {name} is missing: install the course's check library "
        "(`pip install -r requirements.txt` in the student bundle or the course repository)."
    )


def vectors_file(assignment: str) -> Path:
    """The public self-check vectors of ``assignment`` (generated, committed)."""
    return Path(__file__).resolve().parent / "vectors" / f"{assignment}.npz"


def cache_file(assignment: str, name: str, salt: str = "") -> Path:
    """``name`` (e.g. ``"limits-{key}.json"``) in the instructor's cache, with ``{key}`` a hash
    of ``assignment``'s solution notebook, this package's code and ``salt``: any change of
    them computes the cached thing again."""
    key = hashlib.sha256(solution_notebook(assignment).read_bytes() + salt.encode())
    for module in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):  # the whole package
        key.update(module.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnn-course-autograder"
    return cache / name.format(key=key.hexdigest()[:16])
