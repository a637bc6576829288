"""The one check library: self-check cells, nbgrader grade cells and the trusted verify use it.

In a notebook::

    check("rnn_cell_forward", rnn_cell_forward)               # public cases (self-check)
    check("rnn_cell_forward", rnn_cell_forward, hidden=True)  # hidden cases (grade cell)

Public cases compare against committed vectors generated from the reference, so
students need nothing but this package. Hidden cases are made with other seeds
and shapes and compared against the reference loaded from ``solutions/``, which
only the instructor's machine has.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

from autograder.judge import Outcome, Run, judge, name_mistake, output_key
from autograder.mistakes import CATALOG
from autograder.paths import vectors_file
from autograder.reference import mutant, reference
from autograder.runner import decode, encode, run_plan
from autograder.specs import SPECS, Spec

Arrays = dict[str, np.ndarray]


class CheckFailed(AssertionError):
    """A failed check; IPython shows only the message, not a traceback into the grader."""

    def _render_traceback_(self) -> list[str]:
        return ["\x1b[31m" + line + "\x1b[0m" for line in str(self).splitlines()]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings on stderr: in an nbgrader grade cell any stderr text scores zero."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def make_plan(spec: Spec, hidden: bool, ref: ModuleType | None) -> tuple[dict, Arrays]:
    """The encoded calls and their input arrays for ``spec``'s public or hidden cases."""
    arrays: Arrays = {}
    calls = []
    for case in spec.cases(hidden):
        call = case.call(ref)
        calls.append({**call, "args": encode(call["args"], arrays), "kwargs": encode(call["kwargs"], arrays)})
    return {"calls": calls}, arrays


def expected_data(spec: Spec, hidden: bool, plan: dict, arrays: Arrays) -> Arrays:
    """Everything the judge compares against, computed from the reference alone:
    its outputs and the numerical gradients (or, for ``sample``, its distributions)."""
    ref = reference(spec.assignment)
    expected: Arrays = {}
    with _quiet():
        if spec.kind == "distribution":
            _sample_tables(plan, arrays, ref, expected)
        else:
            outputs, _, errors, _ = run_plan(getattr(ref, spec.name), plan, arrays)
            if errors:
                raise RuntimeError(f"the reference {spec.name} failed: {errors}")
            expected.update(_fields_only(spec, outputs))
            for case in spec.cases(hidden):
                if case.numerical:
                    for path, grad in case.numerical(ref).items():
                        expected[f"num/{case.label}/out/{path}"] = grad
    return expected


def _fields_only(spec: Spec, outputs: Arrays) -> Arrays:
    """The outputs the judge compares (``spec.fields``), without caches and the like."""
    keys = {output_key(c, p) for c in {k.split("/")[0] for k in outputs} for p in spec.fields}
    return {k: v for k, v in outputs.items() if k in keys}


def mistake_data(spec: Spec, plan: dict, arrays: Arrays, expected: Arrays) -> Arrays:
    """The outputs of every catalogued mistake on the same inputs (for the hints).

    Computed only when a function fails, except for the public vectors, which store it.
    """
    data: Arrays = {}
    with _quiet():
        for i, mistake in enumerate(CATALOG.get(spec.name, [])):
            mut = getattr(mutant(spec.assignment, spec.name, mistake.edits), spec.name)
            outputs, structure, errors, _ = run_plan(mut, plan, arrays)
            if spec.kind == "distribution":
                outcome = judge(spec, plan["calls"], Run(outputs, structure, errors), expected)
                data[f"mistake{i}/signature"] = np.array(outcome.problems[:1] or [""])[0]
            else:
                data.update({f"mistake{i}/{k}": v for k, v in _fields_only(spec, outputs).items()})
    return data


