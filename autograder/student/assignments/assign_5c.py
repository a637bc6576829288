"""assign_5c (bonus): the GRU's backward pass. Its graded functions and their cases.

Found by ``autograder.student.specs`` (every ``assign_*`` module of this folder is an
assignment); its notebooks are ``solutions/assign_5c/assign_5c.ipynb`` and
``notebooks/assign_5c/assign_5c.ipynb``, its mistake catalogue
``autograder/instructor/mistakes/assign_5c.py``.

Every gradient is compared with the reference's and with a centered-difference gradient
of the reference's ``gru_forward`` (the loss ``sum(da * a)``), on caches the reference's
forward pass builds: 5a's cache layout, 5a's GRU.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from autograder.student.cases import Arrays, Case, Spec, dims, numerical_gradients, unsaturated

TITLE = "the GRU's backward pass, and a task where gates win"

GATES = ("Wz", "Wr", "Wh", "bz", "br", "bh")


def gru_params(rng: np.random.Generator, d: dict) -> dict[str, np.ndarray]:
    """GRU parameters whose pre-activations have about unit variance: gates and candidate
    away from saturation, where every path of the gradient carries weight (a dropped
    sigmoid or tanh derivative shows) and float32 work keeps its digits."""
    scale = unsaturated(d)
    n_x, n_a, n_y = d["n_x"], d["n_a"], d["n_y"]
    p = {k: rng.standard_normal((n_a, n_a + n_x)) * scale for k in ("Wz", "Wr", "Wh")}
    p.update({k: rng.standard_normal((n_a, 1)) * 0.5 for k in ("bz", "br", "bh")})
    p.update(Wy=rng.standard_normal((n_y, n_a)), by=rng.standard_normal((n_y, 1)))
    return p


def _cell_backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in dims(hidden):
        xt = rng.standard_normal((d["n_x"], d["m"]))
        a_prev = rng.standard_normal((d["n_a"], d["m"]))
        p = gru_params(rng, d)
        da_next = rng.standard_normal((d["n_a"], d["m"]))

        def numerical(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> Arrays:
            xt, a_prev, p = xt.copy(), a_prev.copy(), {k: v.copy() for k, v in p.items()}

            def a_next() -> np.ndarray:
                return ref.gru_forward(xt[:, :, None], a_prev, p)[0][:, :, 0]

            wrt = {"dxt": xt, "da_prev": a_prev, **{f"d{k}": p[k] for k in GATES}}
            return numerical_gradients(a_next, da_next, wrt)

        def args(ref: ModuleType, xt=xt, a_prev=a_prev, p=p, da_next=da_next) -> tuple:
            cell_caches, _ = ref.gru_forward(xt[:, :, None], a_prev, p)[2]
            return da_next, cell_caches[0]

        cases.append(Case(label, args, numerical=numerical))
    return cases


def _backward_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    cases = []
    for label, d in dims(hidden):
        x = rng.standard_normal((d["n_x"], d["m"], d["T"]))
        a0 = rng.standard_normal((d["n_a"], d["m"]))
        p = gru_params(rng, d)
        da = rng.standard_normal((d["n_a"], d["m"], d["T"]))

        def numerical(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> Arrays:
            x, a0, p = x.copy(), a0.copy(), {k: v.copy() for k, v in p.items()}
            wrt = {"dx": x, "da0": a0, **{f"d{k}": p[k] for k in GATES}}
            return numerical_gradients(lambda: ref.gru_forward(x, a0, p)[0], da, wrt)

        def args(ref: ModuleType, x=x, a0=a0, p=p, da=da) -> tuple:
            return da, ref.gru_forward(x, a0, p)[2]

        cases.append(Case(f"{label}, T_x={d['T']}", args, numerical=numerical))
    return cases


GRADS = tuple(f"d{k}" for k in GATES)
CELL_BWD = {k: f"gradients['{k}']" for k in ("dxt", "da_prev", *GRADS)}
SEQ_BWD = {k: f"gradients['{k}']" for k in ("dx", "da0", *GRADS)}

SPECS: list[Spec] = [
    Spec("gru_cell_backward", "assign_5c", CELL_BWD, _cell_backward_cases),
    Spec("gru_backward", "assign_5c", SEQ_BWD, _backward_cases, deps=("gru_cell_backward",)),
]
