"""Compare a function's outputs with the expected ones and say, as a TA would, what is wrong.

The judge sees plain arrays only: the student's outputs (from the kernel or from
the sandbox) and the expected data (from the reference, the numerical gradients
and the catalogued mistakes). It never runs student code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograder.student.cases import JUDGED_CHARACTERS
from autograder.student.credit import Earned
from autograder.student.gradcheck import rel_error
from autograder.student.specs import Spec

Arrays = dict[str, np.ndarray]

# Tolerance on the relative error ||yours - expected|| / (||yours|| + ||expected||).
# Measured on the hidden cases by tests/test_tolerances.py (run it with -s):
# - correct variants (loops, einsum, in place, another order of operations) differ
#   from the reference by rounding only, ~1e-16; computing in float32 gives up to
#   ~2e-7 on the backward functions and ~8e-7 on optimize (a whole SGD step);
# - numerical gradients (h = 1e-5, float64) agree with the reference to ~1e-9;
# - the mildest catalogued mistake (optimize: parameters never updated) is 5e-2 away.
# 1e-5 sits between: more than tenfold from float32 work, thousandfold from any bug.
TOL = 1e-5


@dataclass
class Outcome:
    """The verdict on one graded function."""

    name: str
    passed: bool
    n_cases: int
    problems: list[str] = field(default_factory=list)
    mistake: str | None = None
    hint: str | None = None
    failed_cases: list[str] = field(default_factory=list)
    # what the points are shared among (``credit``), each earned or not; empty when the
    # function could not be judged at all
    parts: list[Earned] = field(default_factory=list)

    def earned(self) -> list[str]:
        """The parts judged right, when some are and some are not."""
        right = [p.name for p in self.parts if p.earned]
        return right if not self.passed and len(right) < len(self.parts) else []

    def message(self) -> str:
        if self.passed:
            return f"{self.name}: all {self.n_cases} test case(s) passed."
        lines = [f"{self.name} is not right yet."]
        lines += [f"  - {p}" for p in self.problems[:6]]
        if len(self.problems) > 6:
            lines.append(f"  - ... and {len(self.problems) - 6} more problem(s).")
        if self.earned():
            wrong = [p.name for p in self.parts if not p.earned]
            lines.append(
                f"  Already right: {', '.join(self.earned())} (these keep their share of the points); "
                f"still to fix: {', '.join(wrong)}."
            )
        if self.mistake:
            lines.append(f"  Hint: this looks like a known mistake: {self.mistake}. {self.hint}")
        return "\n".join(lines)


@dataclass
class Run:
    """What a run of a function produced (see ``runner.run_plan``)."""

    outputs: Arrays
    structure: dict[str, str]
    errors: dict[str, str]
    stdout: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None  # CPU time of the whole plan, where measured (the verify)
    # sample's cases run for their first draws only, and how many (``checks.judged``
    # under the grader): each is passed only if those draws are the course's own
    first_draws: dict[str, int] = field(default_factory=dict)
    # why this run says nothing about the student's code, when the grader is to blame (its
    # machine gave the function too little CPU): the submission is to be graded again
    grader_fault: str = ""


def compared_draws(repeat: int) -> int:
    """How many of a case's ``repeat`` draws the grading kernel first compares, draw for
    draw, with the course's own sampler (``checks.judged``): a third, at least 200.

    Every catalogued mistake of ``sample`` draws differently from the course's within the
    first 343 draws of every public case of 1,500 it fails (of which 500 are compared),
    and within 116 of a case of 300 (200 compared); most within the first 20. The late
    ones show rarely: a missed newline, one character too many at a low temperature.
    ``tests/test_check_repeat.py`` checks that each is judged as in a full run."""
    return min(repeat, max(repeat // 3, 200))


def draw_table(call: dict, seqs: list) -> np.ndarray | None:
    """The draws ``seqs`` of ``call`` as the rows of a table padded with -1, as the public
    vectors keep the course's first draws; None when one is not a list of ints of at most
    the call's ``max_length``."""
    width = _int_kwarg(call, "max_length", 50)
    table = np.full((len(seqs), width), -1, dtype=np.int64)
    for i, seq in enumerate(seqs):
        if not isinstance(seq, (list, tuple, np.ndarray)):
            return None
        try:
            seq = np.asarray(seq)
        except (ValueError, TypeError):  # ragged, or worse: not a draw
            return None
        if seq.ndim != 1 or seq.dtype.kind not in "iu" or not 0 < seq.size <= width:
            return None
        table[i, : seq.size] = seq
    return table


