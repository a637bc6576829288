"""The known mistakes of assign_5a's graded functions (the RNN and the GRU, forward), as
edits of the reference."""

from __future__ import annotations

from autograder.instructor.mistake import Mistake, m

CELL_TANH = "np.tanh(Waa @ a_prev + Wax @ xt + ba)"
STEP_CALL = "cell_forward(x[:, :, t], a_next, parameters)"
GRU_CANDIDATE = "np.tanh(Wh @ np.concatenate([r * a_prev, xt], axis=0) + bh)"

CATALOG: dict[str, list[Mistake]] = {
    "rnn_cell_forward": [
        m(
            "softmax over the wrong axis",
            "Each column of yt_pred is one example and must sum to 1: normalise over axis 0 "
            "(the n_y outputs), not over the batch. The provided softmax does this.",
            (
                "softmax(Wya @ a_next + by)",
                "np.exp(Wya @ a_next + by) / np.sum(np.exp(Wya @ a_next + by), axis=1, keepdims=True)",
            ),
        ),
        m(
            "the bias ba is missing",
            "Look at the bias ba: where does it enter the cell's pre-activation?",
            (CELL_TANH, "np.tanh(Waa @ a_prev + Wax @ xt)"),
        ),
        m(
            "no tanh",
            "a_next is the tanh of the pre-activation, not the pre-activation itself.",
            (CELL_TANH, "(Waa @ a_prev + Wax @ xt + ba)"),
        ),
        m(
            "a_prev used where a_next belongs",
            "The prediction yt_pred is computed from the NEW state a_next.",
            ("softmax(Wya @ a_next + by)", "softmax(Wya @ a_prev + by)"),
        ),
        m(
            "sigmoid instead of tanh",
            "The RNN cell's activation is tanh (values in [-1, 1]).",
            (CELL_TANH, "1 / (1 + np.exp(-(Waa @ a_prev + Wax @ xt + ba)))"),
        ),
    ],
    "rnn_forward": [
        m(
            "every step starts from a0",
            "Feed each step the state the previous step produced, not a0 again.",
            ("rnn_" + STEP_CALL, "rnn_cell_forward(x[:, :, t], a0, parameters)"),
        ),
        m(
            "the same input at every step",
            "At step t the input is x[:, :, t].",
            ("rnn_" + STEP_CALL, "rnn_cell_forward(x[:, :, 0], a_next, parameters)"),
        ),
        m(
            "a stores the state before each step",
            "a[:, :, t] is the state the cell computes AT step t, i.e. after the call.",
            (
                "        a_next, yt_pred, cache = rnn_" + STEP_CALL + "\n        a[:, :, t] = a_next",
                "        a[:, :, t] = a_next\n        a_next, yt_pred, cache = rnn_" + STEP_CALL,
            ),
        ),
        m(
            "one step short",
            "The loop must visit every one of the T_x steps: check where your range stops.",
            ("range(T_x)", "range(T_x - 1)"),
        ),
    ],
    "gru_cell_forward": [
        m(
            "z and 1 - z swapped",
            "In this notebook's convention z close to 1 KEEPS the old state: check which of "
            "a_prev and h_tilde the update gate z multiplies (the equation above the function).",
            ("z * a_prev + (1 - z) * h_tilde", "(1 - z) * a_prev + z * h_tilde"),
        ),
        m(
            "reset gate applied after the matmul (PyTorch's GRU)",
            "Here r multiplies a_prev inside the stack [r * a_prev; xt], before Wh. "
            "PyTorch applies it after the matmul: a different GRU.",
            (GRU_CANDIDATE, "np.tanh(r * (Wh @ stacked) + bh)"),
            also=(
                # r on the hidden block of Wh only, the bias outside or inside the product
                (
                    (
                        GRU_CANDIDATE,
                        "np.tanh(Wh[:, len(a_prev) :] @ xt + r * (Wh[:, : len(a_prev)] @ a_prev) + bh)",
                    ),
                ),
                (
                    (
                        GRU_CANDIDATE,
                        "np.tanh(Wh[:, len(a_prev) :] @ xt + r * (Wh[:, : len(a_prev)] @ a_prev + bh))",
                    ),
                ),
            ),
        ),
        m(
            "reset gate not used",
            "The candidate h_tilde sees r * a_prev, not a_prev.",
            ("[r * a_prev, xt]", "[a_prev, xt]"),
        ),
        m(
            "stack in the wrong order",
            "Stack a_prev on top of xt: [a_prev; xt].",
            ("np.concatenate([a_prev, xt], axis=0)", "np.concatenate([xt, a_prev], axis=0)"),
        ),
        m(
            "update gate uses the reset weights",
            "z uses Wz and bz; r uses Wr and br.",
            ("z = sigmoid(Wz @ stacked + bz)", "z = sigmoid(Wr @ stacked + br)"),
        ),
    ],
    "gru_forward": [
        m(
            "every step starts from a0",
            "Feed each step the state the previous step produced, not a0 again.",
            ("gru_" + STEP_CALL, "gru_cell_forward(x[:, :, t], a0, parameters)"),
        ),
        m(
            "the same input at every step",
            "At step t the input is x[:, :, t].",
            ("gru_" + STEP_CALL, "gru_cell_forward(x[:, :, 0], a_next, parameters)"),
        ),
        m(
            "a stores the state before each step",
            "a[:, :, t] is the state the cell computes AT step t, i.e. after the call.",
            (
                "        a_next, yt_pred, cache = gru_" + STEP_CALL + "\n        a[:, :, t] = a_next",
                "        a[:, :, t] = a_next\n        a_next, yt_pred, cache = gru_" + STEP_CALL,
            ),
        ),
    ],
}
