"""assign_5a: an RNN and a GRU, forward. Its graded functions and the cases they are tested on.

Found by ``autograder.student.specs`` (every ``assign_*`` module of this folder is an
assignment); its notebooks are ``solutions/assign_5a/assign_5a.ipynb`` and
``notebooks/assign_5a/assign_5a.ipynb``, its mistake catalogue
``autograder/instructor/mistakes/assign_5a.py``.
"""

from __future__ import annotations

from autograder.student.cases import (
    CELL_FWD,
    CELL_FWD_PARTS,
    SEQ_FWD,
    SEQ_FWD_PARTS,
    Part,
    Spec,
    cell_forward_cases,
    gru_params,
    rnn_params,
    sequence_forward_cases,
)

TITLE = "RNN and GRU, forward"

# Partial credit: each function's points shared among its outputs by these weights
# (README, "Points"); a part is earned when that output is right in every hidden case.
GRU_CELL_PARTS = (
    Part("a_next (and cache[0:3])", ("0", "2/0", "2/1", "2/2"), 3),
    Part("yt_pred", ("1",), 3),
    Part("cache[3] (z)", ("2/3",), 1),
    Part("cache[4] (r)", ("2/4",), 1),
    Part("cache[5] (h_tilde)", ("2/5",), 2),
)

SPECS: list[Spec] = [
    Spec(
        "rnn_cell_forward",
        "assign_5a",
        CELL_FWD,
        cell_forward_cases(rnn_params),
        deps=("softmax",),
        parts=CELL_FWD_PARTS,
    ),
    Spec(
        "rnn_forward",
        "assign_5a",
        SEQ_FWD,
        sequence_forward_cases(rnn_params),
        deps=("softmax", "rnn_cell_forward"),
        parts=SEQ_FWD_PARTS,
    ),
    Spec(
        "gru_cell_forward",
        "assign_5a",
        {**CELL_FWD, "2/3": "cache[3] (z)", "2/4": "cache[4] (r)", "2/5": "cache[5] (h_tilde)"},
        cell_forward_cases(gru_params),
        deps=("softmax", "sigmoid"),
        parts=GRU_CELL_PARTS,
    ),
    Spec(
        "gru_forward",
        "assign_5a",
        SEQ_FWD,
        sequence_forward_cases(gru_params),
        deps=("softmax", "sigmoid", "gru_cell_forward"),
        parts=SEQ_FWD_PARTS,
    ),
]