def course_draws(call: dict, seqs: list, expected: Arrays) -> bool:
    """Whether ``seqs`` are, draw for draw, the course's own first draws of ``call``."""
    course = expected.get(f"draws/{call['label']}")
    if course is None or len(seqs) != len(course):
        return False
    table = draw_table(call, seqs)
    return table is not None and np.array_equal(table, course)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _fmt_pair(yours: float, expected: float) -> tuple[str, str]:
    """Both numbers with enough digits to show that they differ (4 to 12)."""
    for digits in range(4, 13):
        a, b = f"{yours:.{digits}g}", f"{expected:.{digits}g}"
        if a != b:
            break
    return a, b


def _worst(got: np.ndarray, exp: np.ndarray) -> str:
    diff = np.abs(got.astype(np.float64) - exp.astype(np.float64))
    if diff.size == 0:
        return ""
    ix = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = f"[{', '.join(map(str, ix))}]" if diff.ndim else ""
    yours, expected = _fmt_pair(float(got[ix]), float(exp[ix]))
    return f" Worst entry{where}: yours {yours}, expected {expected}."


def _missing(run: Run, key: str, name: str) -> str:
    """Explain why ``key`` is absent, from the nearest container the student returned."""
    parts = key.split("/")
    for i in range(len(parts) - 1, 1, -1):
        parent = "/".join(parts[:i])
        kind = run.structure.get(parent)
        if kind is None:
            continue
        if kind == "None":
            return f"{name}: your function returned None here (a missing `return`?)."
        if kind.startswith("dict:"):
            keys = kind[5:].split(",") if kind[5:] else []
            return f"{name} is missing: the dict you returned has keys {keys}."
        if kind.startswith(("tuple:", "list:")):
            return f"{name} is missing: you returned {kind.split(':')[1]} item(s) there."
        return f"{name} is missing: you returned a {kind} there."
    return f"{name} is missing from what your function returned."


def compare(got: np.ndarray | None, exp: np.ndarray, name: str, against: str) -> str | None:
    """None if ``got`` matches ``exp``, else a sentence saying how it differs."""
    got = np.asarray(got)
    if got.shape != exp.shape:
        if _same_numbers(got, exp):
            return (
                f"{name} has shape {got.shape}, expected {exp.shape}. Its numbers are right: only the "
                "shape is wrong (a sum over an axis drops it unless you pass keepdims=True)."
            )
        return f"{name} has shape {got.shape}, expected {exp.shape}."
    if got.dtype.kind == "c":  # compared as floats, its imaginary part would be dropped
        return (
            f"{name} holds complex numbers (dtype {got.dtype}); it should hold real ones. "
            "A square root or a power of a negative array gives them."
        )
    if got.dtype.kind not in "biuf":  # bool, ints, floats: not dates, durations, records
        return f"{name} should hold numbers, but has dtype {got.dtype}."
    if not np.all(np.isfinite(got)):
        return f"{name} contains NaN or inf (a log of 0, or 0 / 0, gives them)."
    err = rel_error(got, exp)
    if err > TOL:
        return (
            f"{name} disagrees with {against}: relative error {err:.2g} "
            f"(should be below {TOL:g}).{_worst(got, exp)}"
        )
    return None


# Prefix of an error that happened around the function rather than inside it
# (a timeout, a crash, a missing function), as opposed to an exception it raised.
NOT_RUN = "could not be run: "


def error_text(error: str) -> str:
    """The words after "case 'x': " for a call that did not return."""
    if error.startswith(NOT_RUN):
        return f"your function {error}"
    return f"your function raised {error}"


def output_key(label: str, path: str) -> str:
    if path == "":  # the function returns one array, not a tuple or a dict
        return f"{label}/out"
    return f"{label}/{path}" if path.startswith("args/") else f"{label}/out/{path}"


