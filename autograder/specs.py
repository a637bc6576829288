"""What each graded function is tested on: its cases, the outputs compared, the gradients.

A ``Spec`` makes the test inputs (public cases for the self-checks, hidden ones
for grading, from different seeds and shapes) and knows which outputs to
compare. It never hard-codes an answer: expected values come from running the
reference in ``solutions/`` through the same runner, and gradients are also
checked against centered differences of the reference forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from autograder.gradcheck import eval_numerical_gradient_array
from autograder.runner import RngSeed

Arrays = dict[str, np.ndarray]


@dataclass
class Case:
    """One call of the graded function."""

    label: str  # shown to students: says what is special about this case
    args: tuple | Callable[[ModuleType], tuple]  # or made from the reference (caches)
    kwargs: dict = field(default_factory=dict)
    repeat: int = 1
    capture_args: bool = False
    # reference module -> {output path: numerical gradient}, for backward functions
    numerical: Callable[[ModuleType], Arrays] | None = None

    def call(self, ref: ModuleType | None = None) -> dict:
        """The runner's call description; ``ref`` builds inputs such as caches."""
        args = self.args(ref) if callable(self.args) else self.args
        return {
            "label": self.label,
            "args": args,
            "kwargs": self.kwargs,
            "repeat": self.repeat,
            "capture_args": self.capture_args,
        }


@dataclass
class Spec:
    """A graded function: where it lives, what it returns, how it is exercised."""

    name: str
    assignment: str
    fields: dict[str, str]  # output path -> how to call it in a message
    make_cases: Callable[[np.random.Generator, bool], list[Case]]
    # course functions the graded one may call; grading substitutes the reference's,
    # so a bug in rnn_cell_backward costs points there and not again in rnn_backward
    deps: tuple[str, ...] = ()
    kind: str = "values"  # "values" or "distribution" (sample)

    def cases(self, hidden: bool, salt: int = 0) -> list[Case]:
        """The public cases (seed 0), or the hidden ones (another seed, other shapes). A
        ``salt`` (the course's secret, on the instructor's side) draws other hidden numbers
        in the same shapes, so hidden inputs seen in another course or term are not these."""
        seed: int | list[int] = 0 if not hidden else 1 + sum(map(ord, self.name))
        if hidden and salt:
            seed = [seed, salt]
        return self.make_cases(np.random.default_rng(seed), hidden)


# --- input makers -------------------------------------------------------------------


def rnn_params(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, scale: float = 1.0):
    return {
        "Wax": rng.standard_normal((n_a, n_x)) * scale,
        "Waa": rng.standard_normal((n_a, n_a)) * scale,
        "Wya": rng.standard_normal((n_y, n_a)) * scale,
        "ba": rng.standard_normal((n_a, 1)) * scale,
        "by": rng.standard_normal((n_y, 1)) * scale,
    }


def gru_params(rng: np.random.Generator, n_x: int, n_a: int, n_y: int):
    p = {k: rng.standard_normal((n_a, n_a + n_x)) for k in ("Wz", "Wr", "Wh")}
    p.update({k: rng.standard_normal((n_a, 1)) for k in ("bz", "br", "bh")})
    p.update(Wy=rng.standard_normal((n_y, n_a)), by=rng.standard_normal((n_y, 1)))
    return p


def _dims(hidden: bool) -> list[tuple[str, dict]]:
    """(label, sizes) of each case; hidden cases use shapes the self-checks never show."""
    if not hidden:  # two shapes, so a shape bug shows before the hidden cases find it
        return [
            ("n_x=3, n_a=5, n_y=2, m=10", dict(n_x=3, n_a=5, n_y=2, m=10, T=4)),
            ("one example (m=1), n_x=4, n_a=2, n_y=3", dict(n_x=4, n_a=2, n_y=3, m=1, T=3)),
        ]
    return [
        ("n_x=4, n_a=6, n_y=3, m=7", dict(n_x=4, n_a=6, n_y=3, m=7, T=5)),
        ("a single example (m=1)", dict(n_x=2, n_a=3, n_y=5, m=1, T=3)),
        ("n_x > n_a", dict(n_x=7, n_a=2, n_y=4, m=3, T=6)),
    ]


