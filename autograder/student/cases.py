"""The toolkit of a graded function's specs: ``Case``, ``Spec`` and the input makers the
assignments share (``student/assignments/<a>.py`` uses them).

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

from autograder.student.credit import Part
from autograder.student.gradcheck import eval_numerical_gradient_array

Arrays = dict[str, np.ndarray]


# sample is judged on the first characters of each draw (overall and after each prefix):
# the expected tables hold the prefixes of up to two characters.
JUDGED_CHARACTERS = 3


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
    # partial credit (``credit``): the points shared among these parts, each a group of
    # outputs with a weight; () = one part per output of ``fields``, of equal weight
    parts: tuple[Part, ...] = ()
    # shared among the cases instead, equally (None: so when no output is compared, sample)
    by_case: bool | None = None

    def __post_init__(self) -> None:
        if self.parts and self.shared_by_case:
            raise ValueError(f"{self.name}: parts of outputs, or shares by case, not both")
        seen = [p for part in self.parts for p in part.paths]
        if self.parts and sorted(seen) != sorted(self.fields):
            raise ValueError(
                f"{self.name}: its parts must hold every output of fields exactly once "
                f"(fields {sorted(self.fields)}, parts {sorted(seen)})"
            )
        if any(not isinstance(p.weight, int) or p.weight < 1 for p in self.parts):
            raise ValueError(f"{self.name}: a part's weight is a whole number of at least 1")

    @property
    def shared_by_case(self) -> bool:
        return bool(self.by_case) if self.by_case is not None else not self.fields

    def output_parts(self) -> tuple[Part, ...]:
        """The parts of the points judged by outputs (empty when shared by case)."""
        if self.shared_by_case:
            return ()
        return self.parts or tuple(Part(name, (path,)) for path, name in self.fields.items())

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


def dims(hidden: bool) -> list[tuple[str, dict]]:
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


def cell_forward_cases(params: Callable) -> Callable[[np.random.Generator, bool], list[Case]]:
    def make(rng: np.random.Generator, hidden: bool) -> list[Case]:
        cases = []
        for label, d in dims(hidden):
            xt = rng.standard_normal((d["n_x"], d["m"]))
            a_prev = rng.standard_normal((d["n_a"], d["m"]))
            cases.append(Case(label, (xt, a_prev, params(rng, d["n_x"], d["n_a"], d["n_y"]))))
        return cases

    return make


def sequence_forward_cases(params: Callable) -> Callable[[np.random.Generator, bool], list[Case]]:
    def make(rng: np.random.Generator, hidden: bool) -> list[Case]:
        cases = []
        for label, d in dims(hidden):
            x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
            a0 = rng.standard_normal((d["n_a"], d["m"]))
            p = params(rng, d["n_x"], d["n_a"], d["n_y"])
            cases.append(Case(f"{label}, T_x={d['T']}", (x, a0, p)))
        return cases

    return make


def numerical_gradients(f: Callable[[], np.ndarray], df: np.ndarray, wrt: dict[str, np.ndarray]) -> Arrays:
    return {path: eval_numerical_gradient_array(f, x, df) for path, x in wrt.items()}


def unsaturated(d: dict) -> float:
    """Weight scale giving pre-activations of unit variance. Saturated tanh units
    (1 - a**2 near 0) would make float32 work lose digits and hide a missing tanh
    derivative; unit variance keeps both effects away from the tolerance."""
    return float(1 / np.sqrt(d["n_x"] + d["n_a"] + 1))


CELL_FWD = {
    "0": "a_next",
    "1": "yt_pred",
    "2/0": "cache[0] (a_next)",
    "2/1": "cache[1] (a_prev)",
    "2/2": "cache[2] (xt)",
}
SEQ_FWD = {"0": "a", "1": "y_pred", "2/1": "caches[1] (x)"}

# Partial credit (``credit``): what each output is worth. The cache's copies of the
# inputs go with the main output: a stub that hands its inputs back earns nothing.
CELL_FWD_PARTS = (
    Part("a_next (and cache[0:3])", ("0", "2/0", "2/1", "2/2"), 1),
    Part("yt_pred", ("1",), 1),
)
SEQ_FWD_PARTS = (Part("a (and caches[1])", ("0", "2/1"), 1), Part("y_pred", ("1",), 1))