def judge_values(spec: Spec, labels: list[str], run: Run, expected: Arrays) -> Outcome:
    """Every field of every case against the reference, and gradients against numerics."""
    problems, failed = [], []
    wrong: set[str] = set()  # outputs wrong in some case
    judged: set[str] = set()  # outputs some case compares
    for label in labels:
        if label in run.errors:
            problems.append(f"case '{label}': {error_text(run.errors[label])}")
            failed.append(label)
            wrong.update(spec.fields)
            continue
        if run.structure.get(f"{label}/out") == "None" and not any(
            p.startswith("args/") for p in spec.fields
        ):
            # one reason for every missing output: said once
            problems.append(f"case '{label}': your function returned None (a missing `return`?).")
            failed.append(label)
            wrong.update(spec.fields)
            continue
        case_problems = []
        reported: list[tuple[np.ndarray, np.ndarray]] = []  # (yours, expected) already explained
        for path, name in spec.fields.items():
            key = output_key(label, path)
            if key not in expected:
                continue  # this case does not have that output (e.g. extra clip keys)
            judged.add(path)
            if key not in run.outputs:
                case_problems.append(_missing(run, key, name))
                wrong.add(path)
                continue
            got = run.outputs[key]
            if _same_as_reported(got, expected[key], reported):
                wrong.add(path)  # wrong as well, e.g. a_next and cache[0] (a_next): said once
                continue
            problem = compare(got, expected[key], name, "the expected value")
            num = expected.get(f"num/{key}")
            if problem is None and num is not None:
                problem = compare(got, num, name, "the numerical gradient")
            elif problem is not None and num is not None and got.shape == num.shape:
                problem += f" (Numerical gradient check: relative error {rel_error(got, num):.2g}.)"
            if problem:
                case_problems.append(problem)
                reported.append((np.asarray(got), expected[key]))
                wrong.add(path)
        if case_problems:
            failed.append(label)
            # said once: a function with no `return` is missing every output for one reason
            problems += [f"case '{label}': {p}" for p in dict.fromkeys(case_problems)]
    outcome = Outcome(spec.name, not failed, len(labels), problems)
    outcome.failed_cases = failed
    outcome.parts = _parts(spec, labels, failed, run, wrong, judged)
    return outcome


def _parts(
    spec: Spec, labels: list[str], failed: list[str], run: Run, wrong: set[str], judged: set[str]
) -> list[Earned]:
    """Each part of ``spec``'s points, earned or not (``credit``): a part of outputs when
    they are right in every case, a case when it passed; nothing when the function could
    not be run (stopped for running too long, its process died, no such function), whatever
    else it returned. A part that no case judges (an output these cases do not have, such
    as clip's extra keys in the public case) is left out of the split."""
    not_run = any(str(e).startswith(NOT_RUN) for e in run.errors.values())
    if spec.shared_by_case:
        return [Earned(f"case '{label}'", 1, not not_run and label not in failed) for label in labels]
    return [
        Earned(p.name, p.weight, not not_run and not set(p.paths) & wrong)
        for p in spec.output_parts()
        if set(p.paths) & (judged | wrong)
    ]


