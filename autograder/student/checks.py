"""The one check library: self-check cells, nbgrader grade cells and the trusted verify use it.

In a notebook::

    check("rnn_cell_forward", rnn_cell_forward)               # public cases (self-check)
    check("rnn_cell_forward", rnn_cell_forward, hidden=True)  # in a grade cell

This is the student side: it holds no solution and no hidden case. Public cases
compare against committed vectors generated from the reference, so students need
nothing but this package; the graded functions a function calls are replayed from
the reference's records (``runner.Replay``), so a check judges its function on its
own and one bug costs one function's points. The hidden cases never enter a
student's kernel, not even the grading one: code there can read anything the kernel
holds. ``hidden=True`` only says so; the trusted verify runs the hidden cases in a
sandbox that gets their inputs alone, and judges the outputs outside it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograder.student.credit import points_text, score
from autograder.student.judge import Outcome, Run, compared_draws, course_draws, judge, name_mistake
from autograder.student.paths import vectors_file
from autograder.student.runner import PACKED, run_plan, unpack
from autograder.student.specs import SPECS, Spec

Arrays = dict[str, np.ndarray]


def _under_the_grader() -> None:
    """While nbgrader grades this kernel, a function stopped for running too long fails
    at once in later cells (see ``runaway``)."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and not getattr(shell, "_autograder_runaway", False):
        from autograder.student import runaway

        runaway.install(shell)
        shell._autograder_runaway = True


_under_the_grader()


class CheckFailed(AssertionError):
    """A failed check; IPython shows only the message, not a traceback into the grader."""

    def _render_traceback_(self) -> list[str]:
        return ["\x1b[31m" + line + "\x1b[0m" for line in wrapped(str(self))]


def wrapped(message: str, width: int = 96) -> list[str]:
    """The lines of ``message``, broken between words to fit ``width``: JupyterLab breaks
    long output lines anywhere, even inside a number. Continuations keep the indent."""
    import textwrap

    lines = []
    for line in message.splitlines():
        indent = " " * (len(line) - len(line.lstrip(" -")))
        lines += textwrap.wrap(
            line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
        ) or [""]
    return lines


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No warnings on stderr: in an nbgrader grade cell any stderr text scores zero."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def split_vectors(spec: Spec, data: Arrays) -> tuple[dict, Arrays, Arrays]:
    """The plan, inputs and expected data of ``spec`` in a flat vectors dict."""
    prefix = f"{spec.name}::"
    plan = json.loads(str(data[prefix + "plan"]))
    arrays = {k[len(prefix) + 4 :]: data[k] for k in data if k.startswith(prefix + "in::")}
    expected = {k[len(prefix) + 5 :]: data[k] for k in data if k.startswith(prefix + "exp::")}
    return plan, arrays, expected


def load_vectors(spec: Spec) -> tuple[dict, Arrays, Arrays]:
    """The public (committed) plan, inputs and expected data of ``spec``."""
    prefix = f"{spec.name}::"
    with np.load(vectors_file(spec.assignment), allow_pickle=False) as data:
        if prefix + PACKED in data.files:
            return split_vectors(spec, unpack(data, prefix))
        return split_vectors(spec, {k: data[k] for k in data.files if k.startswith(prefix)})


def evaluate(name: str, fn: Callable[..., Any]) -> Outcome:
    """Run ``fn`` on the public cases of ``name`` in this process and judge it."""
    spec = SPECS[name]
    if not callable(fn):
        return Outcome(name, False, 0, [f"{name} is not a function (got {type(fn).__name__})."])
    return judged(spec, fn, *load_vectors(spec))


def judged(spec: Spec, fn: Callable[..., Any], plan: dict, arrays: Arrays, expected: Arrays) -> Outcome:
    """``fn`` run in this process on ``plan`` (helpers replayed from its records), judged."""
    with quiet():
        if spec.kind == "distribution" and os.environ.get("NBGRADER_EXECUTION") == "autograde":
            run = first_draws_first(fn, plan, arrays, expected)
        else:
            run = Run(*run_plan(fn, plan, arrays))
    return verdict(spec, plan, run, expected)


