"""Hostile or broken functions cost their own points, with a clear message, and nothing else.

Two submissions, one per assignment, each mix broken functions with correct
ones (the reference): an infinite loop, ``os._exit(3)``, a flood of 100 MB on
the process's stdout (stopped by the file-size limit), a ctypes segfault, an
8 GB allocation, a function that raises, one that returns an object instead of
arrays, and one that prints 100 MB but is right. The trusted verify runs each
in its own fork of the sandbox, so every broken function scores 0 with a
message that says what happened, and every correct one still scores full.
Files that are not notebooks get a ``NotebookError`` message on every grade cell.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.instructor import sandbox, submissions
from autograder.instructor.notebook import NotebookError, read_notebook
from autograder.instructor.sandbox import Limits, Task, run_functions
from autograder.instructor.verify import CellResult, grade_cells, verify_notebook
from autograder.student import runner
from autograder.student.judge import Run
from autograder.student.runner import WALL_CAP, WALL_SLACK
from autograder.student.specs import ASSIGNMENTS

pytestmark = pytest.mark.xdist_group("sandbox")

WALL = 2.0  # seconds of CPU per function for the assign_5a submission (it holds the infinite loop)

BROKEN: dict[str, dict[str, tuple[str, str]]] = {
    # function -> (its source, a phrase the message must contain)
    "assign_5a": {
        "rnn_cell_forward": (
            """
def rnn_cell_forward(xt, a_prev, parameters):
    while True:
        pass
""",
            f"it ran longer than {WALL:.0f} s of CPU time (an infinite loop?) and was stopped",
        ),
        "gru_cell_forward": (
            """
import os


def gru_cell_forward(xt, a_prev, parameters):
    os._exit(3)
""",
            "exited with code 3 before returning (os._exit or sys.exit in your function?)",
        ),
        "gru_forward": (
            """
import sys


def gru_forward(x, a0, parameters):
    chunk = "spam " * 200_000
    for _ in range(100):
        sys.__stdout__.write(chunk)
        sys.__stdout__.flush()
    return gru_forward_not_reached(x, a0, parameters)
""",
            "OSError: [Errno 27] File too large",
        ),
    },
    "assign_5b": {
        "rnn_cell_backward": (
            """
import ctypes


def rnn_cell_backward(da_next, cache):
    return ctypes.string_at(0)
""",
            "crashed (segmentation fault)",
        ),
        "clip": (
            """
def clip(gradients, max_value):
    big = np.ones(1024**3)  # 8 GB of float64
    return {k: np.clip(g, -max_value, max_value) + big[0] - 1 for k, g in gradients.items()}
""",
            "MemoryError",
        ),
        "rnn_backward": (
            """
def rnn_backward(da, caches):
    n_a, m, T_x = da.shape
    return {"dx": da[:, :, T_x]}
""",
            "raised IndexError: index",
        ),
        "model": (
            """
class TrainingResult:
    def __init__(self, parameters, losses):
        self.parameters, self.losses = parameters, losses


def model(data, ix_to_char, char_to_ix, num_iterations=20000, n_a=50, learning_rate=0.01,
          seed=0, callback=None):
    return TrainingResult({}, [])
""",
            "is missing: you returned a TrainingResult there",
        ),
    },
    "assign_5c": {
        "gru_backward": (
            """
def gru_backward(da, caches):
    return gru_backward(da[:, :, ::-1], caches)
""",
            "raised RecursionError",
        ),
    },
}

# a correct function that prints 100 MB: the output is swallowed and it keeps its points
PRINTS_A_LOT = (
    "optimize",
    """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    for _ in range(100):
        print("#" * 1_000_000)
    loss, cache = lm_forward(X, Y, a_prev, parameters)
    gradients = clip(lm_backward(cache, parameters), 5)
    for name in ("Wax", "Waa", "Wya", "ba", "by"):
        parameters[name] -= learning_rate * gradients["d" + name]
    return loss, gradients, cache[0][:, :, -1]