def _same_as_reported(got: object, exp: np.ndarray, reported: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    got = np.asarray(got)
    if got.dtype.kind not in "biuf":  # records do not compare with numbers; ``compare`` says why
        return False
    return any(
        got.shape == g.shape
        and exp.shape == e.shape
        and g.dtype.kind in "biuf"
        and np.array_equal(got, g)
        and np.array_equal(exp, e)
        for g, e in reported
    )


def problem_kind(text: str) -> str:
    """What a message says, without the numbers and lines that vary: its first two parts."""
    return ":".join(text.split(" (in ")[0].split(":")[0:2])


def error_signature(error: str) -> str:
    """An error without the quoted line: the same mistake raises the same words."""
    return error.split(" (in ")[0]


def catalogued(mistakes: Arrays) -> list[int]:
    """Indices of the catalogued mistakes whose data ``mistakes`` holds."""
    return sorted(
        int(k[7:].split("/")[0]) for k in mistakes if k.startswith("mistake") and k.endswith("/name")
    )


def name_mistake(outcome: Outcome, spec: Spec, run: Run, data: Arrays) -> None:
    """Name the catalogued mistake the student's outputs show, by its effect.

    A mistake fits when, in every failed case, each output the student got wrong is
    the output the mistake gives there (the same numbers, whatever the shape), or the
    student's function fed a helper the same wrong inputs. Outputs the student got
    right may differ from the mistake's: that is the mistake made in fewer places
    (``dba`` overwritten but ``dWax`` summed). Of the mistakes that fit, the one that
    shares the most outputs with the student's is named. A correct function is never
    named: this runs only when a check failed. ``sample`` is named by its draws.
    """
    if spec.kind == "distribution":
        _name_sample_mistake(outcome, data)
        return
    best, best_shared = None, 0
    for i in catalogued(data):
        shared = _shared_effect(i, spec, run, data, outcome.failed_cases)
        if shared is not None and shared > best_shared:
            best, best_shared = i, shared
    if best is not None:
        outcome.mistake = str(data[f"mistake{best}/name"])
        outcome.hint = str(data[f"mistake{best}/hint"])


def _same_numbers(got: object, want: np.ndarray | None) -> bool:
    """``got`` holds ``want``'s numbers (to the tolerance), in whatever shape."""
    if want is None or got is None:
        return got is None and want is None
    try:
        got = np.asarray(got)
        if got.dtype.kind not in "biuf":  # complex: as floats, the imaginary part would vanish
            return False
        got = got.astype(np.float64).ravel()
    except (TypeError, ValueError):
        return False
    want = np.asarray(want, dtype=np.float64).ravel()
    return got.shape == want.shape and bool(np.all(np.isfinite(got))) and rel_error(got, want) <= TOL


def _shared_effect(i: int, spec: Spec, run: Run, data: Arrays, labels: list[str]) -> int | None:
    """How many outputs of the failed cases ``labels`` the student shares with mistake
    ``i``; None when one the student got wrong is not what the mistake gives."""
    prefix = f"mistake{i}/"
    shared = wrong = 0
    for label in labels:
        error = data.get(f"{prefix}{label}/error")
        if error is not None:  # the mistake gave a helper wrong inputs: the same ones?
            if label not in run.errors or error_signature(run.errors[label]) != str(error):
                return None
            keys = [k[len(prefix) :] for k in data if k.startswith(f"{prefix}{label}/helper")]
            if not all(_same_numbers(run.outputs.get(k), data[prefix + k]) for k in keys):
                return None
            shared, wrong = shared + len(keys) + 1, wrong + 1
            continue
        if label in run.errors:
            return None
        for path in spec.fields:
            key = output_key(label, path)
            if key not in data:
                continue  # this case has no such output
            got, theirs = run.outputs.get(key), data.get(prefix + key)
            right = got is not None and compare(got, data[key], "", "") is None
            if not right and got is not None and _same_numbers(got, data[key]):
                continue  # right numbers in the wrong shape: the message says so, no mistake explains it
            if _same_numbers(got, theirs):
                shared, wrong = shared + 1, wrong + (not right)
            elif not right:
                return None
    return shared if wrong else None


# --- sample: judged by its distribution ---------------------------------------------


def _chi2_fails(observed: np.ndarray, expected: np.ndarray) -> tuple[bool, float]:
    """Pearson's chi-square with categories of expected count < 5 pooled.

    The bound df + 6 sqrt(2 df) + 10 is about 6 standard deviations above the
    mean for a correct sampler, so an honest implementation essentially never
    fails, while argmax, a missing feedback or a wrong state is off by hundreds.
    """
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    if np.any(obs[~keep] > 0):
        return True, float("inf")  # drew something the model gives probability 0
    stat = float(np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep]))
    df = max(int(keep.sum()) - 1, 1)
    return stat > df + 6 * np.sqrt(2 * df) + 10, stat


def _step_problem(seqs: list[list[int]], step: int, expected: Arrays, probs: str) -> str | None:
    """Whether character ``step`` of the draws follows the model: first its overall
    frequencies, then its frequencies after each prefix (a mistake can keep the overall
    frequencies and still draw the wrong letter after a given prefix)."""
    vocab = expected[probs].size
    by_prefix: dict[tuple[int, ...], np.ndarray] = {}
    for seq in seqs:
        if len(seq) > step:
            by_prefix.setdefault(tuple(seq[:step]), np.zeros(vocab))[seq[step]] += 1
    if sum(c.sum() for c in by_prefix.values()) < 50:
        return "too few"
    expect = {k: c.sum() * expected[probs + "-".join(map(str, k))] for k, c in by_prefix.items()}
    obs, exp = sum(by_prefix.values()), sum(expect.values())
    if _chi2_fails(obs, exp)[0]:
        top = int(np.argmax(np.abs(obs - exp)))
        return (
            f"does not follow the model's softmax: index {top} was drawn {int(obs[top])} times "
            f"out of {int(obs.sum())}, the model expects about {exp[top]:.0f}."
        )
    keys = sorted(by_prefix)
    if (
        step
        and _chi2_fails(
            np.concatenate([by_prefix[k] for k in keys]), np.concatenate([expect[k] for k in keys])
        )[0]
    ):
        prefix, top = max(
            ((k, i) for k in keys for i in range(vocab)),
            key=lambda ki: abs(by_prefix[ki[0]][ki[1]] - expect[ki[0]][ki[1]]),
        )
        return (
            f"does not follow the model's softmax: after the indices {list(prefix)}, index {top} was "
            f"drawn {int(by_prefix[prefix][top])} times out of {int(by_prefix[prefix].sum())}, "
            f"the model expects about {expect[prefix][top]:.0f}."
        )
    return None


