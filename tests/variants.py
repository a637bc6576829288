"""Correct alternative implementations of every graded function, written as students would.

Each ``Variant`` is the full source of a student's solution cell: loops instead of
vectorised code, ``np.einsum``, in-place updates, another order of operations,
float32 arithmetic, extra helper functions and prints. None of them is an edit
of the reference. ``tests/test_variants.py`` proves they get full marks and
``tests/test_tolerances.py`` measures how far they are from the reference.

Helper functions have names unique across a notebook, because each variant
notebook holds one variant of every function of an assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from autograder.instructor.reference import reference
from autograder.student.specs import SPECS


@dataclass(frozen=True)
class Variant:
    function: str
    label: str
    source: str
    slot: int  # variants with the same slot share a notebook

    @property
    def id(self) -> str:
        return f"{self.function}-{self.label}"

    @property
    def assignment(self) -> str:
        return SPECS[self.function].assignment

    def load(self) -> ModuleType:
        """The variant defined next to the reference's helpers, as in a student's kernel."""
        module = ModuleType(f"variant_{self.function}_{self.slot}")
        module.__dict__.update(vars(reference(self.assignment)))
        exec(compile(self.source, f"<variant {self.id}>", "exec"), module.__dict__)  # noqa: S102
        return module


_SOURCES: dict[str, list[tuple[str, str]]] = {}


def variant(function: str, label: str, source: str) -> None:
    _SOURCES.setdefault(function, []).append((label, source))


# --- assign_5a ----------------------------------------------------------------------

variant(
    "rnn_cell_forward",
    "python loops",
    '''
import math


def rnn_cell_forward(xt, a_prev, parameters):
    """Entry by entry, with plain Python arithmetic."""
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    n_a, m = a_prev.shape
    n_x, n_y = xt.shape[0], Wya.shape[0]
    a_next = np.zeros((n_a, m))
    yt_pred = np.zeros((n_y, m))
    for j in range(m):
        for i in range(n_a):
            total = ba[i, 0]
            for k in range(n_a):
                total += Waa[i, k] * a_prev[k, j]
            for k in range(n_x):
                total += Wax[i, k] * xt[k, j]
            a_next[i, j] = math.tanh(total)
        logits = [by[i, 0] + sum(Wya[i, k] * a_next[k, j] for k in range(n_a)) for i in range(n_y)]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        for i in range(n_y):
            yt_pred[i, j] = exps[i] / sum(exps)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache
''',
)

variant(
    "rnn_cell_forward",
    "einsum, own softmax, prints",
    '''
def softmax_columns(z):
    """My own softmax: one distribution per column."""
    z = z - z.max(axis=0)
    e = np.exp(z)
    return e / e.sum(axis=0)


def rnn_cell_forward(xt, a_prev, parameters):
    p = parameters
    pre = np.einsum("ij,jm->im", p["Waa"], a_prev) + np.einsum("ij,jm->im", p["Wax"], xt) + p["ba"]
    print("pre-activation between", pre.min(), "and", pre.max())
    a_next = np.tanh(pre)
    yt_pred = softmax_columns(np.einsum("yi,im->ym", p["Wya"], a_next) + p["by"])
    print("columns of yt_pred sum to", yt_pred.sum(axis=0))
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
''',
)

variant(
    "rnn_cell_forward",
    "float32, in place, stacked weights",
    """
def rnn_cell_forward(xt, a_prev, parameters):
    f32 = np.float32
    W = np.hstack([parameters["Waa"], parameters["Wax"]]).astype(f32)
    a_next = W @ np.vstack([a_prev, xt]).astype(f32)
    a_next += parameters["ba"].astype(f32)
    np.tanh(a_next, out=a_next)
    logits = parameters["Wya"].astype(f32) @ a_next
    logits += parameters["by"].astype(f32)
    yt_pred = softmax(logits)
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
""",
)

variant(
    "rnn_forward",
    "while loop, views",
    """
def rnn_forward(x, a0, parameters):
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.empty((n_a, m, T_x))
    y_pred = np.empty((n_y, m, T_x))
    state = a0
    t = 0
    while t < T_x:
        state, y_t, cache = rnn_cell_forward(x[..., t], state, parameters)
        a[..., t], y_pred[..., t] = state, y_t
        caches.append(cache)
        t += 1
    return a, y_pred, (caches, x)
""",
)

variant(
    "rnn_forward",
    "inline cell, einsum, np.stack",
    """