def _cell_forward_cases(params: Callable) -> Callable[[np.random.Generator, bool], list[Case]]:
    def make(rng: np.random.Generator, hidden: bool) -> list[Case]:
        cases = []
        for label, d in _dims(hidden):
            xt = rng.standard_normal((d["n_x"], d["m"]))
            a_prev = rng.standard_normal((d["n_a"], d["m"]))
            cases.append(Case(label, (xt, a_prev, params(rng, d["n_x"], d["n_a"], d["n_y"]))))
        return cases

    return make


def _sequence_forward_cases(params: Callable) -> Callable[[np.random.Generator, bool], list[Case]]:
    def make(rng: np.random.Generator, hidden: bool) -> list[Case]:
        cases = []
        for label, d in _dims(hidden):
            x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
            a0 = rng.standard_normal((d["n_a"], d["m"]))
            p = params(rng, d["n_x"], d["n_a"], d["n_y"])
            cases.append(Case(f"{label}, T_x={d['T']}", (x, a0, p)))
        return cases

    return make


def _grad(f: Callable[[], np.ndarray], df: np.ndarray, wrt: dict[str, np.ndarray]) -> Arrays:
    return {path: eval_numerical_gradient_array(f, x, df) for path, x in wrt.items()}


def _unsaturated(d: dict) -> float:
    """Weight scale giving pre-activations of unit variance. Saturated tanh units
    (1 - a**2 near 0) would make float32 work lose digits and hide a missing tanh
    derivative; unit variance keeps both effects away from the tolerance."""
    return float(1 / np.sqrt(d["n_x"] + d["n_a"] + 1))


