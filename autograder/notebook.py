"""Read a notebook and keep only its definitions: imports, functions, classes, constants.

Both the reference (``solutions/``) and student submissions are loaded this way.
Top-level statements that *do* something (training loops, prints, monkeypatches
such as ``np.allclose = ...``) are dropped, so loading is fast and a submission's
side effects never reach the grader.
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path
from types import ModuleType

import nbformat

from autograder.paths import release_notebook
from autograder.runner import exec_definitions

SKIP_TAG = "skip-when-grading"  # on the release's figure and full-training cells


class NotebookError(ValueError):
    """The file is not a notebook we can read; the message says what to do."""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read ``path`` as a v4 notebook, with a clear error for anything else."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file; check the submission path.") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not UTF-8 text; is this really a .ipynb file?") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: not valid notebook JSON ({exc.msg}, line {exc.lineno}); "
            "the file was probably edited outside Jupyter or truncated."
        ) from None
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise NotebookError(f"{path}: not a Jupyter notebook ({exc}).") from None


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets) or node.value is None:
            return False  # attribute/subscript targets are patches, not definitions
        return not _runs_code(node.value)
    return False


def _runs_code(node: ast.AST) -> bool:
    """True if evaluating ``node`` calls something (a lambda's body runs later, not now)."""
    if isinstance(node, ast.Lambda):
        return False
    if isinstance(node, ast.Call):
        return True
    return any(_runs_code(child) for child in ast.iter_child_nodes(node))


@functools.cache
def skipped_when_grading(assignment: str) -> frozenset[str]:
    """The sources of the release's cells tagged ``skip-when-grading``: the course's own
    code that draws figures or trains on the full data, never graded (and the only
    place matplotlib is imported)."""
    path = release_notebook(assignment)
    if not path.exists():
        return frozenset()
    nb = nbformat.read(path, as_version=4)
    return frozenset(c.source for c in nb.cells if SKIP_TAG in c.get("metadata", {}).get("tags", []))


def definitions(nb: nbformat.NotebookNode, skip: frozenset[str] = frozenset()) -> list[str]:
    """The imports, defs and constants of every code cell that parses, in order.

    One string per statement, so that the loader can run them one at a time and
    a failing import does not hide the functions after it. A cell with a syntax
    error is skipped as a whole (its functions will be reported missing), and
    IPython magics/shell lines are ignored. Cells whose source is in ``skip`` are left out.
    """
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source in skip:
            continue
        lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        text = "\n".join(lines)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if _is_definition(node):
                chunks.append(ast.get_source_segment(text, node, padded=True) or "")
    return chunks


def load_module(chunks: list[str], name: str) -> ModuleType:
    """Execute definitions in a fresh module namespace (trusted sources only)."""
    module = ModuleType(name)
    errors = exec_definitions(chunks, module.__dict__, tag=name)
    if errors:
        raise NotebookError(f"{name}: definitions failed to load: {'; '.join(errors)}")
    return module