def rnn_forward(x, a0, parameters):
    Wax, Waa, Wya, ba, by = (parameters[k] for k in ("Wax", "Waa", "Wya", "ba", "by"))
    states, predictions, caches = [], [], []
    a_prev = a0
    for xt in np.moveaxis(x, 2, 0):
        a_next = np.tanh(np.einsum("an,nm->am", Wax, xt) + np.einsum("ab,bm->am", Waa, a_prev) + ba)
        scores = np.exp(Wya @ a_next + by)
        predictions.append(scores / scores.sum(axis=0, keepdims=True))
        states.append(a_next)
        caches.append((a_next, a_prev, xt, parameters))
        a_prev = a_next
    return np.stack(states, axis=2), np.stack(predictions, axis=-1), (caches, x)
""",
)

variant(
    "rnn_forward",
    "float32",
    """
def rnn_forward(x, a0, parameters):
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    p32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    x32 = x.astype(np.float32)
    a = np.zeros((n_a, m, T_x), dtype=np.float32)
    y_pred = np.zeros((n_y, m, T_x), dtype=np.float32)
    a_next = a0.astype(np.float32)
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x32[:, :, t], a_next, p32)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)
""",
)

variant(
    "gru_cell_forward",
    "weight blocks, own sigmoid, another order",
    """
def logistic(v):
    return 1.0 / (1.0 + np.exp(-v))


