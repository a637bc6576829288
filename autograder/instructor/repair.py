"""Repair what nbgrader cannot take in a submitted notebook, before it is graded.

Not-JSON is reported; cells whose type a student changed get it back; deleted
read-only cells are restored from the release; duplicated grade ids are kept once
(the copies run as ordinary cells). Each repair is one line in the report.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import nbformat

from autograder.instructor.notebook import NotebookError, parse_notebook
from autograder.instructor.submissions import release
from autograder.instructor.untrusted import printable


def repair(notebook: Path, assignment: str, notes: list[str]) -> bool:
    """Fix what nbgrader cannot take, saying so in ``notes``; False when the file is not a
    notebook at all (the submission is then malformed)."""
    if not notebook.exists():
        found = sorted(p.name for p in notebook.parent.iterdir())
        notes.append(
            f"no single notebook to grade (found: {', '.join(found) or 'nothing'}); "
            f"hand in one file named {notebook.name}"
        )
        return False
    try:
        # bounded (size, nesting, strings, cells) before anything parses it
        nb = parse_notebook(notebook.read_bytes().decode("utf-8", errors="replace").encode(), notebook.name)
    except NotebookError as exc:
        why = str(exc).removeprefix(f"{notebook.name}: ").splitlines()[0][:200].rstrip(".")
        notes.append(
            f"not a valid notebook ({why}); nothing could be run. "
            "Re-download it from JupyterLab with File > Save and hand it in again."
        )
        return False
    try:
        changed = _repair_cells(nb, assignment, notes)
    except Exception as exc:  # noqa: BLE001 - nbformat only warns about odd cells; they are the student's
        notes.append(
            f"its cells are malformed ({type(exc).__name__}: {printable(exc, 120)}); nothing could be run, "
            "its functions are still graded. Re-download it from JupyterLab with File > Save and hand it "
            "in again."
        )
        return False
    if changed:
        notebook.write_text(nbformat.writes(nb), encoding="utf-8")
    return True


def _repair_cells(nb: nbformat.NotebookNode, assignment: str, notes: list[str]) -> bool:
    """Cells turned into another type changed back, duplicated grade cells made ordinary
    ones, deleted read-only cells restored; True when anything changed."""
    expected = _cell_types(assignment)
    changed = False
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        want = expected.get(grade_id)
        if want and cell.cell_type != want:
            notes.append(f"cell {grade_id} was turned into {cell.cell_type}; changed back to {want}")
            fixed = (nbformat.v4.new_code_cell if want == "code" else nbformat.v4.new_markdown_cell)(
                cell.source, metadata=cell.metadata
            )
            fixed.id = cell.get("id", fixed.id)
            cell.clear()
            cell.update(fixed)
            changed = True
    # nbgrader stops on duplicated ids (its DeduplicateIds leaves metadata it then
    # rejects); the copies after the first become ordinary cells, which still run
    ids = [_grade_id(c) for c in nb.cells]
    for dup in sorted({i for i in ids if i and ids.count(i) > 1}):
        notes.append(
            f"cell {dup} appears {ids.count(dup)} times; the copies after the first run as ordinary cells"
        )
    seen: set[str] = set()
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in seen:
            del cell.metadata["nbgrader"]
            changed = True
        elif gid:
            seen.add(gid)
    return restore_deleted_cells(nb, assignment, notes) or changed


def restore_deleted_cells(nb: nbformat.NotebookNode, assignment: str, notes: list[str]) -> bool:
    """Put back the read-only cells (grade cells, checks, set-up) a student deleted, each
    after the cell that precedes it in the release.

    nbgrader's own ``add_missing_cells`` does this for grade cells only, and fails
    (KeyError) when the cell before a deleted one is a read-only cell that is not
    graded, as every self-check cell here is.
    """
    present = {_grade_id(c) for c in nb.cells}
    restored = False
    previous = None
    for cell in _release_cells(assignment):
        gid = _grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if gid and gid not in present and meta.get("locked") and not meta.get("solution"):
            at = next((i + 1 for i, c in enumerate(nb.cells) if previous and _grade_id(c) == previous), 0)
            nb.cells.insert(at, copy.deepcopy(cell))
            present.add(gid)
            restored = True
            if cell.cell_type == "code":
                kind = "grade cell" if meta.get("grade") else "read-only cell"
                notes.append(f"{kind} {gid} was deleted; restored from the assignment")
        if gid in present:
            previous = gid
    return restored


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _cell_types(assignment: str) -> dict[str, str]:
    return {_grade_id(c): c.cell_type for c in _release_cells(assignment) if _grade_id(c)}


@functools.cache
def _release_cells(assignment: str) -> list[nbformat.NotebookNode]:
    return release(assignment).cells
