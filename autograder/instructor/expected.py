"""What the checks compare against, computed from the reference (instructor side only).

For each graded function and each of its public or hidden cases: the inputs, the
reference's outputs, the numerical gradients (or, for ``sample``, the model's
distributions), the outputs of every catalogued mistake with its name and hint,
and the *helper records*: what the course's version of each graded function it
calls returned for the inputs it was given (see ``runner.Replay``).

The result is plain data. The public part is committed as ``autograder/student/vectors/``;
the hidden part is computed at grading time by the trusted parent and handed,
read-only, to the sandbox. Nothing here ever runs next to student code.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant, reference
from autograder.student.checks import quiet, split_vectors
from autograder.student.judge import (
    Run,
    compared_draws,
    draw_table,
    error_signature,
    judge,
    output_key,
    problem_kind,
)
from autograder.student.paths import cache_file
from autograder.student.runner import decode, encode, pack, run_plan, same, unpack
from autograder.student.specs import SPECS, Spec, specs_for

Arrays = dict[str, np.ndarray]


SALT_ENV = "AUTOGRADER_HIDDEN_SALT"


@functools.cache
def hidden_salt() -> int:
    """The course's secret that draws its hidden numbers (``Spec.cases``): the same shapes,
    other values, so a set of hidden inputs seen in another course or term is not this
    one's. ``$AUTOGRADER_HIDDEN_SALT`` (0: the specs' own seeds, as the test suite uses),
    else a random number made once and kept, readable by the instructor alone, in the
    instructor's cache (copy that file to grade the same class on another machine)."""
    if os.environ.get(SALT_ENV):
        return int(os.environ[SALT_ENV])
    path = salt_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # created at most once, even by concurrent graders
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(str(secrets.randbits(62) + 1))
    for _ in range(100):  # a concurrent creator may not have written it yet
        text = path.read_text().strip()
        if text:
            return int(text)
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it and grade again")


def salt_file() -> Path:
    """Where ``hidden_salt`` keeps the course's secret."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnn-course-autograder"
    return cache / "hidden-salt"


def make_plan(spec: Spec, hidden: bool, ref: ModuleType | None, salt: int = 0) -> tuple[dict, Arrays]:
    """The encoded calls and their input arrays for ``spec``'s public or hidden cases."""
    arrays: Arrays = {}
    calls = []
    for case in spec.cases(hidden, salt):
        call = case.call(ref)
        calls.append({**call, "args": encode(call["args"], arrays), "kwargs": encode(call["kwargs"], arrays)})
    return {"calls": calls}, arrays


def graded_helpers(spec: Spec) -> list[str]:
    """The graded functions ``spec``'s function may call: replayed, never shipped."""
    return [d for d in spec.deps if d in SPECS]


def record_helpers(spec: Spec, plan: dict, arrays: Arrays) -> None:
    """Run the reference on every call of ``plan`` and store, in each call, what its
    graded helpers received and returned (``call["helpers"]``)."""
    names = graded_helpers(spec)
    if not names:
        return
    ref = reference(spec.assignment)
    memo: dict = {}
    for call in plan["calls"]:
        records: dict[str, list[dict]] = {name: [] for name in names}
        originals = {name: getattr(ref, name) for name in names}

        def recorder(name: str, real: Callable[..., Any], records: dict = records) -> Callable[..., Any]:
            signature = inspect.signature(real)  # the same for every call: read and encoded once
            params = signature.parameters.items()
            empty = inspect.Parameter.empty
            defaults = encode({k: p.default for k, p in params if p.default is not empty}, arrays, memo)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                before = copy.deepcopy(dict(bound.arguments))
                out = real(*args, **kwargs)
                changed = {
                    k: None if same(before[k], v) else copy.deepcopy(v) for k, v in bound.arguments.items()
                }
                records[name].append(
                    {
                        "params": list(bound.arguments),
                        "defaults": defaults,
                        "args": encode(before, arrays, memo),
                        "after": encode(changed, arrays, memo),
                        "out": encode(copy.deepcopy(out), arrays, memo),
                    }
                )
                return out

            return wrapper

        try:
            for name, real in originals.items():
                setattr(ref, name, recorder(name, real))
            with quiet():
                fn = getattr(ref, spec.name)
                fn(*decode(call["args"], arrays), **decode(call.get("kwargs", {}), arrays))
        finally:
            for name, real in originals.items():
                setattr(ref, name, real)
        call["helpers"] = {name: recs for name, recs in records.items() if recs}