def gru_cell_forward(xt, a_prev, parameters):
    n_a = a_prev.shape[0]

    def affine(name, h):
        W, b = parameters["W" + name], parameters["b" + name]
        return W[:, :n_a] @ h + W[:, n_a:] @ xt + b

    z = logistic(affine("z", a_prev))
    r = logistic(affine("r", a_prev))
    h_tilde = np.tanh(affine("h", r * a_prev))
    a_next = h_tilde + z * (a_prev - h_tilde)
    yt_pred = softmax(parameters["Wy"] @ a_next + parameters["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

variant(
    "gru_cell_forward",
    "einsum, vstack, prints",
    """
def gru_cell_forward(xt, a_prev, parameters):
    P = parameters
    both = np.vstack((a_prev, xt))
    gates = {g: np.einsum("ij,jm->im", P["W" + g], both) + P["b" + g] for g in "zr"}
    z, r = (0.5 * (1 + np.tanh(0.5 * gates[g])) for g in "zr")
    print("mean update gate", z.mean(), "mean reset gate", r.mean())
    h_tilde = np.tanh(np.einsum("ij,jm->im", P["Wh"], np.vstack((r * a_prev, xt))) + P["bh"])
    a_next = z * a_prev
    a_next += (1 - z) * h_tilde
    logits = np.einsum("ya,am->ym", P["Wy"], a_next) + P["by"]
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    yt_pred = e / e.sum(axis=0, keepdims=True)
    return a_next, yt_pred, (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

variant(
    "gru_cell_forward",
    "float32, one example at a time",
    """
def gru_cell_forward(xt, a_prev, parameters):
    P = {k: v.astype(np.float32) for k, v in parameters.items()}
    n_a, m = a_prev.shape
    n_y = P["Wy"].shape[0]
    outs = {k: np.zeros((n_a, m), dtype=np.float32) for k in ("a", "z", "r", "h")}
    yt_pred = np.zeros((n_y, m), dtype=np.float32)
    for j in range(m):
        h = a_prev[:, j:j + 1].astype(np.float32)
        x_j = xt[:, j:j + 1].astype(np.float32)
        stacked = np.concatenate([h, x_j])
        z = sigmoid(P["Wz"] @ stacked + P["bz"])
        r = sigmoid(P["Wr"] @ stacked + P["br"])
        cand = np.tanh(P["Wh"] @ np.concatenate([r * h, x_j]) + P["bh"])
        new = (1 - z) * cand + z * h
        outs["a"][:, j:j + 1], outs["z"][:, j:j + 1] = new, z
        outs["r"][:, j:j + 1], outs["h"][:, j:j + 1] = r, cand
        yt_pred[:, j:j + 1] = softmax(P["Wy"] @ new + P["by"])
    a_next = outs["a"]
    return a_next, yt_pred, (a_next, a_prev, xt, outs["z"], outs["r"], outs["h"], parameters)
""",
)

variant(
    "gru_forward",
    "while loop counting down",
    """
def gru_forward(x, a0, parameters):
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    remaining, state = T_x, a0
    while remaining:
        t = T_x - remaining
        state, y_t, cache = gru_cell_forward(x[:, :, t], state, parameters)
        a[:, :, t] = state
        y_pred[:, :, t] = y_t
        caches.append(cache)
        remaining -= 1
    return a, y_pred, (caches, x)
""",
)

variant(
    "gru_forward",
    "inline GRU, split weights, np.stack",
    """
def gru_step_inline(xt, h, P):
    n_a = h.shape[0]
    z = sigmoid(P["Wz"][:, :n_a] @ h + P["Wz"][:, n_a:] @ xt + P["bz"])
    r = sigmoid(P["Wr"][:, :n_a] @ h + P["Wr"][:, n_a:] @ xt + P["br"])
    h_tilde = np.tanh(P["Wh"][:, :n_a] @ (r * h) + P["Wh"][:, n_a:] @ xt + P["bh"])
    return z * h + (1 - z) * h_tilde, z, r, h_tilde


def gru_forward(x, a0, parameters):
    states, preds, caches = [], [], []
    h = a0
    for t in range(x.shape[2]):
        h_new, z, r, h_tilde = gru_step_inline(x[:, :, t], h, parameters)
        y = softmax(parameters["Wy"] @ h_new + parameters["by"])
        caches.append((h_new, h, x[:, :, t], z, r, h_tilde, parameters))
        states.append(h_new)
        preds.append(y)
        h = h_new
    return np.stack(states, axis=2), np.stack(preds, axis=2), (caches, x)
""",
)

variant(
    "gru_forward",
    "float32",
    """
def gru_forward(x, a0, parameters):
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    p32 = {k: np.asarray(v, dtype=np.float32) for k, v in parameters.items()}
    a = np.zeros((n_a, m, T_x), dtype=np.float32)
    y_pred = np.zeros((n_y, m, T_x), dtype=np.float32)
    a_next = np.asarray(a0, dtype=np.float32)
    for t in range(T_x):
        a_next, yt_pred, cache = gru_cell_forward(x[:, :, t].astype(np.float32), a_next, p32)
        a[:, :, t], y_pred[:, :, t] = a_next, yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)
""",
)

# --- assign_5b ----------------------------------------------------------------------

variant(
    "rnn_cell_backward",
    "loop over examples, np.outer",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    Wax, Waa = parameters["Wax"], parameters["Waa"]
    n_a, m = da_next.shape
    dxt, da_prev = np.zeros(xt.shape), np.zeros(a_prev.shape)
    dWax, dWaa, dba = np.zeros(Wax.shape), np.zeros(Waa.shape), np.zeros((n_a, 1))
    for j in range(m):
        dz = da_next[:, j] * (1.0 - a_next[:, j] * a_next[:, j])
        dxt[:, j] = Wax.T.dot(dz)
        da_prev[:, j] = Waa.T.dot(dz)
        dWax += np.outer(dz, xt[:, j])
        dWaa += np.outer(dz, a_prev[:, j])
        dba[:, 0] += dz
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}
""",
)

variant(
    "rnn_cell_backward",
    "einsum, sech^2 of the pre-activation, prints",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    Wax, Waa, ba = parameters["Wax"], parameters["Waa"], parameters["ba"]
    pre = Wax @ xt + Waa @ a_prev + ba
    dpre = da_next / np.cosh(pre) ** 2
    print("largest |dpre|:", np.abs(dpre).max())
    return {
        "dba": dpre.sum(axis=1).reshape(-1, 1),
        "dWaa": np.einsum("im,jm->ij", dpre, a_prev),
        "dWax": np.einsum("im,jm->ij", dpre, xt),
        "da_prev": np.einsum("ij,im->jm", Waa, dpre),
        "dxt": np.einsum("ij,im->jm", Wax, dpre),
    }
""",
)

variant(
    "rnn_cell_backward",
    "float32",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = (v.astype(np.float32) if isinstance(v, np.ndarray) else v
                                      for v in cache)
    Wax, Waa = parameters["Wax"].astype(np.float32), parameters["Waa"].astype(np.float32)
    dz = da_next.astype(np.float32)
    dz *= 1 - np.square(a_next)
    return {"dxt": Wax.T @ dz, "da_prev": Waa.T @ dz, "dWax": dz @ xt.T,
            "dWaa": dz @ a_prev.T, "dba": dz.sum(axis=1, keepdims=True)}
""",
)

variant(
    "rnn_backward",
    "while loop from the end",
    """
def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    gradients = {"dx": np.zeros((n_x, m, T_x)), "dWax": np.zeros((n_a, n_x)),
                 "dWaa": np.zeros((n_a, n_a)), "dba": np.zeros((n_a, 1))}
    carried = np.zeros((n_a, m))
    t = T_x - 1
    while t >= 0:
        step = rnn_cell_backward(carried + da[:, :, t], cell_caches[t])
        gradients["dx"][:, :, t] = step["dxt"]
        for key in ("dWax", "dWaa", "dba"):
            gradients[key] = gradients[key] + step[key]
        carried = step["da_prev"]
        t -= 1
    gradients["da0"] = carried
    return gradients
""",
)

variant(
    "rnn_backward",
    "inline, sums over time with einsum",
    """
def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    Wax, Waa = cell_caches[0][3]["Wax"], cell_caches[0][3]["Waa"]
    a = np.stack([c[0] for c in cell_caches], axis=2)
    a_prevs = np.stack([c[1] for c in cell_caches], axis=2)
    dz = np.zeros((n_a, m, T_x))
    flowing = np.zeros((n_a, m))
    for t in range(T_x - 1, -1, -1):
        dz[:, :, t] = (da[:, :, t] + flowing) * (1 - a[:, :, t] ** 2)
        flowing = Waa.T @ dz[:, :, t]
    return {
        "dx": np.einsum("an,amt->nmt", Wax, dz),
        "da0": flowing,
        "dWax": np.einsum("amt,nmt->an", dz, x),
        "dWaa": np.einsum("amt,bmt->ab", dz, a_prevs),
        "dba": dz.sum(axis=(1, 2))[:, np.newaxis],
    }
""",
)

variant(
    "rnn_backward",
    "float32 accumulators",
    """
def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    f32 = np.float32
    dx = np.zeros((n_x, m, T_x), dtype=f32)
    dWax, dWaa = np.zeros((n_a, n_x), dtype=f32), np.zeros((n_a, n_a), dtype=f32)
    dba, da_prevt = np.zeros((n_a, 1), dtype=f32), np.zeros((n_a, m), dtype=f32)
    for t in reversed(range(T_x)):
        grads = rnn_cell_backward((da[:, :, t] + da_prevt).astype(f32), cell_caches[t])
        dx[:, :, t] = grads["dxt"]
        da_prevt = grads["da_prev"].astype(f32)
        dWax += grads["dWax"].astype(f32)
        dWaa += grads["dWaa"].astype(f32)
        dba += grads["dba"].astype(f32)
    return {"dx": dx, "da0": da_prevt, "dWax": dWax, "dWaa": dWaa, "dba": dba}
""",
)

variant(
    "clip",
    "in place with np.clip(out=...)",
    """
def clip(gradients, max_value):
    for grad in gradients.values():
        np.clip(grad, -max_value, max_value, out=grad)
    return gradients
""",
)

variant(
    "clip",
    "np.minimum / np.maximum, prints",
    """
def clip(gradients, max_value):
    clipped = {}
    for key in sorted(gradients):
        clipped[key] = np.maximum(np.minimum(gradients[key], max_value), -max_value)
        print(f"{key}: {np.sum(clipped[key] != gradients[key])} entries clipped")
    return clipped
""",
)

variant(
    "clip",
    "entry by entry",
    """
def clip(gradients, max_value):
    out = dict()
    for key, grad in gradients.items():
        g = np.array(grad, dtype=float)
        flat = g.reshape(-1)
        for i in range(flat.size):
            if flat[i] > max_value:
                flat[i] = max_value
            elif flat[i] < -max_value:
                flat[i] = -max_value
        out[key] = g
    return out
""",
)

variant(
    "sample",
    "cumulative sum and rng.random()",
    """
def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
    Waa, Wax, Wya, by, ba = (parameters[k] for k in ("Waa", "Wax", "Wya", "by", "ba"))
    vocab_size, n_a = by.shape[0], Waa.shape[1]
    newline = char_to_ix["\\n"]
    x, a = np.zeros((vocab_size, 1)), np.zeros((n_a, 1))
    indices = []
    for _ in range(max_length):
        a = np.tanh(Wax @ x + Waa @ a + ba)
        cdf = np.cumsum(softmax((Wya @ a + by) / temperature))
        idx = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), vocab_size - 1)
        indices.append(idx)
        if idx == newline:
            break
        x = np.zeros_like(x)
        x[idx, 0] = 1
    return indices
""",
)

variant(
    "sample",
    "Gumbel-max trick, one-hot from np.eye",
    """
def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
    P = parameters
    vocab_size, n_a = P["by"].shape[0], P["Waa"].shape[1]
    eye = np.eye(vocab_size)
    x, a = np.zeros((vocab_size, 1)), np.zeros((n_a, 1))
    indices = []
    while True:
        a = np.tanh(P["Wax"] @ x + P["Waa"] @ a + P["ba"])
        logits = (P["Wya"] @ a + P["by"]).ravel() / temperature
        idx = int(np.argmax(logits + rng.gumbel(size=vocab_size)))
        indices.append(idx)
        if idx == char_to_ix["\\n"] or len(indices) == max_length:
            return indices
        x = eye[:, [idx]]
""",
)

variant(
    "sample",
    "inverse CDF by hand with the global np.random, float32 state, temperature on the probabilities",
    """
def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
    P = {k: v.astype(np.float32) for k, v in parameters.items()}
    vocab_size, n_a = P["by"].shape[0], P["Waa"].shape[1]
    x, a = np.zeros((vocab_size, 1), np.float32), np.zeros((n_a, 1), np.float32)
    indices = []
    while len(indices) < max_length:
        a = np.tanh(P["Wax"] @ x + P["Waa"] @ a + P["ba"])
        probs = softmax((P["Wya"] @ a + P["by"]).astype(np.float64)).ravel() ** (1 / temperature)
        u, idx, acc = np.random.random() * probs.sum(), 0, probs[0]
        while acc < u and idx < vocab_size - 1:
            idx += 1
            acc += probs[idx]
        indices.append(idx)
        if idx == char_to_ix["\\n"]:
            break
        x[:] = 0
        x[idx] = 1
    return indices
""",
)

variant(
    "optimize",
    "own loss and output-layer gradients, loops",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    x = one_hot(X, parameters["by"].shape[0])
    a, y_pred, caches = rnn_forward(x, a_prev, parameters)
    T = len(Y)
    loss = 0.0
    dy = y_pred.copy()
    for t in range(T):
        loss -= np.log(y_pred[Y[t], 0, t])
        dy[Y[t], 0, t] -= 1
    da = np.zeros_like(a)
    for t in range(T):
        da[:, :, t] = parameters["Wya"].T @ dy[:, :, t]
    gradients = rnn_backward(da, caches)
    gradients["dWya"] = sum(dy[:, :, t] @ a[:, :, t].T for t in range(T))
    gradients["dby"] = dy.sum(axis=(1, 2)).reshape(-1, 1)
    gradients = {k: np.clip(v, -5, 5) for k, v in gradients.items()}
    for name in parameters:
        parameters[name] -= learning_rate * gradients["d" + name]
    return loss, gradients, a[:, :, T - 1]
""",
)

variant(
    "optimize",
    "np.subtract(out=...), prints",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    gradients = clip(lm_backward(cache, parameters), 5)
    print("loss", loss, "largest gradient", max(np.abs(g).max() for g in gradients.values()))
    for key, value in parameters.items():
        np.subtract(value, learning_rate * gradients["d" + key], out=value)
    a = cache[0]
    return float(loss), gradients, a[:, :, a.shape[2] - 1]
""",
)

variant(
    "optimize",
    "float32, dict.update",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    p32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    loss, cache = lm_forward(X, Y, a_prev.astype(np.float32), p32)
    gradients = clip(lm_backward(cache, p32), 5.0)
    parameters.update({k: v - learning_rate * gradients["d" + k] for k, v in parameters.items()})
    return loss, gradients, cache[0][:, :, -1]
""",
)

variant(
    "model",
    "while loop, callback called",
    """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    vocab_size = len(char_to_ix)
    parameters = initialize_parameters(n_a, vocab_size, vocab_size, rng)
    names = [name for name in data]
    newline = char_to_ix["\\n"]
    losses, j = [], 0
    while j < num_iterations:
        if j % len(names) == 0:
            rng.shuffle(names)
        indices = [char_to_ix[ch] for ch in names[j % len(names)]]
        loss, _, _ = optimize([None, *indices], [*indices, newline], np.zeros((n_a, 1)), parameters,
                              learning_rate=learning_rate)
        losses.append(float(loss))
        if callback is not None:
            callback(j, parameters)
        j += 1
    return parameters, losses
""",
)

variant(
    "model",
    "examples made per epoch, prints progress",
    """
def make_example(name, char_to_ix):
    X = [None] + [char_to_ix[c] for c in name]
    return X, X[1:] + [char_to_ix["\\n"]]


def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    vocab_size = len(char_to_ix)
    parameters = initialize_parameters(n_a, vocab_size, vocab_size, rng)
    order = list(data)
    losses = []
    for j in range(num_iterations):
        if j % len(order) == 0:
            rng.shuffle(order)
            examples = [make_example(name, char_to_ix) for name in order]
        X, Y = examples[j % len(examples)]
        loss, gradients, a_last = optimize(X, Y, np.zeros((n_a, 1)), parameters, learning_rate)
        losses.append(loss)
        if j % 10 == 0:
            print(f"iteration {j}: loss {loss:.3f}")
    return parameters, losses
""",
)

variant(
    "model",
    "epochs as an outer loop",
    """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    vocab_size = len(char_to_ix)
    parameters = initialize_parameters(n_a, vocab_size, vocab_size, rng)
    names = data.copy()
    zeros = np.zeros((n_a, 1))
    losses = []
    while len(losses) < num_iterations:
        rng.shuffle(names)
        for name in names:
            if len(losses) == num_iterations:
                break
            X = [None] + [char_to_ix[c] for c in name]
            Y = X[1:] + [char_to_ix["\\n"]]
            loss, _, _ = optimize(X, Y, zeros.copy(), parameters, learning_rate)
            losses.append(loss)
            if callback:
                callback(len(losses) - 1, parameters)
    return parameters, losses
""",
)

variant(
    "gradient_flow",
    "norms collected backwards, then reversed",
    """
def gradient_flow(da_last, caches):
    cell_caches, x = caches
    collected = [np.linalg.norm(da_last.ravel())]
    da = da_last
    for t in range(len(cell_caches) - 1, 0, -1):
        da = rnn_cell_backward(da, cell_caches[t])["da_prev"]
        collected.append(np.linalg.norm(da.ravel()))
    return np.array(collected[::-1])
""",
)

variant(
    "gradient_flow",
    "the cell backward by hand, a list reversed",
    """
def gradient_flow(da_last, caches):
    cell_caches, _ = caches
    out, g = [], da_last
    for a_next, a_prev, xt, parameters in cell_caches[::-1]:
        out.append(np.sqrt((g**2).sum()))
        g = parameters["Waa"].T @ (g * (1 - a_next**2))
    return np.array(out[::-1])
""",
)

variant(
    "gradient_flow",
    "float32, a while loop",
    """
def gradient_flow(da_last, caches):
    cell_caches, x = caches
    t = len(cell_caches) - 1
    norms = np.zeros(t + 1, dtype=np.float32)
    da = da_last.astype(np.float32)
    while t >= 0:
        norms[t] = np.linalg.norm(da)
        da = rnn_cell_backward(da, cell_caches[t])["da_prev"].astype(np.float32)
        t -= 1
    return norms
""",
)

variant(
    "clip_by_norm",
    "np.linalg.norm of the concatenation",
    """
def clip_by_norm(gradients, max_norm):
    total = np.linalg.norm(np.concatenate([g.ravel() for g in gradients.values()]))
    if total <= max_norm:
        return {k: g.copy() for k, g in gradients.items()}
    return {k: g * (max_norm / total) for k, g in gradients.items()}
""",
)

variant(
    "clip_by_norm",
    "in place on copies, min of two factors",
    """
def clip_by_norm(gradients, max_norm):
    squares = 0.0
    for g in gradients.values():
        squares += float(np.vdot(g, g))
    factor = min(1.0, max_norm / (np.sqrt(squares) + 1e-300))
    out = {}
    for key, g in gradients.items():
        out[key] = g.copy()
        out[key] *= factor
    return out
""",
)

variant(
    "clip_by_norm",
    "norms of the arrays combined, float32",
    """
def clip_by_norm(gradients, max_norm):
    gradients = {k: g.astype(np.float32) for k, g in gradients.items()}
    norms = np.array([np.linalg.norm(g) for g in gradients.values()])
    total = np.linalg.norm(norms)
    scale = max_norm / total if total > max_norm else 1
    return dict(zip(gradients, (g * scale for g in gradients.values())))
""",
)

variant(
    "bigram_log_probs",
    "np.add.at, [next, prev]",
    """
def bigram_log_probs(names, char_to_ix):
    V, nl = len(char_to_ix), char_to_ix["\\n"]
    counts = np.ones((V, V))
    for name in names:
        seq = np.array([nl] + [char_to_ix[c] for c in name] + [nl])
        np.add.at(counts, (seq[1:], seq[:-1]), 1)
    return np.log(counts) - np.log(counts.sum(axis=0))
""",
)

variant(
    "bigram_log_probs",
    "a dict of pair counts, then a float32 table",
    """
from collections import Counter


def bigram_log_probs(names, char_to_ix):
    pairs = Counter()
    for name in names:
        text = "\\n" + name + "\\n"
        pairs.update(zip(text[:-1], text[1:]))
    V = len(char_to_ix)
    table = np.zeros((V, V), dtype=np.float32)
    for (prev, nxt), n in pairs.items():
        table[char_to_ix[nxt], char_to_ix[prev]] = n
    table += 1
    table /= table.sum(axis=0, keepdims=True)
    return np.log(table)
""",
)

variant(
    "bigram_log_probs",
    "[prev, next] counted, transposed at the end",
    """
def bigram_log_probs(names, char_to_ix):
    V = len(char_to_ix)
    nl = char_to_ix["\\n"]
    rows = np.zeros((V, V), dtype=np.int64)
    for name in names:
        prev = nl
        for ch in name + "\\n":
            rows[prev, char_to_ix[ch]] += 1
            prev = char_to_ix[ch]
    probs = (rows + 1) / (rows.sum(axis=1, keepdims=True) + V)
    return np.log(probs.T)
""",
)

# --- assign_5c ----------------------------------------------------------------------

variant(
    "gru_cell_backward",
    "loop over examples, Wh split into its a_prev and xt blocks",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, parameters = cache
    Wz, Wr, Wh = parameters["Wz"], parameters["Wr"], parameters["Wh"]
    n_a, m = a_prev.shape
    Wh_a, Wh_x = Wh[:, :n_a], Wh[:, n_a:]
    grads = {"dxt": np.zeros(xt.shape), "da_prev": np.zeros(a_prev.shape)}
    grads.update({k: np.zeros(parameters[k[1:]].shape) for k in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")})
    for j in range(m):
        g, ap, x_j = da_next[:, j], a_prev[:, j], xt[:, j]
        zj, rj, hj = z[:, j], r[:, j], h_tilde[:, j]
        s = np.concatenate([ap, x_j])
        du_h = g * (1 - zj) * (1 - hj * hj)
        grads["dWh"][:, :n_a] += np.outer(du_h, rj * ap)
        grads["dWh"][:, n_a:] += np.outer(du_h, x_j)
        grads["dbh"][:, 0] += du_h
        d_reset = Wh_a.T.dot(du_h)
        du_z = g * (ap - hj) * zj * (1 - zj)
        du_r = d_reset * ap * rj * (1 - rj)
        grads["dWz"] += np.outer(du_z, s)
        grads["dWr"] += np.outer(du_r, s)
        grads["dbz"][:, 0] += du_z
        grads["dbr"][:, 0] += du_r
        ds = Wz.T.dot(du_z) + Wr.T.dot(du_r)
        grads["da_prev"][:, j] = g * zj + d_reset * rj + ds[:n_a]
        grads["dxt"][:, j] = Wh_x.T.dot(du_h) + ds[n_a:]
    return grads
""",
)

variant(
    "gru_cell_backward",
    "einsum, gates recomputed from the parameters, prints",
    """
def gru_pre_activations(a_prev, xt, parameters):
    s = np.vstack([a_prev, xt])
    z = sigmoid(np.einsum("ij,jm->im", parameters["Wz"], s) + parameters["bz"])
    r = sigmoid(np.einsum("ij,jm->im", parameters["Wr"], s) + parameters["br"])
    s_reset = np.vstack([r * a_prev, xt])
    h = np.tanh(np.einsum("ij,jm->im", parameters["Wh"], s_reset) + parameters["bh"])
    return s, s_reset, z, r, h


def gru_cell_backward(da_next, cache):
    _, a_prev, xt, _, _, _, parameters = cache
    s, s_reset, z, r, h = gru_pre_activations(a_prev, xt, parameters)
    n_a = len(a_prev)
    du_h = da_next * (1 - z) * (1 - h**2)
    d_s_reset = np.einsum("ij,im->jm", parameters["Wh"], du_h)
    du_z = da_next * (a_prev - h) * z * (1 - z)
    du_r = d_s_reset[:n_a] * a_prev * r * (1 - r)
    d_s = np.einsum("ij,im->jm", parameters["Wz"], du_z) + np.einsum("ij,im->jm", parameters["Wr"], du_r)
    print("gate gradients:", np.abs(du_z).max(), np.abs(du_r).max())
    return {
        "dWz": np.einsum("im,jm->ij", du_z, s),
        "dWr": np.einsum("im,jm->ij", du_r, s),
        "dWh": np.einsum("im,jm->ij", du_h, s_reset),
        "dbz": du_z.sum(axis=1)[:, None],
        "dbr": du_r.sum(axis=1)[:, None],
        "dbh": du_h.sum(axis=1)[:, None],
        "da_prev": da_next * z + d_s_reset[:n_a] * r + d_s[:n_a],
        "dxt": d_s_reset[n_a:] + d_s[n_a:],
    }
""",
)

variant(
    "gru_cell_backward",
    "float32",
    """
def gru_cell_backward(da_next, cache):
    f32 = np.float32
    a_next, a_prev, xt, z, r, h_tilde = (v.astype(f32) for v in cache[:6])
    Wz, Wr, Wh = (cache[6][k].astype(f32) for k in ("Wz", "Wr", "Wh"))
    g = da_next.astype(f32)
    n_a = a_prev.shape[0]
    s = np.concatenate([a_prev, xt])
    s_reset = np.concatenate([r * a_prev, xt])
    du_h = g * (1 - z) * (1 - np.square(h_tilde))
    d_s_reset = Wh.T @ du_h
    du_z = g * (a_prev - h_tilde) * z * (1 - z)
    du_r = d_s_reset[:n_a] * a_prev * r * (1 - r)
    d_s = Wz.T @ du_z + Wr.T @ du_r
    return {"dxt": d_s_reset[n_a:] + d_s[n_a:], "da_prev": g * z + d_s_reset[:n_a] * r + d_s[:n_a],
            "dWz": du_z @ s.T, "dWr": du_r @ s.T, "dWh": du_h @ s_reset.T,
            "dbz": du_z.sum(axis=1, keepdims=True), "dbr": du_r.sum(axis=1, keepdims=True),
            "dbh": du_h.sum(axis=1, keepdims=True)}
""",
)

variant(
    "gru_backward",
    "while loop from the end, a dict of sums",
    """
def gru_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    sums = {k: 0.0 for k in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")}
    dx = np.empty((n_x, m, T_x))
    carried = np.zeros((n_a, m))
    t = T_x - 1
    while t >= 0:
        step = gru_cell_backward(carried + da[:, :, t], cell_caches[t])
        dx[:, :, t] = step["dxt"]
        for key in sums:
            sums[key] = sums[key] + step[key]
        carried = step["da_prev"]
        t -= 1
    return {"dx": dx, "da0": carried, **sums}
""",
)

variant(
    "gru_backward",
    "steps kept in a list, summed with np.sum at the end",
    """
def gru_backward(da, caches):
    cell_caches, x = caches
    T_x = da.shape[2]
    steps = [None] * T_x
    flowing = np.zeros_like(da[:, :, 0])
    for t in range(T_x - 1, -1, -1):
        steps[t] = gru_cell_backward(da[:, :, t] + flowing, cell_caches[t])
        flowing = steps[t]["da_prev"]
    out = {key: np.sum([step[key] for step in steps], axis=0)
           for key in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")}
    out["dx"] = np.stack([step["dxt"] for step in steps], axis=2)
    out["da0"] = flowing
    return out
""",
)

variant(
    "gru_backward",
    "float32 accumulators",
    """
def gru_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    f32 = np.float32
    dx = np.zeros((n_x, m, T_x), dtype=f32)
    acc = {k: np.zeros((n_a, n_a + n_x), dtype=f32) for k in ("dWz", "dWr", "dWh")}
    acc.update({k: np.zeros((n_a, 1), dtype=f32) for k in ("dbz", "dbr", "dbh")})
    da_prevt = np.zeros((n_a, m), dtype=f32)
    for t in reversed(range(T_x)):
        grads = gru_cell_backward((da[:, :, t] + da_prevt).astype(f32), cell_caches[t])
        dx[:, :, t] = grads["dxt"]
        da_prevt = grads["da_prev"].astype(f32)
        for k in acc:
            acc[k] += grads[k].astype(f32)
    return {"dx": dx, "da0": da_prevt, **acc}
""",
)

VARIANTS: list[Variant] = [
    Variant(function, label, source.lstrip("\n"), slot)
    for function, entries in _SOURCES.items()
    for slot, (label, source) in enumerate(entries)
]
VALUE_VARIANTS = [v for v in VARIANTS if SPECS[v.function].kind == "values"]
