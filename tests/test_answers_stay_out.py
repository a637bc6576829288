"""An answer cannot be bought: code that only looks up answers earns nothing.

A graded function that calls a course helper (``rnn_forward`` calls ``rnn_cell_forward``,
``model`` calls ``optimize``, ``gru_backward`` calls ``gru_cell_backward``) is graded with
that helper replayed from the course's records. Those records are the course's answers.
These submissions skip the work and go looking for them: in the stand-in's attributes,
anywhere in the process's memory, in every file the sandbox can open. Under the trusted
verify they must find nothing and score nothing, while the honest functions of the same
notebook keep every point.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.instructor import submissions
from autograder.instructor.verify import grade_cells, verify_notebook

# Finds the replay records wherever they might be and decodes them without the runner.
LOOKUP = """
def _answers(helper_name):
    import gc, glob, json, os
    import numpy as np

    def dec(obj, arrays):
        if isinstance(obj, list):
            return [dec(v, arrays) for v in obj]
        if isinstance(obj, dict):
            for ref in ("__nd__", "__float__", "__scalar__"):
                if ref in obj:
                    return np.array(arrays[obj[ref]])
            if "__tuple__" in obj:
                return tuple(dec(v, arrays) for v in obj["__tuple__"])
            if "__items__" in obj:
                return {dec(k, arrays): dec(v, arrays) for k, v in obj["__items__"]}
        return obj

    found = []
    stand_in = globals().get(helper_name)
    records, arrays = getattr(stand_in, "_records", None), getattr(stand_in, "_arrays", None)
    if records and arrays is not None:
        found.append((records, arrays))
    for obj in gc.get_objects():  # a record list held anywhere in this process
        if isinstance(obj, list) and obj and isinstance(obj[0], dict) and {"out", "args"} <= set(obj[0]):
            found.append((obj, None))
    for path in glob.glob("/in/*") + glob.glob("/grader/**/*", recursive=True):
        if path.endswith(".json"):  # a plan carrying its helpers' records
            try:
                text = open(path).read()
            except OSError:
                continue
            if '"helpers"' in text:
                found.append(("file", path))
    for records, arrays in found:
        if arrays is not None:
            return [(dec(r["out"], arrays), dec(r["after"], arrays)) for r in records]
    raise RuntimeError(f"no answers found: {len(found)} candidates")
"""

RNN_FORWARD = (
    LOOKUP
    + """
def rnn_forward(x, a0, parameters):
    import numpy as np
    outs = [out for out, _ in _answers("rnn_cell_forward")]
    a = np.stack([o[0] for o in outs], axis=2)
    y_pred = np.stack([o[1] for o in outs], axis=2)
    return a, y_pred, ([o[2] for o in outs], x)
"""
)

MODEL = (
    LOOKUP
    + """
def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    answers = _answers("optimize")
    losses = [float(out[0]) for out, _ in answers]
    return answers[-1][1]["parameters"], losses
"""
)

GRU_BACKWARD = (
    LOOKUP
    + """
def gru_backward(da, caches):
    import numpy as np
    outs = [out for out, _ in _answers("gru_cell_backward")][::-1]  # recorded from the last step
    grads = {k: sum(o[k] for o in outs) for k in ("dWz", "dWr", "dWh", "dbz", "dbr", "dbh")}
    grads["dx"] = np.stack([o["dxt"] for o in outs], axis=2)
    grads["da0"] = outs[0]["da_prev"]
    return grads
"""
)

ATTACKS = {
    "assign_5a": ("rnn_forward", RNN_FORWARD),
    "assign_5b": ("model", MODEL),
    "assign_5c": ("gru_backward", GRU_BACKWARD),
}


@pytest.mark.parametrize("assignment", sorted(ATTACKS))
def test_a_lookup_of_the_replayed_answers_scores_nothing(assignment: str, tmp_path: Path) -> None:
    function, source = ATTACKS[assignment]
    nb = submissions.replace_function(submissions.completed(assignment), function, source)
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    results = {r.function: r for r in verify_notebook(assignment, path)}
    for name, (_, points) in grade_cells(assignment).items():
        if name == function:
            assert results[name].score == 0, f"{name} bought its points: {results[name].outcome.message()}"
        else:
            assert results[name].score == points, results[name].outcome.message()