def expected_data(spec: Spec, hidden: bool, plan: dict, arrays: Arrays, salt: int = 0) -> Arrays:
    """Everything the judge compares against, computed from the reference alone:
    its outputs and the numerical gradients (or, for ``sample``, its distributions)."""
    ref = reference(spec.assignment)
    expected: Arrays = {}
    with quiet():
        if spec.kind == "distribution":
            _sample_tables(plan, arrays, ref, expected)
            if not hidden:
                _first_draws(plan, arrays, getattr(ref, spec.name), expected)
        else:
            outputs, _, errors, _ = run_plan(getattr(ref, spec.name), plan, arrays)
            if errors:
                raise RuntimeError(f"the reference {spec.name} failed: {errors}")
            expected.update(_fields_only(spec, outputs))
            for case in spec.cases(hidden, salt):
                if case.numerical:
                    for path, grad in case.numerical(ref).items():
                        expected[f"num/{output_key(case.label, path)}"] = grad
    return expected


def _fields_only(spec: Spec, outputs: Arrays) -> Arrays:
    """The outputs the judge compares (``spec.fields``), without caches and the like."""
    keys = {output_key(c, p) for c in {k.split("/")[0] for k in outputs} for p in spec.fields}
    return {k: v for k, v in outputs.items() if k in keys}


def mistake_data(spec: Spec, plan: dict, arrays: Arrays, expected: Arrays) -> Arrays:
    """Name, hint and outputs of every form of every catalogued mistake on the same
    inputs (for the hints); ``mistake<i>`` numbers the forms in catalogue order.

    A mistake that feeds a helper the wrong inputs stops there (the replayed helper
    knows only the right ones); its signature is then that error.
    """
    data: Arrays = {}
    forms = [(mistake, edits) for mistake in CATALOG.get(spec.name, []) for edits in mistake.forms]
    with quiet():
        for i, (mistake, edits) in enumerate(forms):
            data[f"mistake{i}/name"] = np.array(mistake.name)
            data[f"mistake{i}/hint"] = np.array(mistake.hint)
            mut = getattr(mutant(spec.assignment, spec.name, edits), spec.name)
            outputs, structure, errors, _ = run_plan(mut, plan, arrays)
            if spec.kind == "distribution":
                outcome = judge(spec, plan["calls"], Run(outputs, structure, errors), expected)
                # what the failure says, not its counts: the draws may differ on another CPU
                kind = problem_kind(outcome.problems[0]) if outcome.problems else ""
                data[f"mistake{i}/signature"] = np.array(kind)
            else:
                data.update({f"mistake{i}/{k}": v for k, v in _fields_only(spec, outputs).items()})
                for label, error in errors.items():
                    data[f"mistake{i}/{label}/error"] = np.array(error_signature(error))
                    helper = {k: v for k, v in outputs.items() if k.startswith(f"{label}/helper")}
                    data.update({f"mistake{i}/{k}": v for k, v in helper.items()})
    return data


def _sample_tables(plan: dict, arrays: Arrays, ref: ModuleType, expected: Arrays) -> None:
    """The model's next-character distribution after every prefix of 0-2 characters, at the
    call's temperature."""
    for call in plan["calls"]:
        parameters, char_to_ix = decode(call["args"], arrays)[:2]
        vocab = len(char_to_ix)
        n_a = parameters["Waa"].shape[0]
        temperature = float(decode(call["kwargs"], arrays).get("temperature", 1.0))
        prefixes: list[list[int]] = [[]]
        prefixes += [[i] for i in range(vocab - 1)]
        prefixes += [[i, j] for i in range(vocab - 1) for j in range(vocab - 1)]
        for prefix in prefixes:
            x = ref.one_hot([None] + prefix, vocab)
            y = ref.rnn_forward(x, np.zeros((n_a, 1)), parameters)[1][:, 0, -1]
            y = y ** (1 / temperature)  # softmax(u / T), since y = softmax(u)
            expected[f"probs/{call['label']}/" + "-".join(map(str, prefix))] = y / y.sum()


