"""The known mistakes of assign_5b's graded functions (the language model), as edits of the reference."""

from __future__ import annotations

from autograder.instructor.mistake import Mistake, m

CATALOG: dict[str, list[Mistake]] = {
    "rnn_cell_backward": [
        m(
            "missing tanh derivative",
            "The gradient must pass through the tanh before it reaches Wax, Waa, ba and the "
            "inputs. What is the derivative of tanh, written with the tanh's own output?",
            ("da_next * (1 - a_next**2)", "da_next"),
        ),
        m(
            "tanh derivative taken at a_prev",
            "The tanh belongs to this step, so its derivative uses a_next, the tanh's output.",
            ("da_next * (1 - a_next**2)", "da_next * (1 - a_prev**2)"),
        ),
        m(
            "tanh applied twice in the derivative",
            "a_next is already the tanh's output: write the derivative with a_next itself, "
            "without applying tanh to it again.",
            ("da_next * (1 - a_next**2)", "da_next * (1 - np.tanh(a_next) ** 2)"),
        ),
        m(
            "dba summed over the wrong axis",
            "Look at dba: which axis holds the m examples, and what shape must dba have?",
            ("np.sum(dz, axis=1, keepdims=True)", "np.sum(dz, axis=0, keepdims=True)"),
        ),
        m(
            "dWaa uses a_next",
            "Look at dWaa: in the forward pass, which hidden state does Waa multiply?",
            ("dWaa = dz @ a_prev.T", "dWaa = dz @ a_next.T"),
        ),
        m(
            "dxt skips the tanh",
            "Look at dxt: does the gradient reach xt before or after it passes through the tanh?",
            ("dxt = Wax.T @ dz", "dxt = Wax.T @ da_next"),
        ),
    ],
    "rnn_backward": [
        m(
            "da_prev not accumulated across time",
            "Each step gets two gradients: da[:, :, t] from its output AND da_prev flowing "
            "back from step t+1. Add them before calling rnn_cell_backward.",
            ("da[:, :, t] + da_prevt", "da[:, :, t]"),
        ),
        m(
            "loops forward in time",
            "Backpropagation runs from the last step to the first.",
            ("reversed(range(T_x))", "range(T_x)"),
        ),
        m(
            "parameter gradients overwritten",
            "The weights are shared by every step: SUM their gradients over time (+=).",
            ('dWax += grads["dWax"]', 'dWax = grads["dWax"]'),
            ('dWaa += grads["dWaa"]', 'dWaa = grads["dWaa"]'),
            ('dba += grads["dba"]', 'dba = grads["dba"]'),
        ),
        m(
            "da0 taken from the input gradient",
            "Look at da0: which gradient flows out of the loop, past the first time step?",
            ("da0 = da_prevt", "da0 = da[:, :, 0]"),
        ),
        m(
            "dx stored at the mirrored step",
            "Store the gradient of step t at dx[:, :, t].",
            ('dx[:, :, t] = grads["dxt"]', 'dx[:, :, T_x - 1 - t] = grads["dxt"]'),
        ),
        m(
            "cache of the wrong step",
            "Step t must use the cache of step t, the t-th entry of cell_caches (counting from 0).",
            ("cell_caches[t]", "cell_caches[T_x - 1 - t]"),
        ),
    ],
    "clip": [
        m(
            # none clipped: a student who left out only some arrays gets the hint too
            "arrays left unclipped",
            "Clip EVERY array of the dict, whatever its key.",
            ("np.clip(grad, -max_value, max_value) for", "grad for"),
        ),
        m(
            "clipped to [0, max_value]",
            "The lower bound is -max_value.",
            ("np.clip(grad, -max_value, max_value)", "np.clip(grad, 0, max_value)"),
        ),
        m(
            "max_value ignored",
            "Use the max_value argument, not a fixed number.",
            ("np.clip(grad, -max_value, max_value)", "np.clip(grad, -5, 5)"),
        ),
        m(
            "keys dropped",
            "Return every key you were given, even ones you do not expect.",
            (
                "for name, grad in gradients.items()}",
                "for name, grad in gradients.items() if name in ('dWax', 'dWaa', 'dWya', 'dba', 'dby')}",
            ),
        ),
        m(
            "rescaled by the norm",
            "clip works element-wise, with np.clip on each array; rescaling by the norm is what "
            "clip_by_norm does.",
            (
                "np.clip(grad, -max_value, max_value)",
                "grad * min(1.0, max_value / (np.linalg.norm(grad) + 1e-12))",
            ),
        ),
    ],
    "sample": [
        m(
            "argmax instead of sampling",
            "Draw the index at random from y with rng.choice(vocab_size, p=y.ravel()); "
            "argmax gives the same name every time.",
            ("int(rng.choice(vocab_size, p=y.ravel()))", "int(np.argmax(y))"),
        ),
        m(
            "no stop at the newline",
            "Stop right after appending the newline index.",
            ("        if idx == newline:\n            break\n", ""),
        ),
        m(
            "sampled character not fed back",
            "The next input x is the one-hot vector of the character just drawn.",
            ("x[idx] = 1.0", "x[idx] = 0.0"),
        ),
        m(
            "hidden state not carried",
            "Each step starts from the hidden state of the previous step.",
            ("Waa @ a_prev + ba", "Waa @ np.zeros((n_a, 1)) + ba"),
        ),
        m(
            "one-hot input not reset",
            "Make a fresh zero vector before setting the new character's entry to 1, or old "
            "characters stay on.",
            ("        x = np.zeros((vocab_size, 1))\n        x[idx] = 1.0", "        x[idx] = 1.0"),
        ),
        m(
            "temperature ignored",
            "Divide the scores Wya @ a + by by the temperature BEFORE the softmax.",
            ("softmax((Wya @ a_prev + by) / temperature)", "softmax(Wya @ a_prev + by)"),
        ),
        m(
            "temperature multiplies the scores",
            "The scores are DIVIDED by the temperature: a temperature below 1 sharpens the distribution.",
            ("(Wya @ a_prev + by) / temperature", "(Wya @ a_prev + by) * temperature"),
        ),
        m(
            "one character too many",
            "The list must never be longer than max_length.",
            ("while len(indices) < max_length", "while len(indices) <= max_length"),
        ),
    ],
    "optimize": [
        m(
            "parameters never updated",
            'Update the dict in place: parameters["Wax"] -= learning_rate * gradients["dWax"].',
            (
                'parameters[name] -= learning_rate * gradients["d" + name]',
                'parameters[name] - learning_rate * gradients["d" + name]',
            ),
        ),
        m(
            "gradient ascent",
            "Step AGAINST the gradient: subtract learning_rate * gradient.",
            ("parameters[name] -= learning_rate", "parameters[name] += learning_rate"),
        ),
        m(
            "gradients not clipped",
            "Clip the gradients at 5 before the update.",
            ("clip(lm_backward(cache, parameters), 5)", "lm_backward(cache, parameters)"),
        ),
        m(
            "update uses the unclipped gradients",
            "Clip first, then update the parameters with the CLIPPED gradients.",
            (
                "gradients = clip(lm_backward(cache, parameters), 5)",
                "raw = lm_backward(cache, parameters)\n    gradients = clip(raw, 5)",
            ),
            ('learning_rate * gradients["d" + name]', 'learning_rate * raw["d" + name]'),
        ),
        m(
            "first hidden state returned",
            "a_last is the hidden state of the LAST step.",
            ("cache[0][:, :, -1]", "cache[0][:, :, 0]"),
        ),
        m(
            "loss sign flipped",
            "The cross-entropy loss is positive: -sum(log p).",
            (
                "    loss, cache = lm_forward(X, Y, a_prev, parameters)\n",
                "    loss, cache = lm_forward(X, Y, a_prev, parameters)\n    loss = -loss\n",
            ),
        ),
    ],
    "model": [
        m(
            "hidden state carried between names",
            "Every name starts from the zero state, as sample does: pass a fresh zero state of "
            "shape (n_a, 1) to optimize for each name, and leave the a_last it returns unused.",
            ("loss, _, _ = optimize(X, Y, a0,", "loss, _, a0 = optimize(X, Y, a0,"),
            ("        a0 = np.zeros((n_a, 1))", "        a0 = a0 if j else np.zeros((n_a, 1))"),
        ),
        m(
            "no newline at the end of Y",
            "Y is X shifted by one, ending with the newline index.",
            ('Y = X[1:] + [char_to_ix["\\n"]]', "Y = X[1:]"),
        ),
        m(
            "no None at the start of X",
            "X starts with None: the zero input from which the first character is predicted.",
            ("X = [None] + [char_to_ix[ch] for ch in name]", "X = [char_to_ix[ch] for ch in name]"),
        ),
        m(
            "always the same name",
            "Take name number j % len(names) at iteration j.",
            ("names[j % len(names)]", "names[0]"),
        ),
        m(
            "learning rate ignored",
            "Pass learning_rate on to optimize.",
            ("optimize(X, Y, a0, parameters, learning_rate)", "optimize(X, Y, a0, parameters)"),
        ),
        m(
            "names not shuffled",
            "Shuffle the list of names with rng.shuffle at the start of every epoch.",
            ("            rng.shuffle(names)  # a new order for every epoch\n", "            pass\n"),
        ),
        m(
            "names shuffled only once",
            "Shuffle at the start of EVERY epoch (whenever j % len(names) == 0), not only before "
            "the first: each pass over the data gets a new order.",
            ("if j % len(names) == 0:", "if j == 0:"),
        ),
    ],
    "gradient_flow": [
        m(
            "norms one step off",
            "norms[t] belongs to the state of step t: record the norm of the gradient you hold "
            "BEFORE passing it back through the cell of step t.",
            (
                "        norms[t] = np.linalg.norm(da)\n"
                '        da = rnn_cell_backward(da, cell_caches[t])["da_prev"]\n',
                '        da = rnn_cell_backward(da, cell_caches[t])["da_prev"]\n'
                "        norms[t] = np.linalg.norm(da)\n",
            ),
        ),
        m(
            "every step starts again from da_last",
            "Each step back passes on the gradient the previous step back returned (da_prev), "
            "not da_last again.",
            (
                'da = rnn_cell_backward(da, cell_caches[t])["da_prev"]',
                'da = rnn_cell_backward(da_last, cell_caches[t])["da_prev"]',
            ),
        ),
        m(
            "the gradient goes forward in time",
            "The gradient flows from the last step to the first: loop over t backwards.",
            ("reversed(range(T_x))", "range(T_x)"),
        ),
    ],
    "clip_by_norm": [
        m(
            "each array rescaled by its own norm",
            "The norm is ONE number for the whole dict: the square root of the sum of the squares "
            "of every entry of every array. Every array is multiplied by the same factor.",
            (
                "    norm = np.sqrt(sum(np.sum(grad**2) for grad in gradients.values()))\n"
                "    scale = max_norm / norm if norm > max_norm else 1.0\n"
                "    return {name: grad * scale for",
                "    return {name: grad * min(1.0, max_norm / np.linalg.norm(grad)) for",
            ),
        ),
        m(
            "rescaled even below max_norm",
            "Only a gradient whose global norm EXCEEDS max_norm is rescaled; a smaller one is "
            "returned unchanged.",
            ("max_norm / norm if norm > max_norm else 1.0", "max_norm / norm"),
        ),
        m(
            "squared norm",
            "The global norm is the square ROOT of the sum of the squares.",
            (
                "np.sqrt(sum(np.sum(grad**2) for grad in gradients.values()))",
                "sum(np.sum(grad**2) for grad in gradients.values())",
            ),
        ),
        m(
            "scale factor upside down",
            "A gradient that is too long must get SHORTER: the factor is max_norm / norm, below 1.",
            ("max_norm / norm if", "norm / max_norm if"),
        ),
        m(
            "element-wise clipping",
            "clip_by_norm keeps the direction: it multiplies every array by one factor instead of "
            "cutting entries with np.clip.",
            ("grad * scale for", "np.clip(grad, -max_norm, max_norm) for"),
        ),
    ],
    "bigram_log_probs": [
        m(
            "counts indexed [prev, next]",
            "Each COLUMN is the previous character: count a pair at counts[next, prev], so that "
            "a column is a distribution over the next character.",
            ("counts[nxt, prev] += 1", "counts[prev, nxt] += 1"),
        ),
        m(
            "normalised over the wrong axis",
            "Each column must sum to 1 (after exp): divide by the sum over axis 0, the next characters.",
            ("counts.sum(axis=0, keepdims=True)", "counts.sum(axis=1, keepdims=True)"),
        ),
        m(
            "start of a name not counted",
            "The first character of a name follows the start, which the newline index stands for.",
            (
                "[newline] + [char_to_ix[ch] for ch in name] + [newline]",
                "[char_to_ix[ch] for ch in name] + [newline]",
            ),
        ),
        m(
            "end of a name not counted",
            "The last character of a name is followed by the newline: count that pair too.",
            (
                "[newline] + [char_to_ix[ch] for ch in name] + [newline]",
                "[newline] + [char_to_ix[ch] for ch in name]",
            ),
        ),
        m(
            "probabilities instead of their log",
            "Return the natural LOG of the probabilities (np.log).",
            (
                "np.log((counts + 1) / (counts.sum(axis=0, keepdims=True) + V))",
                "(counts + 1) / (counts.sum(axis=0, keepdims=True) + V)",
            ),
        ),
        m(
            "add-one without V in the denominator",
            "Adding 1 to each of the V counts of a column adds V to its total: the denominator is "
            "the column's count plus V.",
            ("keepdims=True) + V)", "keepdims=True) + 1)"),
        ),
    ],
}