""",
)


def hostile_notebook(assignment: str) -> nbformat.NotebookNode:
    nb = submissions.completed(assignment)
    for function, (source, _) in BROKEN[assignment].items():
        nb = submissions.replace_function(nb, function, source.lstrip("\n"))
    if assignment == "assign_5b":
        nb = submissions.replace_function(nb, PRINTS_A_LOT[0], PRINTS_A_LOT[1].lstrip("\n"))
    return nb


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, CellResult]]:
    """assignment -> function -> trusted verdict on the hostile submission."""
    out = {}
    for assignment in ASSIGNMENTS:
        path = tmp_path_factory.mktemp("hostile") / f"{assignment}.ipynb"
        nbformat.write(hostile_notebook(assignment), path)
        limits = Limits(function_seconds=WALL) if assignment == "assign_5a" else Limits()
        out[assignment] = {r.function: r for r in verify_notebook(assignment, path, limits)}
    return out


BROKEN_CASES = [pytest.param(a, f, id=f) for a in ASSIGNMENTS for f in BROKEN[a]]


@pytest.mark.parametrize(("assignment", "function"), BROKEN_CASES)
def test_broken_function_scores_zero_with_a_clear_message(
    verified: dict[str, dict[str, CellResult]], assignment: str, function: str
) -> None:
    """The function's grade cell scores 0, and every case's message says what went wrong."""
    result = verified[assignment][function]
    phrase = BROKEN[assignment][function][1]
    assert result.score == 0.0
    message = result.outcome.message()
    assert message.startswith(f"{function} is not right yet."), message
    assert phrase in message, message
    assert len(message) < 5000, "the message must stay readable, not carry the flood"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_other_functions_still_score_full(
    verified: dict[str, dict[str, CellResult]], assignment: str
) -> None:
    """Next to the broken functions, the correct ones (and the one that prints 100 MB) keep
    every point."""
    results = verified[assignment]
    assert set(results) == set(grade_cells(assignment))
    correct = set(results) - set(BROKEN[assignment])
    assert correct, "the submission must hold correct functions for this test to mean anything"
    for function in correct:
        assert results[function].score == results[function].max_points, results[function].outcome.message()
    if assignment == "assign_5b":
        assert PRINTS_A_LOT[0] in correct


def test_the_limit_is_cpu_time_so_a_busy_machine_does_not_fail_honest_work(tmp_path: Path) -> None:
    """A function that waits uses no CPU: past its limit by the clock it still scores, as an
    honest function slowed by a busy machine does; one that waits for ever is stopped at
    ``WALL_SLACK`` times its limit, and told so; one that ignores SIGXCPU is stopped all the same."""
    # sleeps on its first call, then computes as the course's does
    head = "def rnn_cell_forward(xt, a_prev, parameters):\n"
    sleep = f"__import__('time').sleep({1.5 * WALL})"
    first_call = f"    globals()['waited'] = globals().get('waited') or {sleep} or 1\n"
    nb = submissions.completed("assign_5a")
    nb = submissions.edit_function(nb, "rnn_cell_forward", ((head, head + first_call),))
    waits = "import time\n\n\ndef gru_cell_forward(xt, a_prev, parameters):\n    time.sleep(600)\n"
    nb = submissions.replace_function(nb, "gru_cell_forward", waits)
    # told to ignore the CPU limit's signal: the hard limit, a second later, still stops it
    deaf = (
        "import signal\n\n\ndef gru_forward(x, a0, parameters):\n"
        "    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n        pass\n"
    )
    nb = submissions.replace_function(nb, "gru_forward", deaf)
    path = tmp_path / "assign_5a.ipynb"
    nbformat.write(nb, path)
    results = {r.function: r for r in verify_notebook("assign_5a", path, Limits(function_seconds=WALL))}
    assert results["rnn_cell_forward"].score == results["rnn_cell_forward"].max_points
    waiting = results["gru_cell_forward"]
    assert waiting.score == 0.0
    phrase = f"it did not finish within {WALL_SLACK * WALL:.0f} s of wall-clock time, having used 0."
    assert phrase in waiting.outcome.message(), waiting.outcome.message()
    deaf = results["gru_forward"]
    assert deaf.score == 0.0
    message = deaf.outcome.message()
    if f"it ran longer than {WALL:.0f} s of CPU time" not in message:
        # a machine busier than its cores gave it under a twelfth of a core: the clock's cap
        # stopped it first, before its CPU limit's second, hard, signal could; never after it
        used = re.search(r"gave your function only ([\d.]+) s of CPU", message)
        assert used and float(used.group(1)) < WALL + 1, message
        assert deaf.grader_fault, message


# Top-level code of the student's that reaches for the sandbox's own time limits: the
# runner's module globals, and (through the garbage collector) the limits it read.
LIFTS_ITS_LIMITS = """
import gc, sys
runner = sys.modules["__main__"]
runner.cpu_seconds = lambda limit: 59
runner.WALL_SLACK = 1000
for held in gc.get_objects():
    if isinstance(held, dict) and "timeouts" in held and "source" in held:
        held["timeouts"][:] = [59] * len(held["timeouts"])
