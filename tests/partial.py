"""What the tests of partial credit share: the parts a verdict lost, read from its messages.

A verdict's score comes from ``Outcome.parts``; its messages from the comparisons, one
sentence per wrong output. ``parts_named_wrong`` reads the messages alone, so a test can
check that the points lost are exactly those of the outputs (or cases) the student is
told are wrong, through two separate paths of the judge.
"""

from __future__ import annotations

import contextlib
import io
import re

from autograder.instructor.reference import mutant
from autograder.instructor.verify import CellResult, grade_cells, hidden_outcome
from autograder.student.judge import Outcome
from autograder.student.specs import Spec

_CASE = re.compile(r"^case '(?P<label>.*?)': (?P<text>.*)$", re.S)


def parts_named_wrong(spec: Spec, outcome: Outcome) -> set[str] | None:
    """The parts whose outputs (or cases) the problems name; None when a problem says the
    function raised, did not run or returned nothing, which costs every part of a split by
    outputs (and the case of a split by cases)."""
    named: set[str] = set()
    for problem in outcome.problems:
        found = _CASE.match(problem)
        assert found, f"a problem not about one case: {problem!r}"
        label, text = found["label"], found["text"]
        if spec.shared_by_case:
            named.add(f"case '{label}'")
            continue
        if text.startswith(("your function", "your sample")):
            return None
        fields = [path for path, name in spec.fields.items() if text.startswith((f"{name} ", f"{name}:"))]
        assert fields, f"a problem naming no output of {spec.name}: {problem!r}"
        longest = max(fields, key=lambda p: len(spec.fields[p]))  # "gradients['dx']" vs "...['dxt']"
        named |= {p.name for p in spec.output_parts() if longest in p.paths}
    return named


def check_parts_follow_messages(spec: Spec, outcome: Outcome) -> None:
    """The parts lost are exactly those the messages name (all of them when it raised)."""
    lost = {p.name for p in outcome.parts if not p.earned}
    named = parts_named_wrong(spec, outcome)
    if named is None:
        assert lost == {p.name for p in outcome.parts}, f"it raised, yet kept {outcome.parts}"
    else:
        assert lost == named, (
            f"{spec.name}: lost {sorted(lost)}, told wrong {sorted(named)}\n{outcome.message()}"
        )


_PART = re.compile(r"(?P<name>.+?) (?P<earned>\d+(?:\.\d+)?)/(?P<share>\d+(?:\.\d+)?)(?:, |$)")
_SHARE = re.compile(r"(?P<name>.+?): (?P<share>\d+(?:\.\d+)?)(?:, |$)")


def read_parts(text: str) -> dict[str, tuple[float, float]]:
    """``"a 5/5, yt_pred 0/5"`` (feedback, grades.csv) -> {part: (earned, share)}, as numbers."""
    found = {m["name"]: (float(m["earned"]), float(m["share"])) for m in _PART.finditer(text)}
    assert ", ".join(f"{n} {e:g}/{s:g}" for n, (e, s) in found.items()) == text, f"not read whole: {text!r}"
    return found


def read_shares(text: str) -> dict[str, float]:
    """``"a: 5, yt_pred: 5"`` (README's Points table) -> {part: share}, as numbers."""
    return {m["name"]: float(m["share"]) for m in _SHARE.finditer(text)}


def trusted_score(assignment: str, function: str, edits: tuple[tuple[str, str], ...]) -> float:
    """What the trusted verify gives ``function`` with ``edits`` of the reference (partial
    credit included), judged in this process: a student handing in that mistake must get
    exactly this, and it must be less than the function's points."""
    fn = getattr(mutant(assignment, function, edits), function)
    grade_id, points = grade_cells(assignment)[function]
    with contextlib.redirect_stdout(io.StringIO()):
        result = CellResult(function, grade_id, points, hidden_outcome(function, fn))
    assert result.score < points, f"{function} with {edits} keeps all its points"
    return result.score
