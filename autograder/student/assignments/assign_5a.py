"""assign_5a: an RNN and a GRU, forward. Its graded functions and the cases they are tested on.

Found by ``autograder.student.specs`` (every ``assign_*`` module of this folder is an
assignment); its notebooks are ``solutions/assign_5a/assign_5a.ipynb`` and
``notebooks/assign_5a/assign_5a.ipynb``, its mistake catalogue
``autograder/instructor/mistakes/assign_5a.py``.
"""

from __future__ import annotations

from autograder.student.cases import (
    CELL_FWD,
    SEQ_FWD,
    Spec,
    cell_forward_cases,
    gru_params,
    rnn_params,
    sequence_forward_cases,
)

TITLE = "RNN and GRU, forward"

SPECS: list[Spec] = [
    Spec("rnn_cell_forward", "assign_5a", CELL_FWD, cell_forward_cases(rnn_params), deps=("softmax",)),
    Spec(
        "rnn_forward",
        "assign_5a",
        SEQ_FWD,
        sequence_forward_cases(rnn_params),
        deps=("softmax", "rnn_cell_forward"),
    ),
    Spec(
        "gru_cell_forward",
        "assign_5a",
        {**CELL_FWD, "2/3": "cache[3] (z)", "2/4": "cache[4] (r)", "2/5": "cache[5] (h_tilde)"},
        cell_forward_cases(gru_params),
        deps=("softmax", "sigmoid"),
    ),
    Spec(
        "gru_forward",
        "assign_5a",
        SEQ_FWD,
        sequence_forward_cases(gru_params),
        deps=("softmax", "sigmoid", "gru_cell_forward"),
    ),
]
