"""What counts as solution text, and the text a reader of a file would see."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import nbformat
import numpy as np

from autograder import submissions
from autograder.mistakes import CATALOG
from autograder.paths import solution_notebook


def solution_lines(assignment: str) -> set[str]:
    """The distinctive lines of the reference: those of its solution regions, and the edit
    strings of its catalogued mistakes, that the release does not also hold (and long
    enough not to be generic)."""
    region = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    solution = nbformat.read(solution_notebook(assignment), as_version=4)
    released = "\n".join(c.source for c in submissions.release(assignment).cells)
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
    return {name: data.decode("latin-1")}


def files_text(root: Path) -> dict[str, str]:
    """The readable text of every file under ``root``."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        out |= readable_text(str(path.relative_to(root)), path.read_bytes())
    return out