def _first_draws(plan: dict, arrays: Arrays, sampler: Any, expected: Arrays) -> None:
    """The course's own first draws of each public case (``judge.compared_draws``), with
    which the grading kernel compares a student's before it runs all of them
    (``checks.first_draws_first``). Public: the same inputs are in the vectors. Another
    CPU draws the same: a draw changes only where a uniform number falls within a
    rounding (about 1e-16) of a step of the cumulative probabilities."""
    for call in plan["calls"]:
        n = compared_draws(call["repeat"])
        if n < call["repeat"]:
            outputs, _, errors, _ = run_plan(sampler, {"calls": [{**call, "repeat": n}]}, arrays)
            table = draw_table(call, [outputs.get(f"{call['label']}/out/{i}") for i in range(n)])
            if errors or table is None:
                raise RuntimeError(f"the reference sampler failed on {call['label']!r}: {errors}")
            expected[f"draws/{call['label']}"] = table


def suite_vectors(assignment: str, hidden: bool, salt: int = 0) -> Arrays:
    """Plan (with helper records), inputs, expected outputs and mistakes of every graded
    function of ``assignment``, as one flat dict of arrays. Public and hidden cases alike
    replay the graded helpers a function calls, so a self-check judges a function on
    its own, as the grade does: a bug in ``rnn_cell_forward`` fails its own check, not
    ``rnn_forward``'s too."""
    ref = reference(assignment)
    data: Arrays = {}
    for spec in specs_for(assignment):
        plan, arrays = make_plan(spec, hidden, ref, salt)
        record_helpers(spec, plan, arrays)
        expected = expected_data(spec, hidden, plan, arrays, salt)
        expected.update(mistake_data(spec, plan, arrays, expected))
        data[f"{spec.name}::plan"] = np.array(json.dumps(plan))
        data.update({f"{spec.name}::in::{k}": v for k, v in arrays.items()})
        data.update({f"{spec.name}::exp::{k}": v for k, v in expected.items()})
    return data


_PROVIDED: dict[str, Path] = {}


def provide_hidden_vectors(assignment: str, path: Path) -> None:
    """Use the hidden cases (packed, as ``packed_hidden_vectors`` writes them) at ``path``
    instead of computing them: a cluster worker has no ``solutions/``."""
    _PROVIDED[assignment] = path
    hidden_vectors.cache_clear()


@functools.cache
def hidden_vectors(assignment: str) -> Arrays:
    """The hidden cases of ``assignment``: the same for every submission, computed once
    per version of the solutions and of this package (then read from the cache)."""
    salt = hidden_salt()
    path = _PROVIDED.get(assignment) or cache_file(assignment, f"{assignment}-{{key}}.npz", str(salt))
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                packed = {k: data[k] for k in data.files}
            specs = specs_for(assignment)
            return {k: v for spec in specs for k, v in unpack(packed, f"{spec.name}::").items()}
        except (OSError, ValueError, KeyError):
            if assignment in _PROVIDED:
                raise
            # unreadable: computed again below and the cache rewritten
    data = suite_vectors(assignment, hidden=True, salt=salt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **_packed(assignment, data))
    tmp.replace(path)  # atomic: concurrent readers never see half a file
    return data


def packed_hidden_vectors(assignment: str) -> Arrays:
    """The hidden cases as the kernel reads them: packed per function (``runner.pack``),
    so a check opens a few members of the file, not thousands."""
    return _packed(assignment, hidden_vectors(assignment))


def packed(assignment: str, data: Arrays) -> Arrays:
    """``data`` (``suite_vectors``) packed per function (``runner.pack``), as the check
    library reads it: a check opens a few members of the file, not thousands."""
    return _packed(assignment, data)


def _packed(assignment: str, data: Arrays) -> Arrays:
    out: Arrays = {}
    for spec in specs_for(assignment):
        prefix = f"{spec.name}::"
        out.update(pack({k: v for k, v in data.items() if k.startswith(prefix)}, prefix))
    return out


@functools.cache
def hidden_suite(assignment: str) -> list[tuple[Spec, dict, Arrays, Arrays]]:
    """(spec, plan, arrays, expected) of each graded function's hidden cases."""
    data = hidden_vectors(assignment)
    return [(spec, *split_vectors(spec, data)) for spec in specs_for(assignment)]
