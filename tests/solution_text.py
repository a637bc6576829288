"""What counts as solution text, and the text a reader of a file would see."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path

import nbformat
import numpy as np

from autograder.instructor import submissions
from autograder.instructor.mistakes import CATALOG
from autograder.student.paths import solution_notebook
from autograder.student.specs import ASSIGNMENTS


def solution_lines(assignment: str) -> set[str]:
    """The distinctive lines of the reference: those of its solution regions, and the edit
    strings of its catalogued mistakes, that no release holds (and long enough not to be
    generic)."""
    region = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    solution = nbformat.read(solution_notebook(assignment), as_version=4)
    # the catalogue covers both assignments; a release provides some code of its own, and
    # its text quotes a line or two
    released = "\n".join(c.source for a in ASSIGNMENTS for c in submissions.release(a).cells)
    lines = {ln.strip() for c in solution.cells for r in region.findall(c.source) for ln in r.splitlines()}
    lines |= {old.strip() for ms in CATALOG.values() for m in ms for edits in m.forms for old, _ in edits}
    return {ln for ln in lines if len(ln) > 20 and ln not in released}


def npz_text(data: bytes) -> str:
    """Keys and every string (plans, names, hints) of an ``.npz``, as a reader sees them."""
    with np.load(io.BytesIO(data)) as arrays:
        parts = []
        for key in arrays.files:
            value = arrays[key]
            parts.append(key)
            if value.dtype.kind == "U":
                parts += [str(v) for v in value.ravel()]
        return "\n".join(parts)


def readable_text(name: str, data: bytes) -> dict[str, str]:
    """name -> text of a file, and of every member when it is a zip (a wheel, an .npz
    inside one), recursively."""
    if name.endswith(".npz"):
        return {name: npz_text(data)}
    if name.endswith((".zip", ".whl")):
        out = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                out |= readable_text(f"{name}!{member}", archive.read(member))
        return out
    text = data.decode("latin-1")
    if name.endswith(".ipynb"):  # the sources and outputs as written, not JSON-escaped
        text += "\n" + "\n".join(_json_strings(json.loads(data)))
    if name.endswith(".html"):
        text += "\n" + html.unescape(data.decode("utf-8", "replace"))
    return {name: text}


def _json_strings(value: object) -> list[str]:
    """Every string of a JSON document; a list of strings (a notebook's multi-line source or
    output) joined into one."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ["".join(value)]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for v in items for s in _json_strings(v)]


def files_text(root: Path) -> dict[str, str]:
    """The readable text of every file under ``root``."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        out |= readable_text(str(path.relative_to(root)), path.read_bytes())
    return out