def first_draws_first(fn: Callable[..., Any], plan: dict, arrays: Arrays, expected: Arrays) -> Run:
    """``sample``'s run in the grading kernel, whose verdict is only a claim: each case
    stops after its first draws (``compared_draws``) when they are, draw for draw, the
    course's own sampler's on the same seed, and otherwise goes on to all its draws, from
    where it was: the same draws as a full run (a sampler that draws another way, or a
    mistake), so the same verdict. A correct sampler that draws as the course's does
    costs about a third of the draws."""
    same: set[str] = set()

    def stop(call: dict, results: list) -> bool:
        try:
            if course_draws(call, results, expected):
                same.add(call["label"])
        except Exception:  # noqa: BLE001 - whatever it returned, it is not the course's draws
            pass
        return call["label"] in same

    run = Run(*run_plan(fn, plan, arrays, enough=(compared_draws, stop)))
    run.first_draws = {c["label"]: compared_draws(c["repeat"]) for c in plan["calls"] if c["label"] in same}
    return run


def verdict(spec: Spec, plan: dict, run: Run, expected: Arrays) -> Outcome:
    """Judge a run; on failure, name the catalogued mistake it matches, if any
    (``expected`` holds the mistakes' outputs on the same inputs)."""
    outcome = judge(spec, plan["calls"], run, expected)
    if not outcome.passed:
        name_mistake(outcome, spec, run, expected)
    return outcome


# While nbgrader grades, the last public check of each function in this kernel: a grade
# cell repeats the check of the self-check cell just above it, and the same function object
# on the same public cases gets the same verdict. That verdict is only the kernel's claim;
# the trusted verify, outside the kernel, decides the score.
_CHECKED: dict[str, tuple[Callable[..., Any], Outcome]] = {}


def _repeat(name: str, fn: Callable[..., Any]) -> Outcome | None:
    """The verdict this kernel already gave ``fn`` (the same object) under the grader."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return None
    done = _CHECKED.get(name)
    return done[1] if done is not None and done[0] is fn else None


HIDDEN_NOTE = (
    "Hidden tests: not run in this notebook. When your notebook is graded, the grader runs "
    "them on other inputs in a sandbox of its own; its verdict is your score."
)


def check(
    name: str, fn: Callable[..., Any], hidden: bool = False, points: float | None = None
) -> float | None:
    """Print a confirmation, or raise ``CheckFailed`` with what is wrong and a hint.

    ``hidden=True`` (in a grade cell) says where the hidden tests run: outside this kernel.
    ``points`` (in a grade cell): return the points the public cases give, which the cell
    displays and nbgrader reads as its (partial) score; a function partly right prints what
    is wrong instead of raising (except under nbgrader's Validate). This is the kernel's
    claim only: the trusted verify's score on the hidden cases is the one that counts.
    """
    if name not in SPECS:
        raise CheckFailed(f"There is no check called {name!r}; do not edit the check cells.")
    if hidden:
        print(HIDDEN_NOTE)
        return None
    outcome = _repeat(name, fn) or evaluate(name, fn)
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        _CHECKED[name] = (fn, outcome)
    earned = score(points, outcome.parts, outcome.passed) if points is not None else None
    # nbgrader's Validate shows a failing cell's error, but of a partial score only that it
    # is partial: there, a function partly right fails with its message, as before
    validating = os.environ.get("NBGRADER_EXECUTION") == "validate"
    if not outcome.passed and (not earned or validating):
        raise CheckFailed(outcome.message())
    if not outcome.passed:
        print(
            f"Partly right: {points_text(earned)} of {points_text(points)} points on the public cases "
            "(the hidden tests decide your score).\n" + "\n".join(wrapped(outcome.message()))
        )
        return float(earned)
    # plain text: an emoji shows as an empty box where no emoji font is installed
    print("OK - " + outcome.message())
    return None if points is None else float(earned)
