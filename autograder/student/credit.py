"""Partial credit: a graded function's points shared among what its checks judge.

A function's checks judge several things: its outputs or gradients (``rnn_backward``'s
``dx``, ``da0``, ``dWax``, ``dWaa``, ``dba``), or, for a function judged by its draws or
its whole run (``sample``, ``model``), its cases. Each such *part* has a whole-number
weight, written next to the cases in ``student/assignments/<a>.py`` (``Spec.parts``, or
``Spec.by_case``); the default is one part per compared output, of equal weight, so a
new spec gets partial credit with nothing to write.

A part is earned when it is right in every case; a function that could not be run (not
defined, stopped for running too long, its sandbox died) earns nothing, whatever its
outputs. Shares are exact: a function's points are cut into hundredths and dealt out by
weight (largest remainders first, ties to the earlier part), so the shares always sum to
the points, and a score is a sum of shares, turned into a float once.

The course's policy (``c.PartialCredit.enabled`` in ``nbgrader_config.py``, read on the
instructor's side) may keep all or nothing: the full points when every part is earned,
else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Part:
    """A share of a graded function's points: the outputs it judges and its weight."""

    name: str  # what feedback and reports call it, e.g. "gradients['dba']"
    paths: tuple[str, ...]  # the outputs it judges: keys of ``Spec.fields``
    weight: int = 1


@dataclass(frozen=True)
class Earned:
    """One part of a verdict: its name, its weight, whether it was earned."""

    name: str
    weight: int
    earned: bool


def shares(points: float, weights: list[int]) -> list[Fraction]:
    """``points`` dealt out by ``weights`` in hundredths of a point: exact, summing to
    ``points`` (given to two decimals; a finer value is rounded to hundredths once)."""
    if not weights:
        return []
    if any(not isinstance(w, int) or w < 1 for w in weights):
        raise ValueError(f"weights must be whole numbers of at least 1, got {weights}")
    units = round(Fraction(points).limit_denominator(10**6) * 100)
    total = sum(weights)
    exact = [Fraction(units * w, total) for w in weights]
    dealt = [int(x) for x in exact]  # floor: the values are not negative
    left = units - sum(dealt)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - dealt[i]), i))
    for i in order[:left]:
        dealt[i] += 1
    return [Fraction(u, 100) for u in dealt]


def score(points: float, parts: list[Earned], passed: bool, partial: bool = True) -> Fraction:
    """The points a verdict earns: all of them when it passed; else, with ``partial``, the
    shares of the parts it earned; else 0."""
    if passed:
        return Fraction(points).limit_denominator(10**6)
    if not partial or not parts:
        return Fraction(0)
    return sum(
        (s for s, p in zip(shares(points, [p.weight for p in parts]), parts, strict=True) if p.earned),
        Fraction(0),
    )


def points_text(x: Fraction | float) -> str:
    """A number of points as a person writes it: 15, 2.5, 3.33."""
    return f"{float(round(Fraction(x).limit_denominator(10**6), 2)):g}"