"""
COMPUTES_FOR_4_S = """
import time


def f():
    start = time.process_time()
    while time.process_time() - start < 4.0:
        pass
    return 1
"""


def test_student_code_cannot_lift_its_own_time_limit() -> None:
    """The sandbox's process that sets and keeps the limits never runs student code: what the
    student's definitions change there is their own fork's, not the limit of their function."""
    task = Task("f", {"calls": [{"label": "c0", "args": [], "kwargs": {}}]}, {})
    run = run_functions([LIFTS_ITS_LIMITS, COMPUTES_FOR_4_S], [task], seconds={"f": 1.0})[0]
    assert not run.outputs, run.outputs
    assert "ran longer than 1 s of CPU time" in run.errors["c0"], run.errors


@pytest.mark.parametrize("runner", ["new sandbox", "forked by the zygote"])
def test_a_busy_machine_slows_a_computing_function_but_never_stops_it_as_idle(runner: str) -> None:
    """Three processes computing on the one core the sandbox may use leave the function a
    quarter of it: it passes its idle allowance by the clock long before it has used its CPU
    time, and is still stopped by its CPU limit, told so, not told it was waiting. Both ways
    a runner starts: its own sandbox (a job's first run), or forked by the job's zygote."""
    tasks = [Task("f", {"calls": [{"label": runner, "args": [], "kwargs": {}}]}, {})]  # a job of its own
    job = str(sandbox._job_folder(tasks))  # the folder the runs of this list share
    if runner == "forked by the zygote":
        run_functions([COMPUTES_FOR_4_S], tasks, seconds={"f": 1.0})  # the job's first run
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})  # the spinners and the sandbox (or zygote) inherit it
    # each in a session of its own, as the sandbox is: the scheduler shares a core between
    # sessions before it shares it between their processes (autogroups)
    spin = [sys.executable, "-c", "while True: pass"]
    spinners = [subprocess.Popen(spin, start_new_session=True) for _ in range(3)]
    try:
        start = time.monotonic()
        run = run_functions([COMPUTES_FOR_4_S], tasks, seconds={"f": 1.0})[0]
        took = time.monotonic() - start
        forked = any(key[1] == job for key in sandbox._RUNNER_ZYGOTES)
    finally:
        os.sched_setaffinity(0, allowed)
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        for key in [k for k in sandbox._RUNNER_ZYGOTES if k[1] == job]:
            sandbox._RUNNER_ZYGOTES.pop(key).close()  # it was started on the one core
    assert forked == (runner == "forked by the zygote")
    assert took > WALL_SLACK * 1.0, f"the core was not busy enough to test this ({took:.1f} s)"
    assert "ran longer than 1 s of CPU time" in run.errors[runner], run.errors


# A function that keeps the one core it pins itself to busy with processes of its own: it
# is ready to run all along and gets a twentieth of that core, so it neither idles nor
# reaches its CPU limit before the clock's cap (WALL_CAP x WALL_SLACK x 1 s = 12 s) stops it.
STARVES_ITSELF = """
import os
import time


def f():
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for _ in range(20):
        if os.fork() == 0:
            while True:
                pass
    start = time.process_time()
    while time.process_time() - start < 4.0:
        pass
    return 1
"""


def test_a_function_starved_of_cpu_is_the_graders_fault_only_when_the_machine_did_it() -> None:
    """Twenty processes of other sessions compute on the one core two sandboxes may use, run at
    once. Both functions are stopped by the clock's cap, ready to run all along and given
    under a twelfth of a core. The one that ran alone is not told it waited or slept: its run
    blames the grader, so ``grade`` calls it a grader error to regrade
    (``tests/test_grade_status.py``). The one whose own processes held it back scores zero,
    told so."""
    runs: dict[str, Run] = {}

    def stopped_by_the_cap(source: str) -> None:
        task = Task("f", {"calls": [{"label": "c0", "args": [], "kwargs": {}}]}, {})  # a job of its own
        runs[source] = run_functions([source], [task], seconds={"f": 1.0})[0]

    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})  # the spinners and the new sandboxes inherit it
    spin = [sys.executable, "-c", "while True: pass"]
    spinners = [subprocess.Popen(spin, start_new_session=True) for _ in range(20)]
    try:
        start = time.monotonic()
        both = [
            threading.Thread(target=stopped_by_the_cap, args=(s,)) for s in (COMPUTES_FOR_4_S, STARVES_ITSELF)
        ]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
        took = time.monotonic() - start
    finally:
        os.sched_setaffinity(0, allowed)
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert took >= WALL_CAP * WALL_SLACK * 1.0, f"stopped after {took:.1f} s, before the clock's cap"
    machine, itself = runs[COMPUTES_FOR_4_S], runs[STARVES_ITSELF]
    assert not machine.outputs and not itself.outputs
    message = machine.errors["c0"]
    assert "the grader's machine was too busy" in message and "says nothing about your code" in message
    assert "waiting for something" not in message and "ran longer than" not in message
    assert machine.grader_fault.startswith("f was stopped after "), machine.grader_fault
    used = re.search(r"given only ([\d.]+) s of CPU", machine.grader_fault)
    assert used and float(used.group(1)) < 1.0, machine.grader_fault
    message = itself.errors["c0"]
    assert "processes it started, or a priority it lowered, kept it from the CPU" in message, message
    assert not itself.grader_fault


@pytest.mark.parametrize("status", [b"0", b"[1]", b'{"timeout": "x"}', b'{"starved": "x", "cpu": 0.1}'])
def test_a_status_that_is_not_the_runners_costs_that_function_only(status: bytes) -> None:
    """The runner sends statuses from its own memory; whatever else reaches the grader as one
    (a runner that was written over) fails that function with a plain reason, never the verify."""
    task = Task("f", {"calls": [{"label": "c0", "args": [], "kwargs": {}}]}, {})
    run = sandbox._read_result({"status_0.json": status}, 0, task, None)
    assert not run.outputs and not run.grader_fault
    assert run.errors["c0"].startswith("could not be run: "), run.errors


def _results_file(result: object, compressed: bool = False) -> bytes:
    """An ``out_<i>.npz`` holding ``result`` as the runner's JSON record (and no outputs)."""
    out = io.BytesIO()
    arrays = {"__result__": np.array(json.dumps(result)), **runner.pack({})}
    (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return out.getvalue()


RUNNERS = {"errors": {"c0": "ValueError: no"}, "structure": {}, "stdout": {}, "load_errors": []}


@pytest.mark.parametrize(
    ("result", "compressed"),
    [
        ({**RUNNERS, "errors": {"c0": 1}}, False),
        ({**RUNNERS, "errors": ["c0"]}, False),
        ({**RUNNERS, "structure": []}, False),
        ({**RUNNERS, "structure": {"c0/out": 5}}, False),
        ({**RUNNERS, "stdout": "x"}, False),
        ({**RUNNERS, "missing": "f", "load_errors": [1]}, False),
        ([], False),
        (RUNNERS, True),  # np.savez never compresses: a member inflated a thousandfold, here
    ],
    ids=[
        "error a number",
        "errors a list",
        "structure a list",
        "a kind a number",
        "stdout a text",
        "load error a number",
        "not a record",
        "compressed",
    ],
)
def test_a_results_file_that_is_not_the_runners_costs_that_function_only(
    result: object, compressed: bool
) -> None:
    """The function's own process can write its results file. A record of another shape, or
    a file ``np.savez`` would not write, fails that function with a plain reason here,
    never later in the judge (which would stop the whole verify)."""
    task = Task("f", {"calls": [{"label": "c0", "args": [], "kwargs": {}}]}, {})
    status = b'{"cpu": 0.1, "exit": 0}'
    files = {"out_0.npz": _results_file(RUNNERS), "status_0.json": status}
    control = sandbox._read_result(files, 0, task, None)
    assert control.errors == RUNNERS["errors"], "the runner's own record must read as it is"
    files = {"out_0.npz": _results_file(result, compressed), "status_0.json": status}
    run = sandbox._read_result(files, 0, task, None)
    assert not run.outputs and not run.grader_fault
    assert run.errors["c0"].startswith("could not be run: its results could not be read"), run.errors


def test_outputs_that_are_not_real_numbers_are_wrong_and_say_why(tmp_path: Path) -> None:
    """Complex numbers (compared as floats, their imaginary part would vanish), durations and
    records are wrong outputs, with a message; the right outputs beside them keep their
    share, and the other functions their points."""
    full = submissions.completed("assign_5a")
    returns = {
        "rnn_cell_forward": ("return a_next + 5j, yt_pred, cache", "holds complex numbers"),
        "gru_cell_forward": (
            "return (a_next * 1000).astype('m8[s]'), yt_pred, cache",
            "should hold numbers, but has dtype timedelta64[s]",
        ),
        "gru_forward": (
            "return np.zeros(a.shape, dtype=[('a', 'f8')]), y_pred, caches",
            "should hold numbers, but has dtype [('a', '<f8')]",
        ),
    }
    nb = full
    for function, (line, _) in returns.items():
        lines = _source(full, function).splitlines()
        old = next(ln.strip() for ln in lines if ln.strip().startswith("return "))
        nb = submissions.edit_function(nb, function, ((old, line),))
    path = tmp_path / "assign_5a.ipynb"
    nbformat.write(nb, path)
    results = {r.function: r for r in verify_notebook("assign_5a", path)}
    for function, (_, phrase) in returns.items():
        result = results[function]
        assert phrase in result.outcome.message(), result.outcome.message()
        earned = [p.earned for p in result.outcome.parts]
        assert earned[0] is False and all(earned[1:]), (function, result.outcome.parts)  # a, then the rest
    assert results["rnn_forward"].score == results["rnn_forward"].max_points


def _source(nb: nbformat.NotebookNode, function: str) -> str:
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == function)


def _assert_notebook_error(path: Path, assignment: str, phrase: str) -> None:
    """Every grade cell scores 0 with the NotebookError's own message."""
    with pytest.raises(NotebookError) as error:
        read_notebook(path)
    assert phrase in str(error.value)
    results = verify_notebook(assignment, path)
    assert {r.function for r in results} == set(grade_cells(assignment))
    for r in results:
        assert r.score == 0.0
        assert r.outcome.problems == [str(error.value)], r.outcome.message()


def test_non_json_file(tmp_path: Path) -> None:
    """A file that is not JSON (here: a Python script saved as .ipynb) gets a clear message."""
    path = tmp_path / "assign_5a.ipynb"
    path.write_text(
        "import numpy as np\n\ndef rnn_cell_forward(xt, a_prev, parameters):\n    pass\n", encoding="utf-8"
    )
    _assert_notebook_error(path, "assign_5a", "not valid notebook JSON")


def test_truncated_notebook(tmp_path: Path) -> None:
    """A notebook cut off halfway (an interrupted upload) gets a clear message."""
    text = nbformat.writes(submissions.completed("assign_5b"))
    path = tmp_path / "assign_5b.ipynb"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    _assert_notebook_error(path, "assign_5b", "not valid notebook JSON")


def test_a_worker_looks_up_the_kernel_spec_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """jupyter_client would search every kernel folder again for each kernel: the sandboxed
    manager keeps what the first lookup found for this process's later kernels."""
    from jupyter_client.kernelspec import KernelSpecManager

    from autograder.instructor import sandbox

    lookups = []
    original = KernelSpecManager.get_kernel_spec

    def counted(self, name):
        lookups.append(name)
        return original(self, name)

    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", counted)
    monkeypatch.setattr(sandbox, "_KERNEL_SPECS", {})
    manager = sandbox.sandboxed_kernel_manager(None)
    specs = [manager(kernel_name="python3").kernel_spec for _ in range(3)]
    assert lookups == ["python3"]
    assert specs[0] is specs[1] is specs[2] and specs[0].language == "python"


def test_a_verdict_that_raises_fails_that_function_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a function's results break the judge in a way no check foresaw, that function
    fails, saying so; the verify goes on and judges the others."""
    from autograder.instructor import verify

    judged = verify.verdict

    def breaks_on_gru_forward(spec, *args):
        if spec.name == "gru_forward":
            raise TypeError("a kind of value no check foresaw")
        return judged(spec, *args)

    monkeypatch.setattr(verify, "verdict", breaks_on_gru_forward)
    path = tmp_path / "assign_5a.ipynb"
    nbformat.write(submissions.completed("assign_5a"), path)
    results = {r.function: r for r in verify_notebook("assign_5a", path)}
    assert results["gru_forward"].score == 0.0
    assert "could not be judged (TypeError)" in results["gru_forward"].outcome.message()
    assert all(r.score == r.max_points for f, r in results.items() if f != "gru_forward")
