"""assign_5b: a character-level language model. Its graded functions and their cases.

Found by ``autograder.student.specs`` (every ``assign_*`` module of this folder is an
assignment); its notebooks are ``solutions/assign_5b/assign_5b.ipynb`` and
``notebooks/assign_5b/assign_5b.ipynb``, its mistake catalogue
``autograder/instructor/mistakes/assign_5b.py``.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from autograder.student.cases import (
    JUDGED_CHARACTERS,
    Arrays,
    Case,
    Part,
    Spec,
    dims,
    numerical_gradients,
    rnn_params,
    unsaturated,
)
from autograder.student.runner import RngSeed

TITLE = "a character-level language model"
# Its provided cells hold 5a's rnn_forward (5b trains on it): released after 5a's deadline.
CARRIES_ANSWERS_OF = {"assign_5a": ("rnn_forward",)}


def _cell_backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in dims(hidden):
        xt = rng.standard_normal((d["n_x"], d["m"]))
        a_prev = rng.standard_normal((d["n_a"], d["m"]))
        p = rnn_params(rng, d["n_x"], d["n_a"], d["n_y"], scale=unsaturated(d))
        da_next = rng.standard_normal((d["n_a"], d["m"]))

        def numerical(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> Arrays:
            xt, a_prev, p = xt.copy(), a_prev.copy(), {k: v.copy() for k, v in p.items()}

            def a_next() -> np.ndarray:
                return ref.rnn_forward(xt[:, :, None], a_prev, p)[0][:, :, 0]

            wrt = {"dxt": xt, "da_prev": a_prev, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
            return numerical_gradients(a_next, da_next, wrt)

        def args(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> tuple:
            cell_caches, _ = ref.rnn_forward(xt[:, :, None], a_prev, p)[2]
            return da_next, cell_caches[0]

        cases.append(Case(label, args, numerical=numerical))
    return cases


def _backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in dims(hidden):
        x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
        a0 = rng.standard_normal((d["n_a"], d["m"]))
        p = rnn_params(rng, d["n_x"], d["n_a"], d["n_y"], scale=unsaturated(d))
        da = rng.standard_normal((d["n_a"], d["m"], d["T"]))

        def numerical(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> Arrays:
            x, a0, p = x.copy(), a0.copy(), {k: v.copy() for k, v in p.items()}
            wrt = {"dx": x, "da0": a0, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
            return numerical_gradients(lambda: ref.rnn_forward(x, a0, p)[0], da, wrt)

        def args(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> tuple:
            return da, ref.rnn_forward(x, a0, p)[2]

        cases.append(Case(f"{label}, T_x={d['T']}", args, numerical=numerical))
    return cases


def _radius(rng: np.random.Generator, n_a: int, radius: float) -> np.ndarray:
    """A random Waa whose largest |eigenvalue| is ``radius``."""
    Waa = rng.standard_normal((n_a, n_a))
    return Waa * radius / np.max(np.abs(np.linalg.eigvals(Waa)))


def _flow_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    """Unsaturated weights, and recurrent weights of a chosen spectral radius with small
    inputs (the gradient shrinks or grows by orders of magnitude over the steps)."""
    sizes = [(label, d, None) for label, d in dims(hidden)]
    if not hidden:
        # a public label holds no decimal point: no float is kept as text (test_another_cpu)
        sizes.append(("spectral radius 3/2, small inputs, T_x=12", dict(n_x=3, n_a=6, n_y=2, m=1, T=12), 1.5))
    else:
        sizes.append(("spectral radius 0.5, T_x=9", dict(n_x=2, n_a=5, n_y=2, m=2, T=9), 0.5))
        sizes.append(("spectral radius 1.5, small inputs, T_x=10", dict(n_x=3, n_a=4, n_y=2, m=1, T=10), 1.5))
    cases = []
    for label, d, radius in sizes:
        x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
        a0 = rng.standard_normal((d["n_a"], d["m"])) * (0.01 if radius else 1.0)
        p = rnn_params(rng, d["n_x"], d["n_a"], d["n_y"], scale=unsaturated(d))
        if radius:
            p["Waa"], p["Wax"] = _radius(rng, d["n_a"], radius), p["Wax"] * 0.01
        da_last = rng.standard_normal((d["n_a"], d["m"]))

        def numerical(ref: ModuleType, x=x, a0=a0, p=p, da_last=da_last) -> Arrays:
            """norms[t] from centered differences: the last state as a function of a[:, :, t]."""
            a = ref.rnn_forward(x, a0, p)[0]
            T_x = x.shape[2]
            norms = np.zeros(T_x)
            norms[-1] = np.linalg.norm(da_last)
            for t in range(T_x - 1):
                a_t = a[:, :, t].copy()
                last = lambda a_t=a_t, t=t: ref.rnn_forward(x[:, :, t + 1 :], a_t, p)[0][:, :, -1]
                norms[t] = np.linalg.norm(numerical_gradients(last, da_last, {"": a_t})[""])
            return {"": norms}

        def args(ref: ModuleType, x=x, a0=a0, p=p, da_last=da_last) -> tuple:
            return da_last, ref.rnn_forward(x, a0, p)[2]

        suffix = "" if radius else f", T_x={d['T']}"
        cases.append(Case(f"{label}{suffix}", args, numerical=numerical))
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


def _clip_by_norm_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def grads(keys: tuple[str, ...], scale: float) -> dict[str, np.ndarray]:
        shapes = {"dWax": (5, 3), "dWaa": (5, 5), "dWya": (2, 5), "dba": (5, 1), "dby": (2, 1)}
        return {k: rng.standard_normal(shapes.get(k, (4, 2))) * scale for k in keys}

    if not hidden:
        return [
            Case("max_norm=10, global norm about 50", (grads(GRAD_KEYS + ("dx",), 6.0), 10)),
            Case("max_norm=5, global norm below it: unchanged", (grads(GRAD_KEYS, 0.3), 5)),
        ]
    return [
        Case("max_norm=5, every array below 5 but the global norm above", (grads(GRAD_KEYS, 0.6), 5)),
        Case("max_norm=1.5 and extra keys dx, da0", (grads(GRAD_KEYS + ("dx", "da0"), 3.0), 1.5)),
        Case("max_norm=50, global norm below it: unchanged", (grads(GRAD_KEYS, 2.0), 50)),
    ]


def _bigram_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    def vocab(names: list[str], extra: str = "") -> dict[str, int]:
        return {ch: i for i, ch in enumerate(sorted(set("".join(names)) | set(extra) | {"\n"}))}

    if not hidden:
        names = ["neon", "argon", "on", "xenon"]
        return [
            Case("4 names", (names, vocab(names))),
            Case("a vocabulary with letters no name uses", (["ab", "ba", "abba"], vocab([], "abcdz"))),
        ]
    letters = "abcdefg"
    drawn = ["".join(rng.choice(list(letters), size=int(rng.integers(1, 7)))) for _ in range(12)]
    return [
        Case("12 random names", (drawn, vocab(drawn, letters))),
        Case("one-letter names and repeated letters", (["a", "aa", "aaa", "b"], vocab([], "abc"))),
        Case("no names at all", ([], vocab([], "xyz"))),
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
        p["by"][-1] += 0.5  # a likelier newline: shorter names (how short depends on the salt)
        return p

    def drawn_at(temperature: float) -> dict:
        # The judge reads the first characters of each draw; a high temperature flattens the
        # newline away (names of 15 to 30 characters), so these draws stop there.
        return {"temperature": temperature, "max_length": JUDGED_CHARACTERS}

    if not hidden:
        short = params(4, 5)
        short["by"][-1] -= 4.0
        return [
            # max_length bounds a draw that never stops (a sampler that misses the newline
            # ran to the default 50 characters: eight times the check's time, in the kernel)
            Case(
                "vocabulary of 6, 1500 draws",
                (params(6, 8), lm_vocab(6), RngSeed(5)),
                {"max_length": 2 * JUDGED_CHARACTERS},
                repeat=1500,
            ),
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
            Case("temperature 1/2", (params(5, 6), lm_vocab(5), RngSeed(8)), drawn_at(0.5), repeat=1500),
            Case("temperature 2", (params(5, 6), lm_vocab(5), RngSeed(9)), drawn_at(2.0), repeat=1500),
        ]
    v1, v2 = lm_vocab(7), lm_vocab(5)
    rare_newline = params(5, 6)
    rare_newline["by"][-1] -= 4.0
    return [
        # max_length bounds the cost of a draw under every salt (names average 4 to 45
        # characters across salts when only the newline stops them)
        Case(
            "vocabulary of 7, 2000 draws",
            (params(7, 9), v1, RngSeed(17)),
            {"max_length": 2 * JUDGED_CHARACTERS},
            repeat=2000,
        ),
        Case(
            "max_length=4 with a rare newline",
            (rare_newline, v2, RngSeed(23)),
            {"max_length": 4},
            repeat=1000,
        ),
        Case(
            "letters in a cycle", (_cycle_params(4), lm_vocab(5), RngSeed(29)), {"max_length": 4}, repeat=400
        ),
        Case("temperature 0.7", (params(6, 5), lm_vocab(6), RngSeed(31)), drawn_at(0.7), repeat=2000),
        Case("temperature 1.6", (params(4, 7), lm_vocab(4), RngSeed(37)), drawn_at(1.6), repeat=2000),
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
            return numerical_gradients(loss, np.array(1.0), {f"1/d{k}": q[k] for k in q})

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
        kwargs = dict(num_iterations=iters, n_a=n_a, learning_rate=lr, seed=seed)
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


CELL_BWD = {f"{k}": f"gradients['{k}']" for k in ("dxt", "da_prev", "dWax", "dWaa", "dba")}
SEQ_BWD = {f"{k}": f"gradients['{k}']" for k in ("dx", "da0", "dWax", "dWaa", "dba")}
CLIPPED = {k: f"gradients['{k}']" for k in GRAD_KEYS + ("dx", "da0")}
LM_DEPS = ("softmax", "rnn_forward", "one_hot", "lm_forward", "lm_backward", "initialize_parameters")


# Partial credit (README, "Points"): the backward functions share their points equally
# among their five gradients (the default: one part per compared output); sample's by its
# cases (the default when no output is compared), model's by its cases too (a bug in the
# loop shows in the losses and the trained parameters alike); clip's and optimize's by
# these weights. A part is earned when it is right in every hidden case.
CLIP_PARTS = (
    Part("the five parameter gradients", GRAD_KEYS, 4),
    Part("any other key (dx, da0)", ("dx", "da0"), 1),
)
OPTIMIZE_PARTS = (
    Part("loss", ("0",), 2),
    Part("gradients (clipped)", tuple(f"1/{k}" for k in GRAD_KEYS), 3),
    Part("a_last", ("2",), 1),
    Part("parameters after the update", tuple(f"args/3/{k}" for k in ("Wax", "Waa", "Wya", "ba", "by")), 4),
)

SPECS: list[Spec] = [
    Spec("rnn_cell_backward", "assign_5b", CELL_BWD, _cell_backward_cases),
    Spec("rnn_backward", "assign_5b", SEQ_BWD, _backward_cases, deps=("rnn_cell_backward",)),
    Spec("gradient_flow", "assign_5b", {"": "norms"}, _flow_cases, deps=("rnn_cell_backward",), by_case=True),
    Spec("clip", "assign_5b", CLIPPED, _clip_cases, parts=CLIP_PARTS),
    Spec("clip_by_norm", "assign_5b", CLIPPED, _clip_by_norm_cases, parts=CLIP_PARTS),
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
        parts=OPTIMIZE_PARTS,
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
        by_case=True,
    ),
    Spec("bigram_log_probs", "assign_5b", {"": "log_probs"}, _bigram_cases, by_case=True),
]
