"""The reference backward passes agree with centered-difference numerical gradients.

The forward passes come from ``solutions/assign_5a`` (the RNN and the GRU the students
build first) and the backward passes from ``solutions/assign_5b`` (the RNN's) and
``solutions/assign_5c`` (the GRU's), so these tests also pin down that the notebooks
agree on the cache layout. The gradient checker
itself is tested on functions whose gradients are known in closed form.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from autograder.instructor.reference import reference
from autograder.student.gradcheck import eval_numerical_gradient_array, rel_error

TOL = 1e-7
# (n_x, n_a, m, T_x): a typical case, the smallest one, and n_x > n_a with a longer sequence
SHAPES = [(3, 5, 4, 4), (1, 1, 1, 1), (6, 2, 3, 7)]
PARAMS = ("Wax", "Waa", "Wya", "ba", "by")


@pytest.fixture(scope="module")
def fwd() -> ModuleType:
    return reference("assign_5a")


@pytest.fixture(scope="module")
def bwd() -> ModuleType:
    return reference("assign_5b")


def rnn_params(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, scale: float) -> dict[str, np.ndarray]:
    shapes = {"Wax": (n_a, n_x), "Waa": (n_a, n_a), "Wya": (n_y, n_a), "ba": (n_a, 1), "by": (n_y, 1)}
    return {k: rng.standard_normal(s) * scale for k, s in shapes.items()}


def assert_gradients(analytic: dict[str, np.ndarray], numerical: dict[str, np.ndarray]) -> None:
    """Every numerical gradient has an analytic twin of the same shape within TOL."""
    # A centered difference has an absolute error near 1e-11 here (rounding, h = 1e-5): a
    # gradient below 1e-4 could not be checked to TOL, so the cases must not have one.
    tiny = {k: float(np.linalg.norm(v)) for k, v in numerical.items() if np.linalg.norm(v) < 1e-4}
    assert not tiny, f"gradients too small to check to {TOL} with centered differences: {tiny}"
    for key, num in numerical.items():
        assert key in analytic, f"gradients has no {key!r} (keys: {sorted(analytic)})"
        got = np.asarray(analytic[key])
        assert got.shape == num.shape, f"{key}: shape {got.shape}, expected {num.shape}"
        err = rel_error(got, num)
        assert err <= TOL, f"{key}: relative error {err:.3g} against the numerical gradient"


@pytest.mark.parametrize("n_x, n_a, m, _", SHAPES)
def test_rnn_cell_backward(fwd: ModuleType, bwd: ModuleType, n_x: int, n_a: int, m: int, _: int) -> None:
    """rnn_cell_backward is the vector-Jacobian product of rnn_cell_forward's a_next."""
    rng = np.random.default_rng(n_x * 100 + n_a * 10 + m)
    xt, a_prev = rng.standard_normal((n_x, m)), rng.standard_normal((n_a, m))
    p = rnn_params(rng, n_x, n_a, 2, scale=0.7)
    da_next = rng.standard_normal((n_a, m))

    cache = fwd.rnn_cell_forward(xt.copy(), a_prev.copy(), {k: v.copy() for k, v in p.items()})[2]
    grads = bwd.rnn_cell_backward(da_next, cache)

    def a_next() -> np.ndarray:
        return fwd.rnn_cell_forward(xt, a_prev, p)[0]

    wrt = {"dxt": xt, "da_prev": a_prev, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
    assert set(grads) == set(wrt)
    assert_gradients(grads, {k: eval_numerical_gradient_array(a_next, x, da_next) for k, x in wrt.items()})


@pytest.mark.parametrize("n_x, n_a, m, T_x", SHAPES)
def test_rnn_backward(fwd: ModuleType, bwd: ModuleType, n_x: int, n_a: int, m: int, T_x: int) -> None:
    """rnn_backward (BPTT) is the vector-Jacobian product of every hidden state of rnn_forward."""
    rng = np.random.default_rng(1000 + n_x * 100 + n_a * 10 + m)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    p = rnn_params(rng, n_x, n_a, 3, scale=0.7)
    da = rng.standard_normal((n_a, m, T_x))

    caches = fwd.rnn_forward(x.copy(), a0.copy(), {k: v.copy() for k, v in p.items()})[2]
    grads = bwd.rnn_backward(da, caches)

    def hidden_states() -> np.ndarray:
        return fwd.rnn_forward(x, a0, p)[0]

    wrt = {"dx": x, "da0": a0, "dWax": p["Wax"], "dWaa": p["Waa"], "dba": p["ba"]}
    assert set(grads) == set(wrt)
    assert_gradients(grads, {k: eval_numerical_gradient_array(hidden_states, v, da) for k, v in wrt.items()})


def lm_example(rng: np.random.Generator, vocab: int, length: int) -> tuple[list, list]:
    """X starts with None (the zero input), Y is X shifted left and ends with the newline."""
    chars = [int(i) for i in rng.integers(0, vocab - 1, size=length)]
    return [None] + chars, chars + [vocab - 1]


def lm_numerical(
    bwd: ModuleType, X: list, Y: list, a0: np.ndarray, p: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Numerical gradients of the cross-entropy of one name, for every parameter, a0 and x."""
    p, a0 = {k: v.copy() for k, v in p.items()}, a0.copy()
    one = np.array(1.0)

    def loss() -> np.ndarray:
        return np.array(bwd.lm_forward(X, Y, a0, p)[0])

    grads = {f"d{k}": eval_numerical_gradient_array(loss, p[k], one) for k in PARAMS}
    grads["da0"] = eval_numerical_gradient_array(loss, a0, one)

    # dx: the same cross-entropy, -sum_t log y_pred[Y[t], t], as a function of the one-hot input
    x = bwd.one_hot(X, p["by"].shape[0])

    def loss_of_x() -> np.ndarray:
        y_pred = bwd.rnn_forward(x, a0, p)[1]
        return np.array(-np.sum(np.log(y_pred[Y, 0, np.arange(len(Y))])))

    assert np.isclose(loss_of_x(), loss(), rtol=1e-12), "lm_forward is not the cross-entropy"
    grads["dx"] = eval_numerical_gradient_array(loss_of_x, x, one)
    return grads


@pytest.mark.parametrize("vocab, n_a, length", [(5, 4, 3), (3, 1, 1), (8, 6, 9)])
def test_lm_backward(bwd: ModuleType, vocab: int, n_a: int, length: int) -> None:
    """lm_backward gives the gradient of lm_forward's loss for every parameter, a0 and x."""
    rng = np.random.default_rng(vocab * 100 + n_a * 10 + length)
    X, Y = lm_example(rng, vocab, length)
    a0 = rng.standard_normal((n_a, 1)) * 0.5
    p = rnn_params(rng, vocab, n_a, vocab, scale=0.5)
    grads = bwd.lm_backward(bwd.lm_forward(X, Y, a0.copy(), p)[1], p)
    assert_gradients(grads, lm_numerical(bwd, X, Y, a0, p))


@pytest.mark.parametrize("scale, length, clipped", [(0.3, 4, False), (2.0, 20, True)])
def test_optimize_gradients(bwd: ModuleType, scale: float, length: int, clipped: bool) -> None:
    """optimize returns the loss gradients clipped to [-5, 5] and takes an SGD step with them."""
    rng = np.random.default_rng(int(scale * 10) + length)
    vocab, n_a, lr = 6, 5, 0.05
    X, Y = lm_example(rng, vocab, length)
    a0 = rng.standard_normal((n_a, 1)) * 0.5
    p = rnn_params(rng, vocab, n_a, vocab, scale=scale)
    numerical = lm_numerical(bwd, X, Y, a0, p)
    # each case must exercise what it claims: nothing to clip, or parameter gradients clipped
    if clipped:
        assert any(np.abs(numerical[f"d{k}"]).max() > 5 for k in PARAMS)
    else:
        assert all(np.abs(g).max() < 5 for g in numerical.values())

    updated = {k: v.copy() for k, v in p.items()}
    loss, grads, a_last = bwd.optimize(X, Y, a0.copy(), updated, lr)

    assert_gradients(grads, {k: np.clip(g, -5, 5) for k, g in numerical.items()})
    assert np.isclose(loss, bwd.lm_forward(X, Y, a0, p)[0], rtol=1e-12), "loss"
    last_state = bwd.rnn_forward(bwd.one_hot(X, vocab), a0, p)[0][:, :, -1]
    assert np.allclose(a_last, last_state, rtol=1e-12), "a_last is not the last hidden state"
    for k in PARAMS:
        step = p[k] - lr * np.clip(numerical[f"d{k}"], -5, 5)
        assert rel_error(updated[k], step) <= TOL, f"parameters[{k!r}] after the SGD step"


# --- the GRU (assign_5c) --------------------------------------------------------------

GRU_PARAMS = ("Wz", "Wr", "Wh", "bz", "br", "bh")
# SHAPES with n_a = 2 for the smallest: with one unit and one step the reset gate's gradients
# are often too small for a centered difference to check (see assert_gradients)
GRU_SHAPES = [(3, 5, 4, 4), (1, 2, 1, 1), (6, 2, 3, 7)]


@pytest.fixture(scope="module")
def gru() -> ModuleType:
    return reference("assign_5c")


def gru_params(
    rng: np.random.Generator, n_x: int, n_a: int, n_y: int, bz: float = 0.0
) -> dict[str, np.ndarray]:
    """Weights of unit-variance pre-activations; ``bz`` shifts the update gate (3: the
    long-range task's initialisation, z near 0.95)."""
    p = {k: rng.standard_normal((n_a, n_a + n_x)) / np.sqrt(n_a + n_x) for k in ("Wz", "Wr", "Wh")}
    p.update({k: rng.standard_normal((n_a, 1)) * 0.5 for k in ("bz", "br", "bh")})
    p["bz"] += bz
    p.update(Wy=rng.standard_normal((n_y, n_a)), by=rng.standard_normal((n_y, 1)))
    return p


@pytest.mark.parametrize("bz", [0.0, 3.0])
@pytest.mark.parametrize("n_x, n_a, m, _", GRU_SHAPES)
def test_gru_cell_backward(
    fwd: ModuleType, gru: ModuleType, n_x: int, n_a: int, m: int, _: int, bz: float
) -> None:
    """gru_cell_backward is the vector-Jacobian product of 5a's gru_cell_forward's a_next."""
    rng = np.random.default_rng(2000 + n_x * 100 + n_a * 10 + m)
    xt, a_prev = rng.standard_normal((n_x, m)), rng.standard_normal((n_a, m))
    p = gru_params(rng, n_x, n_a, 2, bz)
    da_next = rng.standard_normal((n_a, m))

    cache = fwd.gru_cell_forward(xt.copy(), a_prev.copy(), {k: v.copy() for k, v in p.items()})[2]
    grads = gru.gru_cell_backward(da_next, cache)

    def a_next() -> np.ndarray:
        return fwd.gru_cell_forward(xt, a_prev, p)[0]

    wrt = {"dxt": xt, "da_prev": a_prev, **{f"d{k}": p[k] for k in GRU_PARAMS}}
    assert set(grads) == set(wrt)
    assert_gradients(grads, {k: eval_numerical_gradient_array(a_next, x, da_next) for k, x in wrt.items()})


@pytest.mark.parametrize("bz", [0.0, 3.0])
@pytest.mark.parametrize("n_x, n_a, m, T_x", GRU_SHAPES)
def test_gru_backward(
    fwd: ModuleType, gru: ModuleType, n_x: int, n_a: int, m: int, T_x: int, bz: float
) -> None:
    """gru_backward (BPTT) is the vector-Jacobian product of every hidden state of 5a's gru_forward."""
    rng = np.random.default_rng(3000 + n_x * 100 + n_a * 10 + m)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    p = gru_params(rng, n_x, n_a, 3, bz)
    da = rng.standard_normal((n_a, m, T_x))

    caches = fwd.gru_forward(x.copy(), a0.copy(), {k: v.copy() for k, v in p.items()})[2]
    grads = gru.gru_backward(da, caches)

    def hidden_states() -> np.ndarray:
        return fwd.gru_forward(x, a0, p)[0]

    wrt = {"dx": x, "da0": a0, **{f"d{k}": p[k] for k in GRU_PARAMS}}
    assert set(grads) == set(wrt)
    assert_gradients(grads, {k: eval_numerical_gradient_array(hidden_states, v, da) for k, v in wrt.items()})


def test_assign_5c_provides_the_forward_passes_of_5a_and_5b(
    fwd: ModuleType, bwd: ModuleType, gru: ModuleType
) -> None:
    """The forward passes (and 5b's rnn_backward) that 5c's provided cell packages compute
    what 5a's and 5b's references compute, caches included."""
    rng = np.random.default_rng(7)
    x, a0 = rng.standard_normal((4, 3, 5)), rng.standard_normal((6, 3))
    p = gru_params(rng, 4, 6, 2)
    mine, theirs = gru.gru_forward(x, a0, p), fwd.gru_forward(x, a0, p)
    assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
    for c5c, c5a in zip(mine[2][0], theirs[2][0], strict=True):
        assert all(np.array_equal(u, v) for u, v in zip(c5c[:6], c5a[:6], strict=True))
    q = rnn_params(rng, 4, 6, 2, scale=0.7)
    da = rng.standard_normal((6, 3, 5))
    mine, theirs = gru.rnn_forward(x, a0, q), fwd.rnn_forward(x, a0, q)
    assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
    got, want = gru.rnn_backward(da, mine[2]), bwd.rnn_backward(da, bwd.rnn_forward(x, a0, q)[2])
    assert set(got) == set(want)
    for k in want:
        assert rel_error(got[k], want[k]) < 1e-12, k


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_last_step_loss_gradients(gru: ModuleType, kind: str) -> None:
    """The long-range task's loss (the last step's cross-entropy, averaged over the batch):
    its gradients, from the output layer and from rnn_backward or gru_backward, are those of
    the loss, for every parameter and the inputs."""
    rng = np.random.default_rng(11)
    x, labels = gru.remember_first_task(6, 5, rng)
    p = gru.initialize_model(kind, x.shape[0], 4, gru.N_SYMBOLS, rng)
    if kind == "GRU":  # the task's bz = 3 leaves the reset gate's gradients below what a centered
        p["bz"][:] = 0.0  # difference resolves (1e-4); test_gru_backward checks bz = 3
    loss, _, grads = gru.last_step_loss(kind, x, labels, p)
    one = np.array(1.0)

    def f() -> np.ndarray:
        return np.array(gru.last_step_loss(kind, x, labels, p)[0])

    assert np.isclose(f(), loss, rtol=1e-12)
    numerical = {f"d{k}": eval_numerical_gradient_array(f, p[k], one) for k in p}
    numerical["dx"] = eval_numerical_gradient_array(f, x, one)
    assert_gradients(grads, numerical)


@pytest.mark.parametrize("n_x, n_a, m, T_x", SHAPES)
def test_gradient_flow_is_the_norm_of_the_gradient_reaching_each_state(
    fwd: ModuleType, bwd: ModuleType, n_x: int, n_a: int, m: int, T_x: int
) -> None:
    """norms[t] = |d sum(da_last * a<T>) / d a<t>|, from centered differences of the forward
    pass started at step t + 1; norms[T_x - 1] = |da_last|."""
    rng = np.random.default_rng(n_x * 100 + n_a * 10 + T_x)
    x = rng.standard_normal((n_x, m, T_x))
    a0 = rng.standard_normal((n_a, m))
    p = rnn_params(rng, n_x, n_a, 2, scale=1 / np.sqrt(n_x + n_a + 1))
    da_last = rng.standard_normal((n_a, m))
    a, _, caches = fwd.rnn_forward(x, a0, p)
    norms = bwd.gradient_flow(da_last, caches)
    assert norms.shape == (T_x,)
    for t in range(T_x - 1):
        a_t = a[:, :, t].copy()
        last = lambda a_t=a_t, t=t: fwd.rnn_forward(x[:, :, t + 1 :], a_t, p)[0][:, :, -1]  # noqa: E731
        assert abs(norms[t] - np.linalg.norm(eval_numerical_gradient_array(last, a_t, da_last))) <= TOL * (
            1 + norms[t]
        ), f"norms[{t}]"
    assert np.isclose(norms[-1], np.linalg.norm(da_last), rtol=1e-12)


@pytest.mark.parametrize("scale, max_norm", [(3.0, 5.0), (0.1, 5.0), (1.0, 0.5)])
def test_clip_by_norm_caps_the_global_norm_and_keeps_the_direction(
    bwd: ModuleType, scale: float, max_norm: float
) -> None:
    rng = np.random.default_rng(int(scale * 10))
    grads = {
        "dWax": rng.standard_normal((5, 3)) * scale,
        "dba": rng.standard_normal((5, 1)) * scale,
        "dx": rng.standard_normal((4, 1, 2)) * scale,
    }
    before = {k: v.copy() for k, v in grads.items()}
    clipped = bwd.clip_by_norm(grads, max_norm)
    flat = lambda g: np.concatenate([v.ravel() for v in g.values()])  # noqa: E731
    norm = np.linalg.norm(flat(before))
    assert np.isclose(np.linalg.norm(flat(clipped)), min(norm, max_norm), rtol=1e-12)
    assert np.allclose(flat(clipped) * norm, flat(before) * min(norm, max_norm), rtol=1e-12), "direction kept"
    assert all(np.array_equal(grads[k], before[k]) for k in grads), "the input is left unchanged"
    assert {k: v.shape for k, v in clipped.items()} == {k: v.shape for k, v in before.items()}


def test_bigram_log_probs_counts_pairs_with_add_one(bwd: ModuleType) -> None:
    """Each column a distribution; the counts of "neon" and "on" by hand."""
    char_to_ix = {ch: i for i, ch in enumerate("\neno")}  # newline 0, e 1, n 2, o 3
    log_probs = bwd.bigram_log_probs(["neon", "on"], char_to_ix)
    assert np.allclose(np.exp(log_probs).sum(axis=0), 1.0)
    # after the start (newline): n once, o once, out of 2 names; V = 4
    assert np.allclose(np.exp(log_probs[:, 0]), np.array([0 + 1, 0 + 1, 1 + 1, 1 + 1]) / (2 + 4))
    # after n: e (neon), newline (neon, on) -> 3 pairs
    assert np.allclose(np.exp(log_probs[:, 2]), np.array([2 + 1, 1 + 1, 0 + 1, 0 + 1]) / (3 + 4))


# --- the checker itself ---------------------------------------------------------------


def test_numerical_gradient_of_elementwise_cube() -> None:
    """For f(x) = x**3 the vector-Jacobian product is 3 x**2 * df, and x is left unchanged."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2))
    df = rng.standard_normal(x.shape)
    before = x.copy()
    num = eval_numerical_gradient_array(lambda: x**3, x, df)
    assert num.shape == x.shape
    assert rel_error(num, 3 * before**2 * df) < 1e-8
    assert np.array_equal(x, before), "the checker must restore the perturbed entries"


def test_numerical_gradient_of_matmul() -> None:
    """For f = W @ X: d/dW = df @ X.T and d/dX = W.T @ df."""
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((3, 5)), rng.standard_normal((5, 2))
    df = rng.standard_normal((3, 2))
    assert rel_error(eval_numerical_gradient_array(lambda: W @ X, W, df), df @ X.T) < 1e-8
    assert rel_error(eval_numerical_gradient_array(lambda: W @ X, X, df), W.T @ df) < 1e-8


def test_numerical_gradient_detects_a_wrong_gradient() -> None:
    """The checker tells apart the right gradient of tanh from the usual wrong one."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(10)
    df = np.ones_like(x)
    num = eval_numerical_gradient_array(lambda: np.tanh(x), x, df)
    assert rel_error(num, 1 - np.tanh(x) ** 2) < 1e-8
    assert rel_error(num, 1 - x**2) > 1e-2


def test_rel_error() -> None:
    """0 for equal arrays (and for two zeros), symmetric, scale-free, 1 for opposite signs."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert rel_error(x, x.copy()) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(x, y) == rel_error(y, x) > 0
    assert np.isclose(rel_error(1e6 * x, 1e6 * y), rel_error(x, y))
    assert np.isclose(rel_error(x, -x), 1.0)
    assert np.isclose(rel_error(x, np.zeros_like(x)), 1.0)
    assert np.isclose(rel_error(np.array([1.0]), np.array([3.0])), 2 / 4)
