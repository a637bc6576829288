"""The known mistakes of assign_5c's graded functions (the GRU's backward pass), as edits of
the reference. Each hint says where to look by the mistake's effect, not what to write."""

from __future__ import annotations

from autograder.instructor.mistake import Mistake, m

DZ = "dz = da_next * (a_prev - h_tilde)"
DIRECT = "da_prev = da_next * z  # the direct path"
RESET_PATH = "    da_prev = da_prev + dreset_stacked[:n_a] * r  # the reset gate's path\n"
DU_Z = "du_z = dz * z * (1 - z)"
DU_R = "du_r = dr * r * (1 - r)"
DR = "dr = dreset_stacked[:n_a] * a_prev"
DWH = "dWh = du_h @ reset_stacked.T"
GATES_TO_A_PREV = "    da_prev = da_prev + dstacked[:n_a]\n"
GATES_TO_XT = "    dxt = dxt + dstacked[n_a:]\n"
# PyTorch's candidate, tanh(Wh_x @ xt + r * (Wh_a @ a_prev) + bh), differentiated instead
TORCH_DR = "dr = du_h * (Wh[:, :n_a] @ a_prev)"
TORCH = (
    (DWH, "dWh = np.concatenate([(du_h * r) @ a_prev.T, du_h @ xt.T], axis=1)"),
    (DR, TORCH_DR),
    (RESET_PATH, "    da_prev = da_prev + Wh[:, :n_a].T @ (du_h * r)\n"),
)

PARAMETERS = ("Wz", "Wr", "Wh", "bz", "br", "bh")

CATALOG: dict[str, list[Mistake]] = {
    "gru_cell_backward": [
        m(
            "the update gate's derivative taken from the wrong side of z",
            "Look at dz, the gradient of the update gate (it shows in dWz, dbz and the gates' "
            "shares of da_prev and dxt): raising z moves a_next towards a_prev and away from "
            "h_tilde. Which difference is the derivative of a_next with respect to z?",
            (DZ, "dz = da_next * (h_tilde - a_prev)"),
        ),
        m(
            "z and 1 - z swapped (the other convention)",
            "Your gradients are those of a GRU whose z multiplies h_tilde. In this course z "
            "close to 1 KEEPS the old state, a_next = z * a_prev + (1 - z) * h_tilde: check "
            "each factor of step 1, the gradients of z, h_tilde and the direct path to a_prev.",
            (DZ, "dz = da_next * (h_tilde - a_prev)"),
            ("dh_tilde = da_next * (1 - z)", "dh_tilde = da_next * z"),
            (DIRECT, "da_prev = da_next * (1 - z)"),
        ),
        m(
            "the direct path into a_prev is missing",
            "Look at da_prev: a_prev also enters a_next directly, as z * a_prev, with no weight "
            "in the way. That is the path that keeps a GRU's gradient alive; what does it add?",
            (DIRECT, "da_prev = np.zeros_like(a_prev)"),
        ),
        m(
            "the reset gate's path into a_prev is dropped",
            "Look at da_prev: the candidate reads a_prev through the product r * a_prev, so part "
            "of the gradient of Wh's input goes back to a_prev. Which factor does it pass?",
            (RESET_PATH, ""),
            also=(((RESET_PATH, "    da_prev = da_prev + dreset_stacked[:n_a]\n"),),),
        ),
        m(
            "the gates' paths into a_prev and xt are missing",
            "Both gates read the stack [a_prev; xt]: Wz.T @ du_z + Wr.T @ du_r belongs to that "
            "stack, and its two parts must be added to da_prev and to dxt.",
            (GATES_TO_A_PREV, ""),
            (GATES_TO_XT, ""),
            also=(((GATES_TO_A_PREV, ""),), ((GATES_TO_XT, ""),)),
        ),
        m(
            "dWh uses [a_prev; xt] instead of [r * a_prev; xt]",
            "Look at dWh: which stack did Wh multiply in the forward pass? The reset gate is in it.",
            (DWH, "dWh = du_h @ stacked.T"),
        ),
        m(
            "a gate's sigmoid derivative is missing",
            "z and r are sigmoids of their pre-activations: the gradient reaching Wz, bz (or "
            "Wr, br) must pass through the sigmoid's derivative, written with the gate itself.",
            (DU_Z, "du_z = dz"),
            (DU_R, "du_r = dr"),
            also=(((DU_Z, "du_z = dz"),), ((DU_R, "du_r = dr"),)),
        ),
        m(
            "the candidate's tanh derivative is missing",
            "h_tilde is the tanh of its pre-activation: the gradient must pass through the "
            "tanh's derivative, written with h_tilde, before it reaches Wh, bh and the stack.",
            ("du_h = dh_tilde * (1 - h_tilde**2)", "du_h = dh_tilde"),
        ),
        m(
            "dr is missing its factor a_prev",
            "Look at dr (it shows in dWr and dbr): r enters the cell only in the product "
            "r * a_prev. What is the derivative of that product with respect to r?",
            (DR, "dr = dreset_stacked[:n_a]"),
        ),
        m(
            "reset gate differentiated after the matmul (PyTorch's GRU)",
            "Your gradients of r, Wh and a_prev are those of PyTorch's GRU, where r multiplies "
            "Wh's product. In this course r multiplies a_prev BEFORE the matmul: Wh sees the "
            "stack [r * a_prev; xt], and r reaches the loss through that stack.",
            *TORCH,
            also=(((DR, TORCH_DR),),),
        ),
    ],
    "gru_backward": [
        m(
            "da_prev not accumulated across time",
            "Each step gets two gradients: da[:, :, t] from its output AND da_prev flowing "
            "back from step t+1. Add them before calling gru_cell_backward.",
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
            *((f'd{k} += grads["d{k}"]', f'd{k} = grads["d{k}"]') for k in PARAMETERS),
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
}
