"""The right answers: the functions of the instructor's notebooks in ``solutions/``."""

from __future__ import annotations

import ast
import functools
from types import ModuleType

from autograder.instructor.notebook import definitions, load_module, read_notebook
from autograder.student.paths import solution_notebook


@functools.cache
def reference_chunks(assignment: str) -> tuple[str, ...]:
    """The definitions of the solution notebook, one statement each."""
    return tuple(definitions(read_notebook(solution_notebook(assignment))))


@functools.cache
def reference(assignment: str) -> ModuleType:
    """The solution notebook's functions, loaded once per process."""
    return load_module(list(reference_chunks(assignment)), f"reference_{assignment}")


def defined_name(chunk: str) -> str | None:
    """The name a ``def`` chunk defines (None for imports and constants)."""
    node = ast.parse(chunk).body[0]
    return node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None


@functools.cache
def mutant(assignment: str, name: str, edits: tuple[tuple[str, str], ...]) -> ModuleType:
    """The reference with each ``(old, new)`` edit applied to function ``name``.

    This is how the catalogue of student mistakes runs: as edits of the reference,
    never as hand-written copies of it. Each ``old`` must occur exactly once.
    """
    chunks = list(reference_chunks(assignment))
    for i, chunk in enumerate(chunks):
        if defined_name(chunk) == name:
            chunks[i] = apply_edits(chunk, edits, name)
            return load_module(chunks, f"mutant_{name}")
    raise KeyError(name)


def apply_edits(text: str, edits: tuple[tuple[str, str], ...], where: str) -> str:
    """Apply ``(old, new)`` replacements, each of which must match exactly once."""
    for old, new in edits:
        if text.count(old) != 1:
            raise ValueError(f"edit of {where} must match exactly once: {old!r}")
        text = text.replace(old, new)
    return text
