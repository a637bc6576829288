"""The course's assignments and their graded functions, found by looking.

Every ``assign_*`` module of ``autograder/student/assignments/`` is an assignment: its
``SPECS`` (the graded functions in notebook order, each with its cases and the outputs
compared) and ``TITLE``. Its notebooks are ``solutions/<a>/<a>.ipynb`` and
``notebooks/<a>/<a>.ipynb``, its mistake catalogue ``autograder/instructor/mistakes/<a>.py``
(on the instructor's side). A new assignment is new files, not edits across the package.

A ``Spec`` makes the test inputs (public cases for the self-checks, hidden ones for
grading, from different seeds and shapes) and knows which outputs to compare. It never
hard-codes an answer: expected values come from running the reference in ``solutions/``
through the same runner, and gradients are also checked against centered differences of
the reference forward pass.
"""

from __future__ import annotations

import importlib
import pkgutil

from autograder.student import assignments
from autograder.student.cases import Case, Spec

__all__ = ["ASSIGNMENTS", "SPECS", "Case", "Spec", "carries", "specs_for", "title"]

ASSIGNMENTS: tuple[str, ...] = tuple(
    sorted(m.name for m in pkgutil.iter_modules(assignments.__path__) if m.name.startswith("assign_"))
)
_MODULES = {a: importlib.import_module(f"{assignments.__name__}.{a}") for a in ASSIGNMENTS}

SPECS: dict[str, Spec] = {s.name: s for a in ASSIGNMENTS for s in _MODULES[a].SPECS}
for _a in ASSIGNMENTS:
    for _s in _MODULES[_a].SPECS:
        if _s.assignment != _a:
            raise ValueError(f"{_s.name} is in assignments/{_a}.py but says it belongs to {_s.assignment}")


def specs_for(assignment: str) -> list[Spec]:
    """The graded functions of ``assignment``, in notebook order."""
    return [s for s in SPECS.values() if s.assignment == assignment]


def carries(assignment: str) -> dict[str, tuple[str, ...]]:
    """The graded functions of other assignments that ``assignment``'s provided (read-only)
    code defines, by assignment: it is released only after their deadlines."""
    return dict(getattr(_MODULES[assignment], "CARRIES_ANSWERS_OF", {}))


def title(assignment: str) -> str:
    """What ``assignment`` is about, in a few words."""
    return _MODULES[assignment].TITLE