def _sample_tables(plan: dict, arrays: Arrays, ref: ModuleType, expected: Arrays) -> None:
    """The model's next-character distribution after every prefix of 0-2 characters."""
    for call in plan["calls"]:
        parameters, char_to_ix = decode(call["args"], arrays)[:2]
        vocab = len(char_to_ix)
        n_a = parameters["Waa"].shape[0]
        prefixes: list[list[int]] = [[]]
        prefixes += [[i] for i in range(vocab - 1)]
        prefixes += [[i, j] for i in range(vocab - 1) for j in range(vocab - 1)]
        for prefix in prefixes:
            x = ref.one_hot([None] + prefix, vocab)
            y_pred = ref.rnn_forward(x, np.zeros((n_a, 1)), parameters)[1]
            expected[f"probs/{call['label']}/" + "-".join(map(str, prefix))] = y_pred[:, 0, -1]


def _run_in_kernel(fn: Callable[..., Any], spec: Spec, plan: dict, arrays: Arrays, isolate: bool) -> Run:
    with _quiet(), _with_reference_deps(fn, spec) if isolate else contextlib.nullcontext():
        return Run(*run_plan(fn, plan, arrays))


@contextlib.contextmanager
def _with_reference_deps(fn: Callable[..., Any], spec: Spec) -> Iterator[None]:
    """Let ``fn`` call the reference versions of the course functions it depends on."""
    namespace = getattr(fn, "__globals__", {})
    ref = reference(spec.assignment)
    saved = {name: namespace[name] for name in spec.deps if name in namespace}
    try:
        namespace.update({name: getattr(ref, name) for name in spec.deps})
        yield
    finally:
        for name in spec.deps:
            namespace.pop(name, None)
        namespace.update(saved)


def load_vectors(spec: Spec) -> tuple[dict, Arrays, Arrays]:
    """The public plan, inputs and expected data of ``spec`` (committed, generated)."""
    prefix = f"{spec.name}::"
    with np.load(vectors_file(spec.assignment), allow_pickle=False) as data:
        plan = json.loads(str(data[prefix + "plan"]))
        arrays = {k[len(prefix) + 4 :]: data[k] for k in data.files if k.startswith(prefix + "in::")}
        expected = {k[len(prefix) + 5 :]: data[k] for k in data.files if k.startswith(prefix + "exp::")}
    return plan, arrays, expected


def evaluate(name: str, fn: Callable[..., Any], hidden: bool = False) -> Outcome:
    """Run ``fn`` on the public or hidden cases of ``name`` in this process and judge it."""
    spec = SPECS[name]
    if not callable(fn):
        return Outcome(name, False, 0, [f"{name} is not a function (got {type(fn).__name__})."])
    if hidden:
        plan, arrays = make_plan(spec, True, reference(spec.assignment))
        expected = expected_data(spec, True, plan, arrays)
    else:
        plan, arrays, expected = load_vectors(spec)
    run = _run_in_kernel(fn, spec, plan, arrays, isolate=hidden)
    return verdict(spec, plan, arrays, run, expected)


def verdict(
    spec: Spec, plan: dict, arrays: Arrays, run: Run, expected: Arrays, mistakes: Arrays | None = None
) -> Outcome:
    """Judge a run; on failure, name the catalogued mistake it matches, if any.

    ``mistakes`` caches the mistakes' outputs across submissions graded on the
    same inputs; it is filled the first time a submission needs it.
    """
    outcome = judge(spec, plan["calls"], run, expected)
    if outcome.passed or all(label in run.errors for label in outcome.failed_cases or [None]):
        return outcome  # nothing to compare when every failing case raised
    if any(k.startswith("mistake") for k in expected):
        mistakes = expected  # the public vectors store them
    elif mistakes is None:
        mistakes = mistake_data(spec, plan, arrays, expected)
    elif not mistakes:
        mistakes.update(mistake_data(spec, plan, arrays, expected))
    name_mistake(outcome, spec, plan["calls"], run, mistakes)
    return outcome


def check(name: str, fn: Callable[..., Any], hidden: bool = False) -> None:
    """Print a confirmation, or raise ``CheckFailed`` with what is wrong and a hint."""
    if name not in SPECS:
        raise CheckFailed(f"There is no check called {name!r}; do not edit the check cells.")
    outcome = evaluate(name, fn, hidden)
    if not outcome.passed:
        raise CheckFailed(outcome.message())
    print(("Hidden tests: " if hidden else "") + "\u2705 " + outcome.message())
