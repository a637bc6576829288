"""Buggy implementations written as students write them, each making one catalogued mistake.

None of them is an edit of the reference: each is the full source of a student's
solution cell, in its own style (loops, split weight blocks, einsum, another formula
for the same wrong value, the mistake made in a different subset of the arrays).
``tests/test_hints.py`` proves the self-check and the grade cell's check fail each one
AND name the mistake it makes, i.e. that hints follow what a mistake does to the
outputs, not the exact text of one catalogued mutant.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from autograder.instructor.reference import reference
from autograder.student.specs import SPECS


@dataclass(frozen=True)
class Buggy:
    function: str
    mistake: str  # the name of the catalogued mistake it makes (autograder/instructor/mistakes.py)
    label: str  # how it is written
    source: str

    @property
    def id(self) -> str:
        return f"{self.function}-{self.label}"

    def load(self) -> ModuleType:
        """The function defined next to the reference's helpers, as in a student's kernel."""
        module = ModuleType(f"buggy_{self.function}")
        module.__dict__.update(vars(reference(SPECS[self.function].assignment)))
        exec(compile(self.source, f"<buggy {self.id}>", "exec"), module.__dict__)  # noqa: S102
        return module


BUGGY: list[Buggy] = []


def buggy(function: str, mistake: str, label: str, source: str) -> None:
    BUGGY.append(Buggy(function, mistake, label, source.lstrip("\n")))


# --- assign_5a ----------------------------------------------------------------------

buggy(
    "rnn_cell_forward",
    "softmax over the wrong axis",
    "own stable softmax over the batch",
    """