def _cell_backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in _dims(hidden):
        xt = rng.standard_normal((d["n_x"], d["m"]))
        a_prev = rng.standard_normal((d["n_a"], d["m"]))
        p = rnn_params(rng, d["n_x"], d["n_a"], d["n_y"], scale=_unsaturated(d))
        da_next = rng.standard_normal((d["n_a"], d["m"]))

        def numerical(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> Arrays:
            xt, a_prev, p = xt.copy(), a_prev.copy(), {k: v.copy() for k, v in p.items()}

            def a_next() -> np.ndarray:
                return ref.rnn_forward(xt[:, :, None], a_prev, p)[0][:, :, 0]

            wrt = {"dxt": xt, "da_prev": a_prev, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
            return _grad(a_next, da_next, wrt)

        def args(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> tuple:
            cell_caches, _ = ref.rnn_forward(xt[:, :, None], a_prev, p)[2]
            return da_next, cell_caches[0]

        cases.append(Case(label, args, numerical=numerical))
    return cases


def _backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in _dims(hidden):
        x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
        a0 = rng.standard_normal((d["n_a"], d["m"]))
        p = rnn_params(rng, d["n_x"], d["n_a"], d["n_y"], scale=_unsaturated(d))
        da = rng.standard_normal((d["n_a"], d["m"], d["T"]))

        def numerical(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> Arrays:
            x, a0, p = x.copy(), a0.copy(), {k: v.copy() for k, v in p.items()}
            wrt = {"dx": x, "da0": a0, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
            return _grad(lambda: ref.rnn_forward(x, a0, p)[0], da, wrt)

        def args(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> tuple:
            return da, ref.rnn_forward(x, a0, p)[2]

        cases.append(Case(f"{label}, T_x={d['T']}", args, numerical=numerical))
    return cases


GRAD_KEYS = ("dWax", "dWaa", "dWya", "dba", "dby")


def _clip_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def grads(keys: tuple[str, ...], scale: float) -> dict[str, np.ndarray]:
        shapes = {"dWax": (5, 3), "dWaa": (5, 5), "dWya": (2, 5), "dba": (5, 1), "dby": (2, 1)}
        return {k: rng.standard_normal(shapes.get(k, (4, 2))) * scale for k in keys}

    if not hidden:
        return [Case("max_value=10, some entries beyond it", (grads(GRAD_KEYS + ("dx",), 10.0), 10))]
    return [
        Case("max_value=5", (grads(GRAD_KEYS, 8.0), 5)),
        Case("max_value=1.5 and extra keys dx, da0", (grads(GRAD_KEYS + ("dx", "da0"), 3.0), 1.5)),
        Case("nothing to clip", (grads(GRAD_KEYS, 0.1), 5)),
    ]


def lm_vocab(size: int) -> dict[str, int]:
    """A vocabulary of ``size`` characters whose last index is the newline."""
    chars = "abcdefghijklmnopqrstuvwxyz"[: size - 1] + "\n"
    return {ch: i for i, ch in enumerate(chars)}


def _cycle_params(letters: int) -> dict[str, np.ndarray]:
    """A model that mostly writes the letters in a cycle (a -> b -> c -> a ...) and rarely
    a newline: hidden unit i fires on letter i and predicts letter i + 1. An input vector
    that keeps an earlier letter switches on two units, so the third character drawn
    falls between two letters instead of one: a one-hot input not reset shows at once."""
    vocab = letters + 1
    Wax = np.zeros((letters, vocab))
    Wax[:, :letters] = 3.0 * np.eye(letters)
    Wya = np.zeros((vocab, letters))
    Wya[(np.arange(letters) + 1) % letters, np.arange(letters)] = 3.0
    by = np.zeros((vocab, 1))
    by[-1] = -3.0
    Waa = 0.1 * np.eye(letters)
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "ba": np.zeros((letters, 1)), "by": by}


def _sample_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    # Strong input weights make the next-character distribution depend clearly on the
    # character just drawn, so not feeding it back shows up in the second step.
    def params(vocab: int, n_a: int) -> dict[str, np.ndarray]:
        p = rnn_params(rng, vocab, n_a, vocab, scale=1.0)
        p["Wax"] *= 2.0
        p["Wya"] *= 1.5
        p["by"][-1] += 0.5  # names of about four characters: enough steps, quick to draw
        return p

    if not hidden:
        short = params(4, 5)
        short["by"][-1] -= 4.0
        return [
            Case("vocabulary of 6, 1500 draws", (params(6, 8), lm_vocab(6), RngSeed(5)), repeat=1500),
            Case(
                "max_length=3 with a rare newline",
                (short, lm_vocab(4), RngSeed(6)),
                {"max_length": 3},
                repeat=300,
            ),
            Case(
                "letters in a cycle",
                (_cycle_params(3), lm_vocab(4), RngSeed(7)),
                {"max_length": 3},
                repeat=300,
            ),
        ]
    v1, v2 = lm_vocab(7), lm_vocab(5)
    rare_newline = params(5, 6)
    rare_newline["by"][-1] -= 4.0
    return [
        Case("vocabulary of 7, 2000 draws", (params(7, 9), v1, RngSeed(17)), repeat=2000),
        Case(
            "max_length=4 with a rare newline",
            (rare_newline, v2, RngSeed(23)),
            {"max_length": 4},
            repeat=1000,
        ),
        Case(
            "letters in a cycle", (_cycle_params(4), lm_vocab(5), RngSeed(29)), {"max_length": 4}, repeat=400
        ),
    ]


def _lm_example(rng: np.random.Generator, vocab: int, length: int) -> tuple[list, list]:
    chars = [int(i) for i in rng.integers(0, vocab - 1, size=length)]
    return [None] + chars, chars + [vocab - 1]


def _optimize_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def case(label: str, vocab: int, n_a: int, length: int, scale: float, lr: float) -> Case:
        X, Y = _lm_example(rng, vocab, length)
        a_prev = rng.standard_normal((n_a, 1)) * 0.5
        p = rnn_params(rng, vocab, n_a, vocab, scale=scale)

        def numerical(ref: ModuleType) -> Arrays:
            q = {k: v.copy() for k, v in p.items()}
            loss = lambda: np.array(ref.lm_forward(X, Y, a_prev, q)[0])
            return _grad(loss, np.array(1.0), {f"1/d{k}": q[k] for k in q})

        # only small weights keep every gradient inside [-5, 5], i.e. unclipped
        return Case(
            label,
            (X, Y, a_prev, p, lr),
            capture_args=True,
            numerical=numerical if scale < 1 else None,
        )

    if not hidden:
        return [
            case("vocabulary 5, n_a=4, a name of 3 characters", 5, 4, 3, 0.3, 0.01),
            case("large weights: clipping is active", 5, 6, 12, 1.5, 0.1),
        ]
    return [
        case("vocabulary 6, n_a=5, a name of 5 characters", 6, 5, 5, 0.3, 0.05),
        case("large weights: clipping is active", 4, 6, 7, 3.0, 0.1),
    ]


def _model_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def case(label: str, names: list[str], iters: int, n_a: int, lr: float, seed: int) -> Case:
        char_to_ix = {ch: i for i, ch in enumerate(sorted(set("".join(names)) | {"\n"}))}
        ix_to_char = {i: ch for ch, i in char_to_ix.items()}
        kwargs = dict(num_iterations=iters, n_a=n_a, learning_rate=lr, seed=seed, sample_every=0)
        return Case(label, (names, ix_to_char, char_to_ix), kwargs)

    if not hidden:
        return [case("4 names, 40 iterations", ["ab", "bca", "cab", "a"], 40, 5, 0.05, 3)]
    return [
        case(
            "6 names, 90 iterations",
            ["neon", "argon", "xenon", "krypton", "radon", "on"],
            90,
            7,
            0.05,
            int(rng.integers(100, 1000)),
        ),
        case("more iterations than names, one letter names", ["x", "y", "z"], 25, 3, 0.1, 8),
    ]


# --- the graded functions -----------------------------------------------------------

CELL_FWD = {
    "0": "a_next",
    "1": "yt_pred",
    "2/0": "cache[0] (a_next)",
    "2/1": "cache[1] (a_prev)",
    "2/2": "cache[2] (xt)",
}
SEQ_FWD = {"0": "a", "1": "y_pred", "2/1": "caches[1] (x)"}
CELL_BWD = {f"{k}": f"gradients['{k}']" for k in ("dxt", "da_prev", "dWax", "dWaa", "dba")}
SEQ_BWD = {f"{k}": f"gradients['{k}']" for k in ("dx", "da0", "dWax", "dWaa", "dba")}
LM_DEPS = ("softmax", "rnn_forward", "one_hot", "lm_forward", "lm_backward", "initialize_parameters")

SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec("rnn_cell_forward", "assign_5a", CELL_FWD, _cell_forward_cases(rnn_params), deps=("softmax",)),
        Spec(
            "rnn_forward",
            "assign_5a",
            SEQ_FWD,
            _sequence_forward_cases(rnn_params),
            deps=("softmax", "rnn_cell_forward"),
        ),
        Spec(
            "gru_cell_forward",
            "assign_5a",
            {**CELL_FWD, "2/3": "cache[3] (z)", "2/4": "cache[4] (r)", "2/5": "cache[5] (h_tilde)"},
            _cell_forward_cases(gru_params),
            deps=("softmax", "sigmoid"),
        ),
        Spec(
            "gru_forward",
            "assign_5a",
            SEQ_FWD,
            _sequence_forward_cases(gru_params),
            deps=("softmax", "sigmoid", "gru_cell_forward"),
        ),
        Spec("rnn_cell_backward", "assign_5b", CELL_BWD, _cell_backward_cases),
        Spec("rnn_backward", "assign_5b", SEQ_BWD, _backward_cases, deps=("rnn_cell_backward",)),
        Spec("clip", "assign_5b", {k: f"gradients['{k}']" for k in GRAD_KEYS + ("dx", "da0")}, _clip_cases),
        Spec("sample", "assign_5b", {}, _sample_cases, deps=("softmax",), kind="distribution"),
        Spec(
            "optimize",
            "assign_5b",
            {
                "0": "loss",
                **{f"1/{k}": f"gradients['{k}']" for k in GRAD_KEYS},
                "2": "a_last",
                **{
                    f"args/3/{k}": f"parameters['{k}'] after the update"
                    for k in ("Wax", "Waa", "Wya", "ba", "by")
                },
            },
            _optimize_cases,
            deps=LM_DEPS + ("rnn_backward", "rnn_cell_backward", "clip"),
        ),
        Spec(
            "model",
            "assign_5b",
            {
                "1": "losses",
                **{f"0/{k}": f"the trained parameters['{k}']" for k in ("Wax", "Waa", "Wya", "ba", "by")},
            },
            _model_cases,
            deps=LM_DEPS + ("rnn_backward", "rnn_cell_backward", "clip", "sample", "optimize"),
        ),
    ]
}


def specs_for(assignment: str) -> list[Spec]:
    """The graded functions of ``assignment``, in notebook order."""
    return [s for s in SPECS.values() if s.assignment == assignment]
