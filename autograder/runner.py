"""Call a function according to a plan and flatten what it returns into named arrays.

This module is the only grading code that runs next to student code: in the
student's kernel (self-checks, nbgrader grade cells) and, copied alone, inside
the sandbox of the trusted verify step. It therefore depends on NumPy and the
standard library only, and everything it hands back is a plain array.

A *plan* is JSON: a list of calls, each with encoded ``args``/``kwargs``
(see ``encode``), a ``repeat`` count and whether to capture the arguments after
the call (for functions that update a dict in place).
Outputs are keyed ``"<call label>/out/<path>"``, e.g. ``"case0/out/2/1"`` is
``result[2][1]`` of call ``case0``; ``structure`` maps each path to its type.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

OUTPUT_TAIL = 2000  # characters of a failing call's stdout kept for the message


def encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Turn arrays, tuples, dicts, generators into JSON, storing arrays in ``arrays``."""
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__nd__": key}
    if isinstance(obj, RngSeed):
        return {"__rng__": obj.seed}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        return {"__items__": [[encode(k, arrays), encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot encode {type(obj).__name__}")


def decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of ``encode``; every array is copied so a call cannot alter the inputs."""
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__nd__" in obj:
            return np.array(arrays[obj["__nd__"]], copy=True)
        if "__rng__" in obj:
            return np.random.default_rng(obj["__rng__"])
        if "__tuple__" in obj:
            return tuple(decode(v, arrays) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {decode(k, arrays): decode(v, arrays) for k, v in obj["__items__"]}
    return obj


class RngSeed:
    """Placeholder for ``np.random.default_rng(seed)``, created fresh on the running side."""

    def __init__(self, seed: int) -> None:
        self.seed = seed


def flatten(obj: Any, path: str, out: dict[str, np.ndarray], structure: dict[str, str]) -> None:
    """Store every leaf of ``obj`` under ``path`` as an array; record container types."""
    if isinstance(obj, (tuple, list)):
        if obj and all(_is_scalar(v) for v in obj):  # e.g. the indices that sample returns
            structure[path] = "list_of_scalars"
            out[path] = np.asarray(obj)
            return
        structure[path] = f"{type(obj).__name__}:{len(obj)}"
        for i, v in enumerate(obj):
            flatten(v, f"{path}/{i}", out, structure)
    elif isinstance(obj, dict):
        structure[path] = "dict:" + ",".join(sorted(map(str, obj)))
        for k, v in obj.items():
            flatten(v, f"{path}/{k}", out, structure)
    elif obj is None:
        structure[path] = "None"
    elif isinstance(obj, np.ndarray) or _is_scalar(obj):
        arr = np.asarray(obj)
        if arr.dtype == object:
            structure[path] = "object"
            return
        structure[path] = "array" if isinstance(obj, np.ndarray) else "scalar"
        out[path] = arr
    else:
        structure[path] = type(obj).__name__


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, np.integer, np.floating)) and not isinstance(v, str)


def describe_error(exc: BaseException) -> str:
    """One short paragraph: the exception and the student's line that raised it."""
    if isinstance(exc, NotImplementedError):
        return "NotImplementedError: replace `raise NotImplementedError()` with your code"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    # quote the student's own line, not the NumPy internals it called into
    own = [
        f
        for f in frames
        if f.filename.startswith(("<definition", "<ipython-input")) or "ipykernel_" in f.filename
    ]
    frames = own or frames
    where = ""
    if frames:
        f = frames[-1]
        where = f" (in {f.name}, line {f.lineno}: {(f.line or '').strip()})"
    return f"{type(exc).__name__}: {exc}{where}"


def run_plan(fn: Callable[..., Any], plan: dict, arrays: dict[str, np.ndarray]):
    """Run every call of ``plan``; return ``(outputs, structure, errors, stdout_tail)``.

    Errors are caught per call, so one crashing case does not hide the others.
    Warnings are silenced: in a grade cell any text on stderr scores zero.
    """
    outputs: dict[str, np.ndarray] = {}
    structure: dict[str, str] = {}
    errors: dict[str, str] = {}
    tails: dict[str, str] = {}
    for call in plan["calls"]:
        label = call["label"]
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured), warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                results = []
                args = decode(call["args"], arrays)
                kwargs = decode(call.get("kwargs", {}), arrays)
                for _ in range(call.get("repeat", 1)):
                    results.append(fn(*args, **kwargs))
            if call.get("repeat", 1) == 1:
                flatten(results[0], f"{label}/out", outputs, structure)
            else:
                for i, r in enumerate(results):
                    flatten(r, f"{label}/out/{i}", outputs, structure)
            if call.get("capture_args"):
                flatten(args, f"{label}/args", outputs, structure)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            errors[label] = describe_error(exc)
        text = captured.getvalue()
        if text:
            tails[label] = text[-OUTPUT_TAIL:]
    return outputs, structure, errors, tails


def exec_definitions(chunks: list[str], namespace: dict, tag: str = "definition") -> list[str]:
    """Run each top-level definition on its own; a failing import must not stop the rest."""
    import linecache

    errors = []
    for i, chunk in enumerate(chunks):
        filename = f"<{tag} {i}>"  # registered so tracebacks can quote the line
        linecache.cache[filename] = (len(chunk), None, chunk.splitlines(True), filename)
        try:
            exec(compile(chunk, filename, "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001
            errors.append(describe_error(exc))
    return errors


def _child_main(job_dir: str) -> None:
    """Entry point inside the sandbox.

    Load the student's definitions once, then fork one process per graded
    function: each fork adds the course's helpers, runs its plan and writes
    ``out_<i>.npz``. Forks share nothing afterwards, so one function's run cannot
    leave anything behind for the next; a fork that hangs is killed at its deadline.
    """
    import os
    import signal
    import time

    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    savez, dumps = np.savez, json.dumps  # kept before student code can rebind them
    namespace: dict[str, Any] = {"__name__": "submission"}
    load_errors = exec_definitions(job["source"], namespace)
    for i, task in enumerate(job["functions"]):
        pid = os.fork()
        if pid == 0:
            # each function's prints go to its own file, so a message quotes only its own
            fd = os.open(os.path.join(job_dir, f"stdout_{i}.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            try:
                _run_task(job_dir, i, task, namespace, load_errors, savez, dumps)
            finally:
                os._exit(0)
        deadline = time.monotonic() + task["timeout"]
        status = {"exit": None}
        while True:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status["exit"] = code
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status["timeout"] = task["timeout"]
                break
            time.sleep(0.002)
        with open(os.path.join(job_dir, f"status_{i}.json"), "w", encoding="utf-8") as f:
            f.write(dumps(status))


def _run_task(job_dir, i, task, namespace, load_errors, savez, dumps) -> None:
    import os

    with np.load(os.path.join(job_dir, f"inputs_{i}.npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    # the course's own helpers the function may call, so a bug elsewhere costs nothing here
    exec_definitions(task["inject"], namespace, tag="course helper")
    result: dict[str, Any] = {"errors": {}, "structure": {}, "stdout": {}, "load_errors": load_errors}
    outputs: dict[str, np.ndarray] = {}
    fn = namespace.get(task["function"])
    if not callable(fn):
        result["missing"] = task["function"]
    else:
        outputs, result["structure"], result["errors"], result["stdout"] = run_plan(fn, task["plan"], arrays)
    outputs["__result__"] = np.array(dumps(result))
    savez(os.path.join(job_dir, f"out_{i}.npz"), **outputs)


if __name__ == "__main__":
    _child_main(sys.argv[1])