def _int_kwarg(call: dict, name: str, default: int) -> int:
    """An int keyword argument of an encoded call (others, such as floats, live in arrays)."""
    for key, value in call["kwargs"].get("__items__", []):
        if key == name and isinstance(value, int):
            return value
    return default


def judge_distribution(spec: Spec, calls: list[dict], run: Run, expected: Arrays) -> Outcome:
    """Check the sequences ``sample`` drew: the stopping rules, then the distribution of
    the first three characters against the model's own softmax, overall and after
    each prefix."""
    problems: list[str] = []
    failed: list[str] = []
    for call in calls:
        label = call["label"]
        repeat = run.first_draws.get(label, call["repeat"])
        max_length = _int_kwarg(call, "max_length", 50)
        vocab = expected[f"probs/{label}/"].size
        newline = vocab - 1
        if label in run.errors:
            problems.append(f"case '{label}': {error_text(run.errors[label])}")
            failed.append(label)
            continue
        seqs, bad = [], None
        for i in range(repeat):
            key = f"{label}/out/{i}"
            seq = run.outputs.get(key)
            kind = run.structure.get(key, "")
            if seq is None:
                bad = bad or (
                    "returned None (a missing `return`?)"
                    if kind == "None"
                    else "returned an empty or non-list value"
                    if kind != "list:0"
                    else "returned an empty list"
                )
                continue
            seq = np.asarray(seq)
            if seq.ndim != 1 or seq.dtype.kind not in "iu":  # signed or unsigned integers
                bad = bad or f"should return a list of ints, got shape {seq.shape}, dtype {seq.dtype}"
                continue
            # thousands of short draws: checked as Python lists, which is ten times quicker
            drawn = seq.tolist()
            if not drawn:  # an empty array (an empty list never reaches here: see ``flatten``)
                bad = bad or "returned an empty list"
            elif min(drawn) < 0 or max(drawn) >= vocab:
                bad = bad or f"returned an index outside the vocabulary: {drawn}"
            elif len(drawn) > max_length:
                bad = bad or f"returned {len(drawn)} indices with max_length={max_length}"
            elif newline in drawn[:-1]:
                bad = bad or f"kept going after the newline (index {newline}): {drawn}"
            elif len(drawn) < max_length and drawn[-1] != newline:
                bad = bad or (
                    f"stopped after {len(drawn)} characters without a newline "
                    f"(max_length={max_length}): {drawn}"
                )
            else:
                seqs.append(drawn)
        if bad:
            problems.append(f"case '{label}': your sample {bad}.")
            failed.append(label)
            continue
        if label in run.first_draws:
            if not course_draws(call, seqs, expected):
                raise ValueError(f"case {label!r}: first draws that are not the course's need a full run")
            continue  # the course's own draws, draw for draw: they follow the model
        for step in range(JUDGED_CHARACTERS):
            problem = _step_problem(seqs, step, expected, f"probs/{label}/")
            if problem == "too few":
                break
            if problem:
                problems.append(f"case '{label}': character {step + 1} of your samples {problem}")
                failed.append(label)
                break
    outcome = Outcome(spec.name, not problems, len(calls), problems)
    outcome.failed_cases = failed
    outcome.parts = _parts(spec, [c["label"] for c in calls], failed, run, set(), set())
    return outcome


def _name_sample_mistake(outcome: Outcome, mistakes: Arrays) -> None:
    """A mistake is named when its own draws fail in the same way (same first problem).

    Several mistakes can fail alike; then all of them are offered.
    """
    first = problem_kind(outcome.problems[0])
    alike = [i for i in catalogued(mistakes) if problem_kind(str(mistakes[f"mistake{i}/signature"])) == first]
    if alike:
        outcome.mistake = " or ".join(str(mistakes[f"mistake{i}/name"]) for i in alike)
        outcome.hint = " ".join(str(mistakes[f"mistake{i}/hint"]) for i in alike)


def judge(spec: Spec, calls: list[dict], run: Run, expected: Arrays) -> Outcome:
    """The verdict on ``spec``'s function from its run and the expected data."""
    if spec.kind == "distribution":
        return judge_distribution(spec, calls, run, expected)
    return judge_values(spec, [c["label"] for c in calls], run, expected)