def rnn_cell_forward(xt, a_prev, parameters):
    p = parameters
    pre = np.einsum("ij,jm->im", p["Wax"], xt) + np.einsum("ij,jm->im", p["Waa"], a_prev)
    a_next = np.tanh(pre + p["ba"])
    logits = p["Wya"] @ a_next + p["by"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    yt_pred = e / e.sum(axis=1, keepdims=True)
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
""",
)

buggy(
    "rnn_cell_forward",
    "the bias ba is missing",
    "stacked weights, no bias",
    """
def rnn_cell_forward(xt, a_prev, parameters):
    W = np.hstack([parameters["Waa"], parameters["Wax"]])
    a_next = np.tanh(W @ np.vstack([a_prev, xt]))
    yt_pred = softmax(parameters["Wya"] @ a_next + parameters["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
""",
)

buggy(
    "rnn_cell_forward",
    "sigmoid instead of tanh",
    "the logistic written with tanh",
    """
def rnn_cell_forward(xt, a_prev, parameters):
    Wax, Waa, Wya, ba, by = (parameters[k] for k in ("Wax", "Waa", "Wya", "ba", "by"))
    pre = Wax @ xt + Waa @ a_prev + ba
    a_next = 0.5 * (1.0 + np.tanh(0.5 * pre))  # squash to (0, 1)
    yt_pred = softmax(Wya @ a_next + by)
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
""",
)

buggy(
    "rnn_forward",
    "every step starts from a0",
    "while loop, the state never moves on",
    """
def rnn_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), []
    state = a0
    t = 0
    while t < T_x:
        new_state, prediction, cache = rnn_cell_forward(x[:, :, t], state, parameters)
        a[:, :, t], y_pred[:, :, t] = new_state, prediction
        caches.append(cache)
        t += 1
    return a, y_pred, (caches, x)
""",
)

buggy(
    "rnn_forward",
    "a stores the state before each step",
    "lists and np.stack",
    """
def rnn_forward(x, a0, parameters):
    states, predictions, caches = [], [], []
    h = a0
    for t in range(x.shape[2]):
        states.append(h)
        h, y_t, cache = rnn_cell_forward(x[:, :, t], h, parameters)
        predictions.append(y_t)
        caches.append(cache)
    return np.stack(states, axis=2), np.stack(predictions, axis=2), (caches, x)
""",
)

buggy(
    "gru_cell_forward",
    "reset gate applied after the matmul (PyTorch's GRU)",
    "weight blocks, r on the hidden block only",
    """
def gru_cell_forward(xt, a_prev, parameters):
    P = parameters
    n_a = a_prev.shape[0]
    both = np.concatenate([a_prev, xt])
    z = sigmoid(P["Wz"] @ both + P["bz"])
    r = sigmoid(P["Wr"] @ both + P["br"])
    h_tilde = np.tanh(P["Wh"][:, n_a:] @ xt + r * (P["Wh"][:, :n_a] @ a_prev) + P["bh"])
    a_next = z * a_prev + (1 - z) * h_tilde
    yt_pred = softmax(P["Wy"] @ a_next + P["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

buggy(
    "gru_cell_forward",
    "reset gate applied after the matmul (PyTorch's GRU)",
    "weight blocks, r on the hidden block and the bias",
    """
def gru_cell_forward(xt, a_prev, parameters):
    Wz, Wr, Wh, Wy = (parameters[k] for k in ("Wz", "Wr", "Wh", "Wy"))
    n_a = a_prev.shape[0]
    Wh_a, Wh_x = Wh[:, :n_a], Wh[:, n_a:]
    z = sigmoid(Wz[:, :n_a] @ a_prev + Wz[:, n_a:] @ xt + parameters["bz"])
    r = sigmoid(Wr[:, :n_a] @ a_prev + Wr[:, n_a:] @ xt + parameters["br"])
    h_tilde = np.tanh(Wh_x @ xt + r * (Wh_a @ a_prev + parameters["bh"]))
    a_next = (1 - z) * h_tilde + z * a_prev
    yt_pred = softmax(Wy @ a_next + parameters["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

buggy(
    "gru_cell_forward",
    "z and 1 - z swapped",
    "interpolation written as a step towards h_tilde",
    """
def gru_cell_forward(xt, a_prev, parameters):
    P = parameters
    s = np.vstack((a_prev, xt))
    z = sigmoid(P["Wz"] @ s + P["bz"])
    r = sigmoid(P["Wr"] @ s + P["br"])
    h_tilde = np.tanh(P["Wh"] @ np.vstack((r * a_prev, xt)) + P["bh"])
    a_next = a_prev + z * (h_tilde - a_prev)
    yt_pred = softmax(P["Wy"] @ a_next + P["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

buggy(
    "gru_forward",
    "the same input at every step",
    "first input hoisted out of the loop",
    """
def gru_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    caches = []
    xt = x[:, :, 0]
    h = a0
    for t in range(T_x):
        h, y_pred[:, :, t], cache = gru_cell_forward(xt, h, parameters)
        a[:, :, t] = h
        caches.append(cache)
    return a, y_pred, (caches, x)
""",
)

# --- assign_5b ----------------------------------------------------------------------

buggy(
    "rnn_cell_backward",
    "missing tanh derivative",
    "einsum, float32",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    g = da_next.astype(np.float32)
    Wax, Waa = parameters["Wax"].astype(np.float32), parameters["Waa"].astype(np.float32)
    return {
        "dxt": np.einsum("an,am->nm", Wax, g),
        "da_prev": np.einsum("ab,am->bm", Waa, g),
        "dWax": np.einsum("am,nm->an", g, xt),
        "dWaa": np.einsum("am,bm->ab", g, a_prev),
        "dba": g.sum(axis=1)[:, None],
    }
""",
)

buggy(
    "rnn_cell_backward",
    "dba summed over the wrong axis",
    "summed over the examples' axis, no keepdims",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    dtanh = (1 - np.square(a_next)) * da_next
    return {
        "dxt": parameters["Wax"].T.dot(dtanh),
        "da_prev": parameters["Waa"].T.dot(dtanh),
        "dWax": dtanh.dot(xt.T),
        "dWaa": dtanh.dot(a_prev.T),
        "dba": dtanh.sum(axis=0),
    }
""",
)

buggy(
    "rnn_cell_backward",
    "tanh derivative taken at a_prev",
    "np.square of the wrong state",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    d = da_next * (1.0 - np.square(a_prev))
    grads = {"dxt": parameters["Wax"].T @ d, "da_prev": parameters["Waa"].T @ d}
    grads["dWax"] = d @ xt.T
    grads["dWaa"] = d @ a_prev.T
    grads["dba"] = d.sum(axis=1, keepdims=True)
    return grads
""",
)

buggy(
    "rnn_backward",
    "parameter gradients overwritten",
    "only dWaa overwritten",
    """
def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    grads = {"dx": np.zeros((x.shape[0], m, T_x)), "dWax": 0, "dWaa": 0, "dba": 0}
    carry = np.zeros((n_a, m))
    for t in range(T_x - 1, -1, -1):
        step = rnn_cell_backward(da[:, :, t] + carry, cell_caches[t])
        grads["dx"][:, :, t] = step["dxt"]
        carry = step["da_prev"]
        grads["dWax"] = grads["dWax"] + step["dWax"]
        grads["dWaa"] = step["dWaa"]
        grads["dba"] = grads["dba"] + step["dba"]
    grads["da0"] = carry
    return grads
""",
)

buggy(
    "rnn_backward",
    "da_prev not accumulated across time",
    "the recurrent gradient kept but never added",
    """
def rnn_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    dx = np.zeros((x.shape[0], m, T_x))
    totals = {"dWax": 0.0, "dWaa": 0.0, "dba": 0.0}
    da_prev = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        g = rnn_cell_backward(da[:, :, t], cell_caches[t])
        dx[:, :, t] = g["dxt"]
        da_prev = g["da_prev"]
        for k in totals:
            totals[k] = totals[k] + g[k]
    return {"dx": dx, "da0": da_prev, **totals}
""",
)

buggy(
    "clip",
    "arrays left unclipped",
    "only the weight gradients clipped",
    """
def clip(gradients, max_value):
    out = {}
    for key, value in gradients.items():
        if key.startswith("dW"):
            out[key] = np.clip(value, -max_value, max_value)
        else:
            out[key] = value
    return out
""",
)

buggy(
    "clip",
    "arrays left unclipped",
    "in place, the first key skipped",
    """
def clip(gradients, max_value):
    keys = list(gradients)
    for key in keys[1:]:
        np.clip(gradients[key], -max_value, max_value, out=gradients[key])
    return gradients
""",
)

buggy(
    "optimize",
    "gradients not clipped",
    "clip called, its result dropped",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    grads = lm_backward(cache, parameters)
    clip(grads, 5)
    for k in ("Wax", "Waa", "Wya", "ba", "by"):
        parameters[k] -= learning_rate * grads["d" + k]
    return loss, grads, cache[0][:, :, -1]
""",
)

buggy(
    "optimize",
    "parameters never updated",
    "a new dict instead of an update in place",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    gradients = clip(lm_backward(cache, parameters), 5)
    parameters = {k: v - learning_rate * gradients["d" + k] for k, v in parameters.items()}
    return loss, gradients, cache[0][:, :, -1]
""",
)

buggy(
    "model",
    "hidden state carried between names",
    "epochs as an outer loop, the state passed on",
    """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    vocab_size = len(char_to_ix)
    parameters = initialize_parameters(n_a, vocab_size, vocab_size, rng)
    order = list(data)
    losses, h = [], np.zeros((n_a, 1))
    while len(losses) < num_iterations:
        rng.shuffle(order)
        for word in order[: num_iterations - len(losses)]:
            X = [None] + [char_to_ix[c] for c in word]
            Y = X[1:] + [char_to_ix["\\n"]]
            loss, grads, h = optimize(X, Y, h, parameters, learning_rate)
            losses.append(loss)
    return parameters, losses
""",
)

buggy(
    "model",
    "names shuffled only once",
    "one shuffled copy, cycled through",
    """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    V = len(char_to_ix)
    parameters = initialize_parameters(n_a, V, V, rng)
    shuffled = data.copy()
    rng.shuffle(shuffled)
    losses = []
    for j in range(num_iterations):
        word = shuffled[j % len(shuffled)]
        idx = [char_to_ix[c] for c in word]
        loss, _, _ = optimize([None, *idx], [*idx, char_to_ix["\\n"]], np.zeros((n_a, 1)),
                              parameters, learning_rate)
        losses.append(loss)
        if callback:
            callback(j, parameters)
    return parameters, losses
""",
)

buggy(
    "gradient_flow",
    "norms one step off",
    "a while loop that steps back first",
    """
def gradient_flow(da_last, caches):
    steps, x = caches
    norms = np.zeros(len(steps))
    g, t = da_last, len(steps) - 1
    while t >= 0:
        g = rnn_cell_backward(g, steps[t])["da_prev"]
        norms[t] = np.sqrt(np.sum(g * g))
        t -= 1
    return norms
""",
)

buggy(
    "gradient_flow",
    "the gradient goes forward in time",
    "enumerate over the caches",
    """
def gradient_flow(da_last, caches):
    cell_caches, _ = caches
    norms = []
    grad = da_last
    for t, cache in enumerate(cell_caches):
        norms.append(np.linalg.norm(grad))
        grad = rnn_cell_backward(grad, cache)["da_prev"]
    return np.array(norms)
""",
)

buggy(
    "clip_by_norm",
    "each array rescaled by its own norm",
    "a loop, np.linalg.norm per array",
    """
def clip_by_norm(gradients, max_norm):
    out = {}
    for key in gradients:
        n = np.linalg.norm(gradients[key])
        out[key] = gradients[key] * (max_norm / n) if n > max_norm else gradients[key].copy()
    return out
""",
)

buggy(
    "clip_by_norm",
    "rescaled even below max_norm",
    "norm of the concatenated vector",
    """
def clip_by_norm(gradients, max_norm):
    flat = np.concatenate([g.ravel() for g in gradients.values()])
    factor = max_norm / np.linalg.norm(flat)
    return {k: factor * g for k, g in gradients.items()}
""",
)

buggy(
    "bigram_log_probs",
    "counts indexed [prev, next]",
    "np.add.at on index pairs",
    """
def bigram_log_probs(names, char_to_ix):
    V = len(char_to_ix)
    nl = char_to_ix["\\n"]
    table = np.ones((V, V))
    for name in names:
        seq = np.array([nl] + [char_to_ix[c] for c in name] + [nl])
        np.add.at(table, (seq[:-1], seq[1:]), 1)
    return np.log(table / table.sum(axis=0))
""",
)

buggy(
    "bigram_log_probs",
    "start of a name not counted",
    "pairs of the name with its newline",
    """
def bigram_log_probs(names, char_to_ix):
    V = len(char_to_ix)
    counts = np.zeros((V, V))
    for name in names:
        text = name + "\\n"
        for a, b in zip(text, text[1:]):
            counts[char_to_ix[b], char_to_ix[a]] += 1
    probs = (counts + 1) / (counts + 1).sum(axis=0)
    return np.log(probs)
""",
)

buggy(
    "sample",
    "temperature ignored",
    "own softmax, temperature left out",
    """
def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
    p = parameters
    V = p["by"].shape[0]
    x, h, out = np.zeros((V, 1)), np.zeros((p["Waa"].shape[0], 1)), []
    while len(out) < max_length:
        h = np.tanh(p["Wax"] @ x + p["Waa"] @ h + p["ba"])
        scores = p["Wya"] @ h + p["by"]
        e = np.exp(scores - scores.max())
        idx = int(rng.choice(V, p=(e / e.sum()).ravel()))
        out.append(idx)
        if idx == char_to_ix["\\n"]:
            break
        x = np.zeros((V, 1))
        x[idx, 0] = 1.0
    return out
""",
)

buggy(
    "sample",
    "argmax instead of sampling",
    "the most likely character, with a for loop",
    """
def sample(parameters, char_to_ix, rng, max_length=50, temperature=1.0):
    Waa, Wax, Wya, ba, by = (parameters[k] for k in ("Waa", "Wax", "Wya", "ba", "by"))
    vocab_size = by.shape[0]
    newline = char_to_ix["\\n"]
    x = np.zeros((vocab_size, 1))
    h = np.zeros((Waa.shape[0], 1))
    out = []
    for _ in range(max_length):
        h = np.tanh(Wax @ x + Waa @ h + ba)
        probs = softmax(Wya @ h + by)
        idx = int(probs.ravel().argmax())
        out.append(idx)
        if idx == newline:
            break
        x = np.zeros((vocab_size, 1))
        x[idx] = 1
    return out
""",
)


# --- assign_5c ----------------------------------------------------------------------

buggy(
    "gru_cell_backward",
    "the update gate's derivative taken from the wrong side of z",
    "einsum, h_tilde - a_prev",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, p = cache
    n_a = a_prev.shape[0]
    s = np.vstack([a_prev, xt])
    s_r = np.vstack([r * a_prev, xt])
    g_h = da_next * (1 - z) * (1 - h_tilde**2)
    g_sr = np.einsum("ij,im->jm", p["Wh"], g_h)
    g_z = da_next * (h_tilde - a_prev) * z * (1 - z)
    g_r = g_sr[:n_a] * a_prev * r * (1 - r)
    g_s = np.einsum("ij,im->jm", p["Wz"], g_z) + np.einsum("ij,im->jm", p["Wr"], g_r)
    return {"dWz": np.einsum("im,jm->ij", g_z, s), "dWr": np.einsum("im,jm->ij", g_r, s),
            "dWh": np.einsum("im,jm->ij", g_h, s_r), "dbz": g_z.sum(1, keepdims=True),
            "dbr": g_r.sum(1, keepdims=True), "dbh": g_h.sum(1, keepdims=True),
            "da_prev": da_next * z + g_sr[:n_a] * r + g_s[:n_a], "dxt": g_sr[n_a:] + g_s[n_a:]}
""",
)

buggy(
    "gru_cell_backward",
    "the reset gate's path into a_prev is dropped",
    "Wh split into blocks, only the gates and the direct path into da_prev",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, parameters = cache
    n_a = a_prev.shape[0]
    Wz_a, Wz_x = parameters["Wz"][:, :n_a], parameters["Wz"][:, n_a:]
    Wr_a, Wr_x = parameters["Wr"][:, :n_a], parameters["Wr"][:, n_a:]
    Wh_a, Wh_x = parameters["Wh"][:, :n_a], parameters["Wh"][:, n_a:]
    dpre_h = da_next * (1 - z) * (1 - h_tilde * h_tilde)
    dpre_z = da_next * (a_prev - h_tilde) * z * (1 - z)
    dpre_r = (Wh_a.T @ dpre_h) * a_prev * r * (1 - r)
    da_prev = da_next * z + Wz_a.T @ dpre_z + Wr_a.T @ dpre_r
    dxt = Wh_x.T @ dpre_h + Wz_x.T @ dpre_z + Wr_x.T @ dpre_r
    dWh = np.hstack([dpre_h @ (r * a_prev).T, dpre_h @ xt.T])
    dWz = np.hstack([dpre_z @ a_prev.T, dpre_z @ xt.T])
    dWr = np.hstack([dpre_r @ a_prev.T, dpre_r @ xt.T])
    return {"dxt": dxt, "da_prev": da_prev, "dWz": dWz, "dWr": dWr, "dWh": dWh,
            "dbz": dpre_z.sum(axis=1, keepdims=True), "dbr": dpre_r.sum(axis=1, keepdims=True),
            "dbh": dpre_h.sum(axis=1, keepdims=True)}
""",
)

buggy(
    "gru_cell_backward",
    "reset gate differentiated after the matmul (PyTorch's GRU)",
    "PyTorch's derivatives written with the weight blocks",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, parameters = cache
    n_a = a_prev.shape[0]
    Wh_a, Wh_x = parameters["Wh"][:, :n_a], parameters["Wh"][:, n_a:]
    hidden_part = Wh_a @ a_prev
    dn = da_next * (1 - z) * (1 - h_tilde**2)
    dr = dn * hidden_part
    dz = da_next * (a_prev - h_tilde)
    dz_pre, dr_pre = dz * z * (1 - z), dr * r * (1 - r)
    s = np.concatenate([a_prev, xt], axis=0)
    ds = parameters["Wz"].T @ dz_pre + parameters["Wr"].T @ dr_pre
    return {
        "dWz": dz_pre @ s.T, "dWr": dr_pre @ s.T,
        "dWh": np.concatenate([(dn * r) @ a_prev.T, dn @ xt.T], axis=1),
        "dbz": np.sum(dz_pre, axis=1, keepdims=True), "dbr": np.sum(dr_pre, axis=1, keepdims=True),
        "dbh": np.sum(dn, axis=1, keepdims=True),
        "da_prev": da_next * z + Wh_a.T @ (dn * r) + ds[:n_a],
        "dxt": Wh_x.T @ dn + ds[n_a:],
    }
""",
)

buggy(
    "gru_cell_backward",
    "a gate's sigmoid derivative is missing",
    "the reset gate's only, loops over examples",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, parameters = cache
    Wz, Wr, Wh = parameters["Wz"], parameters["Wr"], parameters["Wh"]
    n_a, m = a_prev.shape
    out = {k: np.zeros_like(parameters[k[1:]]) for k in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")}
    out["da_prev"], out["dxt"] = np.zeros_like(a_prev), np.zeros_like(xt)
    for j in range(m):
        s = np.concatenate([a_prev[:, j], xt[:, j]])
        s_r = np.concatenate([r[:, j] * a_prev[:, j], xt[:, j]])
        gh = da_next[:, j] * (1 - z[:, j]) * (1 - h_tilde[:, j] ** 2)
        gs_r = Wh.T @ gh
        gz = da_next[:, j] * (a_prev[:, j] - h_tilde[:, j]) * z[:, j] * (1 - z[:, j])
        gr = gs_r[:n_a] * a_prev[:, j]
        gs = Wz.T @ gz + Wr.T @ gr
        out["dWz"] += np.outer(gz, s)
        out["dWr"] += np.outer(gr, s)
        out["dWh"] += np.outer(gh, s_r)
        out["dbz"][:, 0] += gz
        out["dbr"][:, 0] += gr
        out["dbh"][:, 0] += gh
        out["da_prev"][:, j] = da_next[:, j] * z[:, j] + gs_r[:n_a] * r[:, j] + gs[:n_a]
        out["dxt"][:, j] = gs_r[n_a:] + gs[n_a:]
    return out
""",
)

buggy(
    "gru_backward",
    "parameter gradients overwritten",
    "only the biases overwritten",
    """
def gru_backward(da, caches):
    steps, x = caches
    n_a, m, T_x = da.shape
    out = {"dx": np.zeros((x.shape[0], m, T_x))}
    for k in ("dWz", "dWr", "dWh"):
        out[k] = np.zeros((n_a, n_a + x.shape[0]))
    carry = np.zeros((n_a, m))
    for t in range(T_x - 1, -1, -1):
        g = gru_cell_backward(da[:, :, t] + carry, steps[t])
        out["dx"][:, :, t] = g["dxt"]
        for k in ("dWz", "dWr", "dWh"):
            out[k] += g[k]
        for k in ("dbz", "dbr", "dbh"):
            out[k] = g[k]
        carry = g["da_prev"]
    out["da0"] = carry
    return out
""",
)

buggy(
    "gru_backward",
    "da_prev not accumulated across time",
    "while loop, the cell fed da alone",
    """
def gru_backward(da, caches):
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    totals = {k: 0 for k in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")}
    dx = np.zeros((x.shape[0], m, T_x))
    t, da0 = T_x, None
    while t > 0:
        t -= 1
        step = gru_cell_backward(da[:, :, t], cell_caches[t])
        dx[:, :, t] = step["dxt"]
        totals = {k: v + step[k] for k, v in totals.items()}
        da0 = step["da_prev"]
    return {"dx": dx, "da0": da0, **totals}
""",
)


# --- mistakes the catalogue does not hold: they must fail WITHOUT a hint ---------------
# (a hint that names the wrong mistake misleads more than none)

UNCATALOGUED: list[Buggy] = []


def unknown(function: str, label: str, source: str) -> None:
    UNCATALOGUED.append(Buggy(function, "", label, source.lstrip("\n")))


unknown(
    "rnn_cell_forward",
    "relu instead of tanh",
    """
def rnn_cell_forward(xt, a_prev, parameters):
    p = parameters
    a_next = np.maximum(0, p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
    yt_pred = softmax(p["Wya"] @ a_next + p["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)
""",
)

unknown(
    "rnn_forward",
    "the first step skipped",
    """
def rnn_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), []
    h = a0
    for t in range(1, T_x):
        h, y_pred[:, :, t], cache = rnn_cell_forward(x[:, :, t], h, parameters)
        a[:, :, t] = h
        caches.append(cache)
    return a, y_pred, (caches, x)
""",
)

unknown(
    "gru_cell_forward",
    "the two gates' weights swapped",
    """
def gru_cell_forward(xt, a_prev, parameters):
    P = parameters
    s = np.concatenate([a_prev, xt])
    z = sigmoid(P["Wr"] @ s + P["br"])
    r = sigmoid(P["Wz"] @ s + P["bz"])
    h_tilde = np.tanh(P["Wh"] @ np.concatenate([r * a_prev, xt]) + P["bh"])
    a_next = z * a_prev + (1 - z) * h_tilde
    return a_next, softmax(P["Wy"] @ a_next + P["by"]), (a_next, a_prev, xt, z, r, h_tilde, parameters)
""",
)

unknown(
    "rnn_cell_backward",
    "dWaa transposed",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    dz = da_next * (1 - a_next**2)
    return {
        "dxt": parameters["Wax"].T @ dz,
        "da_prev": parameters["Waa"].T @ dz,
        "dWax": dz @ xt.T,
        "dWaa": a_prev @ dz.T,
        "dba": dz.sum(axis=1, keepdims=True),
    }
""",
)

unknown(
    "clip",
    "the sign lost",
    """
def clip(gradients, max_value):
    return {k: np.minimum(np.abs(v), max_value) for k, v in gradients.items()}
""",
)

unknown(
    "optimize",
    "the step taken twice",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    gradients = clip(lm_backward(cache, parameters), 5)
    for k in ("Wax", "Waa", "Wya", "ba", "by"):
        parameters[k] -= 2 * learning_rate * gradients["d" + k]
    return loss, gradients, cache[0][:, :, -1]
""",
)


unknown(
    "gradient_flow",
    "squared norms",
    """
def gradient_flow(da_last, caches):
    cell_caches, x = caches
    norms = np.zeros(len(cell_caches))
    da = da_last
    for t in range(len(cell_caches) - 1, -1, -1):
        norms[t] = np.sum(da**2)
        da = rnn_cell_backward(da, cell_caches[t])["da_prev"]
    return norms
""",
)

unknown(
    "clip_by_norm",
    "square root of the ratio",
    """
def clip_by_norm(gradients, max_norm):
    total = sum(float(np.sum(g**2)) for g in gradients.values()) ** 0.5
    s = np.sqrt(max_norm / total) if total > max_norm else 1.0
    return {k: g * s for k, g in gradients.items()}
""",
)

unknown(
    "bigram_log_probs",
    "add-half smoothing",
    """
def bigram_log_probs(names, char_to_ix):
    V, nl = len(char_to_ix), char_to_ix["\\n"]
    counts = np.full((V, V), 0.5)
    for name in names:
        ix = [nl] + [char_to_ix[c] for c in name] + [nl]
        for prev, nxt in zip(ix, ix[1:]):
            counts[nxt, prev] += 1
    return np.log(counts / counts.sum(axis=0, keepdims=True))
""",
)

unknown(
    "model",
    "a new order from rng.permutation",
    """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    rng = np.random.default_rng(seed)
    V = len(char_to_ix)
    parameters = initialize_parameters(n_a, V, V, rng)
    losses = []
    for j in range(num_iterations):
        if j % len(data) == 0:
            order = [data[i] for i in rng.permutation(len(data))]
        X = [None] + [char_to_ix[c] for c in order[j % len(data)]]
        loss, _, _ = optimize(X, X[1:] + [char_to_ix["\\n"]], np.zeros((n_a, 1)), parameters,
                              learning_rate)
        losses.append(loss)
    return parameters, losses
""",
)


unknown(
    "gru_cell_backward",
    "the gates' stack taken as [xt; a_prev] in dWz and dWr",
    """
def gru_cell_backward(da_next, cache):
    a_next, a_prev, xt, z, r, h_tilde, parameters = cache
    n_a = a_prev.shape[0]
    s_wrong = np.concatenate([xt, a_prev], axis=0)
    s_r = np.concatenate([r * a_prev, xt], axis=0)
    du_h = da_next * (1 - z) * (1 - h_tilde**2)
    ds_r = parameters["Wh"].T @ du_h
    du_z = da_next * (a_prev - h_tilde) * z * (1 - z)
    du_r = ds_r[:n_a] * a_prev * r * (1 - r)
    ds = parameters["Wz"].T @ du_z + parameters["Wr"].T @ du_r
    return {"dxt": ds_r[n_a:] + ds[n_a:], "da_prev": da_next * z + ds_r[:n_a] * r + ds[:n_a],
            "dWz": du_z @ s_wrong.T, "dWr": du_r @ s_wrong.T, "dWh": du_h @ s_r.T,
            "dbz": du_z.sum(axis=1, keepdims=True), "dbr": du_r.sum(axis=1, keepdims=True),
            "dbh": du_h.sum(axis=1, keepdims=True)}
""",
)


# Right numbers in the wrong shape: the slip the text warns about (keepdims). The check
# says so, and never names a catalogued mistake for it.
SHAPE_ONLY: list[Buggy] = []


def shape_only(function: str, label: str, source: str) -> None:
    SHAPE_ONLY.append(Buggy(function, "", label, source.lstrip("\n")))


shape_only(
    "rnn_cell_backward",
    "dba without keepdims",
    """
def rnn_cell_backward(da_next, cache):
    a_next, a_prev, xt, parameters = cache
    dtanh = (1.0 - a_next * a_next) * da_next
    return {
        "dxt": parameters["Wax"].T.dot(dtanh),
        "da_prev": parameters["Waa"].T.dot(dtanh),
        "dWax": dtanh.dot(xt.T),
        "dWaa": dtanh.dot(a_prev.T),
        "dba": dtanh.sum(axis=1),
    }
""",
)

shape_only(
    "rnn_backward",
    "dba flattened",
    """
def rnn_backward(da, caches):
    cache_list, x = caches
    n_x, m, T_x = x.shape
    n_a = da.shape[0]
    grads = {"dx": np.zeros((n_x, m, T_x)), "dWax": 0.0, "dWaa": 0.0, "dba": 0.0}
    carry = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        g = rnn_cell_backward(da[:, :, t] + carry, cache_list[t])
        grads["dx"][:, :, t] = g["dxt"]
        carry = g["da_prev"]
        for k in ("dWax", "dWaa", "dba"):
            grads[k] = grads[k] + g[k]
    grads["dba"] = np.ravel(grads["dba"])
    grads["da0"] = carry
    return grads
""",
)

shape_only(
    "optimize",
    "a_last as a flat vector",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    grads = clip(lm_backward(cache, parameters), 5)
    for k in ("Wax", "Waa", "Wya", "ba", "by"):
        parameters[k] -= learning_rate * grads["d" + k]
    return loss, grads, cache[0][:, 0, -1]
""",
)

shape_only(
    "gradient_flow",
    "norms as a column",
    """
def gradient_flow(da_last, caches):
    cell_caches, x = caches
    T_x = len(cell_caches)
    norms = np.zeros((T_x, 1))
    da = da_last
    for t in reversed(range(T_x)):
        norms[t, 0] = np.linalg.norm(da)
        da = rnn_cell_backward(da, cell_caches[t])["da_prev"]
    return norms
""",
)

shape_only(
    "bigram_log_probs",
    "a table with an extra axis",
    """
def bigram_log_probs(names, char_to_ix):
    V, nl = len(char_to_ix), char_to_ix["\\n"]
    counts = np.ones((V, V, 1))
    for name in names:
        ix = [nl] + [char_to_ix[c] for c in name] + [nl]
        for prev, nxt in zip(ix, ix[1:]):
            counts[nxt, prev] += 1
    return np.log(counts / counts.sum(axis=0, keepdims=True))
""",
)
