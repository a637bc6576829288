"""A known student mistake, written as edits of the reference (the catalogues of each
assignment are in ``autograder/instructor/mistakes/``)."""

from __future__ import annotations

from dataclasses import dataclass

Edits = tuple[tuple[str, str], ...]  # (old, new) in the reference function


@dataclass(frozen=True)
class Mistake:
    name: str  # short, in the student's words
    hint: str  # what to look at, not the answer
    edits: Edits
    also: tuple[Edits, ...] = ()  # other ways students write the same mistake

    @property
    def forms(self) -> tuple[Edits, ...]:
        return (self.edits, *self.also)


def m(name: str, hint: str, *edits: tuple[str, str], also: tuple[Edits, ...] = ()) -> Mistake:
    return Mistake(name, hint, edits, also)
