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

A call may also carry ``helpers``: for each course function the graded one calls
(``rnn_cell_forward`` inside ``rnn_forward``), what the course's version returned
for the inputs it was given. While the call runs, a ``Replay`` stands in for that
function, so one bug costs one function's points, and no solution code is ever
handed to the student's side: only the arrays it computed.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

OUTPUT_TAIL = 2000  # characters of a failing call's stdout kept for the message
# In the trusted verify, a function may use its limit in CPU time, and may spend WALL_SLACK
# times that neither computing nor queued for a core (sleeping, or waiting for something):
# a busy machine slows a computing function down, but never makes it look idle. Whatever
# it does, the clock stops it after WALL_CAP times that.
WALL_SLACK = 3
WALL_CAP = 4


def cpu_seconds(limit: float) -> int:
    """A time limit in whole seconds of CPU (``RLIMIT_CPU`` counts whole seconds)."""
    return max(1, math.ceil(limit))


def encode(obj: Any, arrays: dict[str, np.ndarray], memo: dict | None = None) -> Any:
    """Turn arrays, tuples, dicts, generators into JSON, storing arrays in ``arrays``.

    Floats are stored as 0-d arrays too, never as decimal text: another CPU rounds the
    last digit of a loss differently, and a number in an array is compared with a
    tolerance, while text is compared character by character.

    With ``memo``, an array equal to one stored before is stored once (helper records
    repeat the same parameters in every cache and every call).
    """
    if isinstance(obj, np.ndarray):
        return {"__nd__": _store(obj, arrays, memo)}
    if isinstance(obj, np.floating):  # before ``float``: np.float64 is a float too
        return {"__scalar__": _store(np.asarray(obj), arrays, memo)}
    if isinstance(obj, float):
        return {"__float__": _store(np.asarray(obj, dtype=np.float64), arrays, memo)}
    if isinstance(obj, RngSeed):
        return {"__rng__": obj.seed}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays, memo) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, arrays, memo) for v in obj]
    if isinstance(obj, dict):
        return {"__items__": [[encode(k, arrays, memo), encode(v, arrays, memo)] for k, v in obj.items()]}
    if isinstance(obj, np.integer):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, np.random.Generator):
        return None  # a helper's random state is not compared (see ``same``)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _store(value: np.ndarray, arrays: dict[str, np.ndarray], memo: dict | None) -> str:
    """The key under which ``value`` is kept in ``arrays`` (stored once per content with ``memo``)."""
    content = (value.dtype.str, value.shape, value.tobytes()) if memo is not None else None
    if content is not None and content in memo:
        return memo[content]
    key = f"a{len(arrays)}"
    arrays[key] = value
    if content is not None:
        memo[content] = key
    return key


PACKED = "__packed__"  # the index member of a packed group of arrays


def pack(arrays: dict[str, np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    """Many small arrays as a few, for ``np.savez``: one flat array per dtype and a JSON
    index. Reading an ``.npz`` member costs ~60 us, and a hidden case of ``model``
    holds thousands (every helper call it records)."""
    flat: dict[str, list[np.ndarray]] = {}
    sizes: dict[str, int] = {}
    index = {}
    for key, value in arrays.items():
        value = np.asarray(value)
        dtype = value.dtype.str
        index[key] = [dtype, list(value.shape), sizes.get(dtype, 0)]
        flat.setdefault(dtype, []).append(value.ravel())
        sizes[dtype] = sizes.get(dtype, 0) + value.size
    out = {f"{prefix}{PACKED}/{dtype}": np.concatenate(parts) for dtype, parts in flat.items()}
    out[prefix + PACKED] = np.array(json.dumps(index))
    return out


def unpack(data: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays ``pack`` packed, read from ``data`` (an ``np.load`` result or a dict)."""
    index = json.loads(str(data[prefix + PACKED][()]))
    flat = {dtype: data[f"{prefix}{PACKED}/{dtype}"] for dtype in {v[0] for v in index.values()}}
    out = {}
    for key, (dtype, shape, offset) in index.items():
        size = math.prod(shape)  # thousands of small arrays: np.prod costs 5 us each
        out[key] = flat[dtype][offset : offset + size].reshape(shape)
    return out


REFS = ("__nd__", "__float__", "__scalar__")  # how an encoded value names its array


def array_refs(obj: Any) -> list[str]:
    """The keys of the arrays an encoded value refers to."""
    if isinstance(obj, list):
        return [k for v in obj for k in array_refs(v)]
    if isinstance(obj, dict):
        own = [obj[r] for r in REFS if r in obj]
        return own + [k for v in obj.values() if isinstance(v, (list, dict)) for k in array_refs(v)]
    return []


def decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of ``encode``; every array is copied so a call cannot alter the inputs."""
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__nd__" in obj:
            return np.array(arrays[obj["__nd__"]], copy=True)
        if "__float__" in obj:
            return float(arrays[obj["__float__"]])
        if "__scalar__" in obj:
            return arrays[obj["__scalar__"]][()]
        if "__rng__" in obj:
            return np.random.default_rng(obj["__rng__"])
        if "__tuple__" in obj:
            return tuple(decode(v, arrays) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {decode(k, arrays): decode(v, arrays) for k, v in obj["__items__"]}
    return obj


class HelperInputError(Exception):
    """A graded function passed a helper inputs the course's version never received;
    ``arguments`` holds what it passed (compared with the catalogued mistakes' calls)."""

    def __init__(self, message: str, arguments: dict) -> None:
        super().__init__(message)
        self.arguments = arguments


# How close a helper's inputs must be to the recorded ones: the judge's tolerance
# (judge.TOL, the same norm-wise relative error), so a correct function computing in
# float32 or in another order still gets its helper's answers, a wrong input does not.
REPLAY_TOL = 1e-5


def same(recorded: Any, actual: Any) -> bool:
    """Whether ``actual`` equals the decoded ``recorded`` value (arrays up to REPLAY_TOL)."""
    if isinstance(recorded, np.ndarray):
        if isinstance(actual, (list, float, int, np.number)):
            actual = np.asarray(actual)
        if not isinstance(actual, np.ndarray) or actual.shape != recorded.shape:
            return False
        if not np.issubdtype(actual.dtype, np.number) or not np.issubdtype(recorded.dtype, np.number):
            return bool(np.array_equal(actual, recorded))
        a, r = actual.astype(np.float64), recorded.astype(np.float64)
        return bool(np.linalg.norm(a - r) <= REPLAY_TOL * (np.linalg.norm(a) + np.linalg.norm(r)))
    if isinstance(recorded, (tuple, list)):
        return (
            isinstance(actual, (tuple, list))
            and len(actual) == len(recorded)
            and all(same(r, a) for r, a in zip(recorded, actual, strict=True))
        )
    if isinstance(recorded, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(recorded)
            and all(same(v, actual[k]) for k, v in recorded.items())
        )
    if isinstance(recorded, float):
        return isinstance(actual, (int, float, np.number)) and abs(actual - recorded) <= REPLAY_TOL * (
            abs(actual) + abs(recorded)
        )
    if isinstance(actual, np.ndarray):  # a 0-d array where the course passed a number
        return actual.shape == () and recorded == actual.item()
    return recorded == actual or recorded is None and isinstance(actual, np.random.Generator)


def _update_in_place(target: Any, after: Any) -> None:
    """Copy the recorded post-call state of mutable arguments into the caller's objects."""
    if isinstance(target, dict) and isinstance(after, dict):
        for k, v in after.items():
            if (
                isinstance(target.get(k), np.ndarray)
                and isinstance(v, np.ndarray)
                and target[k].shape == v.shape
            ):
                target[k][...] = v
            else:
                target[k] = v
    elif isinstance(target, list) and isinstance(after, list) and len(target) == len(after):
        target[:] = after
    elif isinstance(target, np.ndarray) and isinstance(after, np.ndarray) and target.shape == after.shape:
        target[...] = after


class Replay:
    """Stands in for a course function: returns what the course's version returned for the
    same inputs, and applies the same changes to mutable arguments.

    A record holds the call's arguments by parameter name (defaults applied), the state
    of each argument the call changed, and the return value, all encoded.
    """

    def __init__(self, name: str, records: list[dict], arrays: dict[str, np.ndarray]) -> None:
        self.__name__ = name
        self._records = records
        self._arrays = arrays
        self._calls = 0

    def _bind(self, rec: dict, args: tuple, kwargs: dict) -> dict | None:
        """The call's arguments by name, defaults filled in as the function's own."""
        params = rec["params"]
        if len(args) > len(params) or set(kwargs) - set(params):
            return None
        bound = dict(zip(params, args, strict=False))
        if set(bound) & set(kwargs):
            return None
        defaults = decode(rec["defaults"], self._arrays)
        bound = {**defaults, **bound, **kwargs}
        return bound if set(bound) == set(params) else None

    def _differs(self, rec: dict, bound: dict) -> list[str]:
        recorded = decode(rec["args"], self._arrays)
        return [k for k, v in bound.items() if not same(recorded[k], v)]

    def answer(self, args: tuple | list, kwargs: dict) -> tuple[Any, dict]:
        """What the course's version returned for these arguments, and the changes it made
        to them: ``(output, {position or keyword: state after the call})``. Raises
        ``HelperInputError`` when no record was made with these arguments."""
        self._calls += 1
        n = len(self._records)
        order = [(self._calls - 1) % n, *range(n)] if n else []  # the usual order first
        for i in order:
            rec = self._records[i]
            bound = self._bind(rec, tuple(args), kwargs)
            if bound is not None and not self._differs(rec, bound):
                changes: dict = {}
                for k, state in decode(rec["after"], self._arrays).items():
                    if state is None:
                        continue
                    if k in kwargs:
                        changes[k] = state
                    elif k in rec["params"][: len(args)]:
                        changes[rec["params"].index(k)] = state
                return decode(rec["out"], self._arrays), changes
        which, bound = ": its arguments do not match", None
        if n:
            rec = self._records[min(self._calls, n) - 1]
            bound = self._bind(rec, tuple(args), kwargs)
            names = self._differs(rec, bound) if bound is not None else []
            if names:
                which = f": {', '.join(names)} differ{'s' if len(names) == 1 else ''} from"
        raise HelperInputError(
            f"call {self._calls} to {self.__name__}{which} what the course's version passes at that "
            f"point; check the arguments you give {self.__name__}",
            bound if bound is not None else {"args": list(args), "kwargs": kwargs},
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out, changes = self.answer(args, kwargs)
        apply_changes(args, kwargs, changes)
        return out


def apply_changes(args: tuple | list, kwargs: dict, changes: dict) -> None:
    """Apply a replayed call's recorded changes to the caller's own arguments."""
    for where, state in changes.items():
        if isinstance(where, int) and 0 <= where < len(args):
            _update_in_place(args[where], state)
        elif isinstance(where, str) and where in kwargs:
            _update_in_place(kwargs[where], state)


# --- replaying helpers across the sandbox's wall ---------------------------------------
# In the trusted verify the records stay with the grader: they hold the course's answers.
# The sandboxed function's stand-ins send each call's arguments over a socket, and the
# grader answers only a call whose arguments match a record (see ``sandbox``): exactly
# what a correct function, calling its helper, would get back.

MESSAGE_LIMIT = 64 * 1024**2  # bytes of one request or answer
# The dtypes a message carries: numbers, booleans and strings, never an object (which only
# pickle could carry) nor a structured or sub-array type.
PLAIN_KINDS = frozenset("biufcSU")


def to_message(obj: Any) -> bytes:
    """``obj`` (anything ``encode`` takes) as one length-prefixed message: a JSON header (the
    encoded structure, and each array's dtype and shape) followed by the arrays' raw bytes.
    A helper is called thousands of times in a hidden case of ``model``: this costs a
    tenth of an ``.npz``'s zip archive. Raises TypeError for an array of objects."""
    arrays: dict[str, np.ndarray] = {}
    tree = encode(obj, arrays)
    table, chunks = [], []
    for key, value in arrays.items():
        if value.dtype.kind not in PLAIN_KINDS:
            raise TypeError(f"cannot send an array of {value.dtype}")
        table.append([key, value.dtype.str, list(value.shape)])
        chunks.append(value.tobytes())  # C order, whatever the array's own layout
    header = json.dumps({"tree": tree, "arrays": table}).encode()
    body = b"".join([len(header).to_bytes(8, "big"), header, *chunks])
    return len(body).to_bytes(8, "big") + body


PLAIN_DTYPE = re.compile(r"[<>|=][biufcSU][0-9]{1,6}")  # as ``dtype.str`` spells a plain one


def _small_number(text: str) -> int | float:
    """A number of a message's JSON: exactly representable and never a crafted hash
    collision (integers that are multiples of 2**61 - 1 all hash alike, and a dict of
    many of them takes quadratic time to build)."""
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if not abs(value) < 2**53:  # also a float that overflows
        raise ValueError("a number out of range")
    return value


def from_message(body: bytes, limit: int = MESSAGE_LIMIT) -> Any:
    """The object ``to_message`` encoded, from the message's body (without its length).
    Raises ValueError (or another ``Exception``) for anything else: the body comes from
    the other side of the sandbox's wall, so every dtype, shape and size is checked
    against the bytes that are there, and what it decodes to holds at most ``limit``
    bytes of arrays (an array referred to many times is copied each time)."""
    size = int.from_bytes(body[:8], "big")
    header = json.loads(body[8 : 8 + size], parse_int=_small_number, parse_float=_small_number)
    offset = 8 + size
    arrays: dict[str, np.ndarray] = {}
    for key, dtype, shape in header["arrays"]:
        if not isinstance(dtype, str) or not PLAIN_DTYPE.fullmatch(dtype) or not isinstance(key, str):
            raise ValueError("not a plain array")
        dtype = np.dtype(dtype)
        if dtype.kind not in PLAIN_KINDS or dtype.itemsize == 0:
            raise ValueError("not a plain array")
        if not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError("not a shape")
        count = math.prod(shape)
        if offset + count * dtype.itemsize > len(body):
            raise ValueError("shorter than its header says")
        arrays[key] = np.frombuffer(body, dtype, count, offset).reshape(shape)
        offset += count * dtype.itemsize
    if offset != len(body):
        raise ValueError("longer than its header says")
    if sum(arrays[key].nbytes for key in array_refs(header["tree"])) > limit:
        raise ValueError("refers to its arrays too many times")
    return decode(header["tree"], arrays)


def read_message(channel: Any, limit: int = MESSAGE_LIMIT) -> Any:
    """The next message on socket ``channel``, decoded; None at its end or when it is
    larger than ``limit`` or unreadable."""
    header = _recv_exactly(channel, 8)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > limit:
        return None
    body = _recv_exactly(channel, size)
    if body is None:
        return None
    try:
        return from_message(body)
    except Exception:  # noqa: BLE001 - whatever was sent, it is not an answer or a request
        return None


def _recv_exactly(channel: Any, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = channel.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class RemoteReplay:
    """A course function's stand-in in the verify's sandbox: asks the grader, over
    ``channel``, what the course's version returns for these arguments."""

    def __init__(self, name: str, label: str, channel: Any) -> None:
        self.__name__ = name
        self._label = label
        self._channel = channel

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = {"label": self._label, "name": self.__name__, "args": list(args), "kwargs": kwargs}
        try:
            message = to_message(request)
        except TypeError:
            raise HelperInputError(
                f"{self.__name__} was given something other than arrays, numbers, strings, lists, "
                "tuples or dicts; check the arguments you give it",
                {"args": [], "kwargs": {}},
            ) from None
        self._channel.sendall(message)
        answer = read_message(self._channel)
        if not isinstance(answer, dict):
            raise HelperInputError(f"{self.__name__} got no answer from the grader", {"args": []})
        if "error" in answer:
            raise HelperInputError(str(answer["error"]), answer.get("arguments") or {})
        apply_changes(args, kwargs, answer.get("changes") or {})
        return answer.get("out")


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


@contextlib.contextmanager
def replayed_helpers(fn: Callable[..., Any], stand_ins: dict[str, Callable[..., Any]]):
    """While the block runs, the helpers ``fn`` calls by name are the ``stand_ins``."""
    namespace = getattr(fn, "__globals__", None)
    if not stand_ins or namespace is None:
        yield
        return
    missing = object()
    saved = {name: namespace.get(name, missing) for name in stand_ins}
    namespace.update(stand_ins)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def local_replays(arrays: dict[str, np.ndarray]) -> Callable[[dict], dict[str, Callable[..., Any]]]:
    """Stand-ins made from the records a call carries (``call["helpers"]``)."""
    return lambda call: {name: Replay(name, recs, arrays) for name, recs in call.get("helpers", {}).items()}


def run_plan(
    fn: Callable[..., Any],
    plan: dict,
    arrays: dict[str, np.ndarray],
    stand_ins: Callable[[dict], dict[str, Callable[..., Any]]] | None = None,
    enough: tuple[Callable[[int], int], Callable[[dict, list], bool]] | None = None,
):
    """Run every call of ``plan``; return ``(outputs, structure, errors, stdout_tail)``.

    The graded helpers ``fn`` calls are replaced by ``stand_ins(call)`` (by default,
    replays of the records the call carries). ``enough = (first, stop)``: a call repeated
    ``repeat`` times stops after its ``first(repeat)`` results when ``stop(call, results)``
    says so, else goes on where it was (the grading kernel's ``sample``, see
    ``checks.first_draws_first``).

    Errors are caught per call, so one crashing case does not hide the others.
    Warnings are silenced: in a grade cell any text on stderr scores zero.
    """
    outputs: dict[str, np.ndarray] = {}
    structure: dict[str, str] = {}
    errors: dict[str, str] = {}
    tails: dict[str, str] = {}
    stand_ins = stand_ins or local_replays(arrays)
    for call in plan["calls"]:
        label = call["label"]
        captured = io.StringIO()
        try:
            with (
                contextlib.redirect_stdout(captured),
                warnings.catch_warnings(),
                np.errstate(all="ignore"),
                replayed_helpers(fn, stand_ins(call)),
            ):
                warnings.simplefilter("ignore")
                results = []
                args = decode(call["args"], arrays)
                kwargs = decode(call.get("kwargs", {}), arrays)
                repeat = call.get("repeat", 1)
                check_at = enough[0](repeat) if enough else 0
                for i in range(repeat):
                    results.append(fn(*args, **kwargs))
                    if i + 1 == check_at < repeat and enough[1](call, results):
                        break
            if repeat == 1:
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
            if isinstance(exc, HelperInputError):  # what it passed, to recognise a known mistake
                with contextlib.suppress(Exception):
                    flatten(exc.arguments, f"{label}/helper", outputs, structure)
        text = captured.getvalue()
        if text:
            tails[label] = text[-OUTPUT_TAIL:]
    return outputs, structure, errors, tails


def compile_definitions(chunks: list[str], tag: str = "definition") -> tuple[list[Any], list[str]]:
    """Each top-level definition compiled on its own (nothing of it runs): the code objects
    (None where a chunk does not compile) and the errors."""
    import linecache

    codes, errors = [], []
    for i, chunk in enumerate(chunks):
        filename = f"<{tag} {i}>"  # registered so tracebacks can quote the line
        linecache.cache[filename] = (len(chunk), None, chunk.splitlines(True), filename)
        try:
            codes.append(compile(chunk, filename, "exec"))
        except Exception as exc:  # noqa: BLE001
            codes.append(None)
            errors.append(describe_error(exc))
    return codes, errors


def run_definitions(codes: list[Any], namespace: dict) -> list[str]:
    """Run compiled definitions one at a time; a failing import must not stop the rest."""
    errors = []
    for code in codes:
        if code is None:
            continue
        try:
            exec(code, namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001
            errors.append(describe_error(exc))
    return errors


def exec_definitions(chunks: list[str], namespace: dict, tag: str = "definition") -> list[str]:
    """Run each top-level definition on its own; a failing import must not stop the rest."""
    codes, errors = compile_definitions(chunks, tag)
    return errors + run_definitions(codes, namespace)


def _child_main(in_dir: str, run_dir: str, out_dir: str, channels: str = "") -> None:
    """Entry point inside the sandbox.

    Read the job from ``in_dir`` and the student's definitions and time limits from
    ``run_dir`` (both read-only), compile the definitions, then fork one process per
    graded function: each fork runs the student's definitions, adds the course's helpers,
    runs its plan and writes ``out_<i>.npz`` to ``out_dir`` (the sandbox's own small
    tmpfs). This process never runs student code, so the limits it sets, the deadlines it
    keeps and the status it reports are its own; forks share nothing, so one function's
    run cannot leave anything behind for the next. Each fork's time limit is CPU time
    (``RLIMIT_CPU``), so a busy machine does not make an honest function fail; a fork that
    waits instead of computing is killed once it has idled ``WALL_SLACK`` times as long
    (``idle_seconds``), and any fork after ``WALL_CAP`` times that by the clock. At the
    end everything is sent, as one ``.npz``, down the original stdout, which only this
    process holds: nothing a student writes lands outside the sandbox.

    ``channels`` lists one socket per function (file descriptors, comma-separated), on
    which its fork asks the grader for its replayed helpers' answers (``RemoteReplay``).
    """
    import os
    import resource
    import signal
    import socket
    import time

    fds = [int(fd) for fd in channels.split(",") if fd]
    new_session_keyring()

    channel = os.dup(1)
    log = os.open(os.path.join(out_dir, "stdout.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    with open(os.path.join(in_dir, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        run = json.load(f)
    limits = [cpu_seconds(t) for t in run["timeouts"]]
    codes, compile_errors = compile_definitions(run["source"])
    # What every fork does, done once here: the modules ``np.load`` and ``np.savez`` import
    # on first use; then this process's objects are frozen out of the garbage collector, so
    # a collection in a fork does not visit (and so copy) every page it shares with this one.
    np.savez(io.BytesIO(), warm=np.zeros(1))
    gc.freeze()
    # a function's orphaned processes become this process's children, so none outlives it
    # unseen (``_descendants``) or goes on taking the core from the next function
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    statuses: list[dict[str, Any]] = []  # kept here: the functions' forks can write to out_dir
    for i, task in enumerate(job["functions"]):
        with contextlib.suppress(OSError):  # no results planted by an earlier function
            os.remove(os.path.join(out_dir, f"out_{i}.npz"))
        cpu = limits[i]
        pid = os.fork()
        if pid == 0:
            # the soft limit sends SIGXCPU (which ends the process); the hard one, a second
            # later, SIGKILL, for a function that catches SIGXCPU
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            hard = cpu + 1 if hard == resource.RLIM_INFINITY else min(cpu + 1, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, hard), hard))
            os.close(channel)
            for j, fd in enumerate(fds):  # each function reaches its own channel only
                if j != i:
                    os.close(fd)
            sock = socket.socket(fileno=fds[i]) if i < len(fds) else None
            # each function's prints go to its own file, so a message quotes only its own
            fd = os.open(os.path.join(out_dir, f"stdout_{i}.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            try:
                savez, dumps = np.savez, json.dumps  # kept before student code can rebind them
                namespace: dict[str, Any] = {"__name__": "submission"}
                load_errors = compile_errors + run_definitions(codes, namespace)
                _run_task(in_dir, out_dir, i, task, namespace, load_errors, savez, dumps, pack, sock)
            finally:
                os._exit(0)
        started = time.monotonic()
        idle_limit, cap = WALL_SLACK * cpu, WALL_CAP * WALL_SLACK * cpu
        next_look = started + idle_limit  # it cannot have idled longer than it has existed
        status: dict[str, Any] = {"exit": None}
        while True:
            done, code, usage = os.wait4(pid, os.WNOHANG)
            if done:
                status["exit"] = code
                break
            now = time.monotonic()
            if now > next_look:
                next_look = now + 0.05
                elapsed = now - started
                idle = idle_seconds(pid, elapsed)
                if elapsed > cap or idle > idle_limit:
                    held = elapsed > cap and idle <= idle_limit and _held_back(pid)
                    os.kill(pid, signal.SIGKILL)
                    _, code, usage = os.wait4(pid, 0)
                    if usage.ru_utime + usage.ru_stime >= cpu:
                        # it had used its CPU time: its limit stopped it, or would have
                        status["exit"] = code
                    elif idle > idle_limit:
                        status["stalled"] = idle_limit  # it slept or waited
                    elif held:
                        status["held"] = elapsed  # its own processes or priority kept it waiting
                    else:
                        # ready to run all along, alone and as this runner is, and given under
                        # a twelfth of a core: the machine's doing, not a verdict on its code
                        status["starved"] = elapsed
                    break
            time.sleep(0.002)
        _end_descendants()
        status["seconds"] = time.monotonic() - started
        status["cpu"] = usage.ru_utime + usage.ru_stime
        signalled = _signal_of(status["exit"])
        # stopped by its CPU limit: SIGXCPU, or SIGKILL a second later if it caught that
        if signalled == signal.SIGXCPU or (signalled == signal.SIGKILL and status["cpu"] >= cpu):
            status["timeout"] = cpu
        statuses.append(status)
    _send_results(channel, out_dir, statuses, np.savez)


def _descendants(root: int) -> set[int]:
    """Every process below ``root``, from ``/proc/<pid>/task/<tid>/children``."""
    import os

    found: set[int] = set()
    todo = [root]
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{parent}/task/{tid}/children", encoding="ascii") as f:
                    children = {int(c) for c in f.read().split()}
            except (OSError, ValueError):
                continue
            todo += children - found
            found |= children
    return found


def _held_back(pid: int) -> bool:
    """Whether the function ``pid`` kept itself from the CPU: processes of its own beside it,
    a lower priority, another scheduling policy or fewer cores than this runner's (or
    these cannot be read: then it is not the machine that is blamed)."""
    import os

    try:
        return bool(
            _descendants(os.getpid()) - {pid}
            or os.getpriority(os.PRIO_PROCESS, pid) != os.getpriority(os.PRIO_PROCESS, 0)
            or os.sched_getscheduler(pid) != os.sched_getscheduler(0)
            or os.sched_getaffinity(pid) != os.sched_getaffinity(0)
        )
    except OSError:
        return True


def _end_descendants() -> None:
    """Kill what a function left running (this runner is their subreaper), and reap it."""
    import os
    import signal
    import time

    for _ in range(3):  # a process can fork while the others are being killed
        left = _descendants(os.getpid())
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    time.sleep(0.005)
            except ChildProcessError:
                break


def idle_seconds(pid: int, elapsed: float) -> float:
    """Of the ``elapsed`` seconds since process ``pid`` started, those in which its main
    thread neither ran nor waited in a queue for a core: it slept, or waited for something.

    The kernel counts both in ``/proc/<pid>/schedstat`` (nanoseconds on a core, then
    nanoseconds queued). Where it does not, every second counts as idle, so the limit is
    plain wall-clock time.
    """
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as f:
            on_core, queued = (int(n) for n in f.read().split()[:2])
    except (OSError, ValueError):
        return elapsed
    return elapsed - (on_core + queued) / 1e9


def new_session_keyring() -> None:
    """Join a new, empty session keyring (keyctl(2)): the grader's, under a login or a
    service manager, is shared by every process it starts, and a student's function could
    leave a key there for the next submission's."""
    import ctypes
    import os

    number = {"x86_64": 250, "aarch64": 219, "arm64": 219}.get(os.uname().machine)
    if number is not None:
        ctypes.CDLL(None).syscall(number, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING, no name


def _signal_of(status: int | None) -> int | None:
    """The signal that ended a process, from its ``waitpid`` status (None: it exited)."""
    import os

    return os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None


def _send_results(channel: int, out_dir: str, statuses: list[dict], savez: Callable[..., None]) -> None:
    """Everything the parent reads, as one ``.npz`` of byte arrays, written to ``channel``:
    each function's status from this process's memory, its output and prints from ``out_dir``."""
    import os

    def tail(name: str, limit: int) -> bytes:
        try:
            with open(os.path.join(out_dir, name), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
                return f.read()
        except OSError:
            return b""

    files = {"stdout.txt": tail("stdout.txt", 4000)}
    for i, status in enumerate(statuses):
        files[f"stdout_{i}.txt"] = tail(f"stdout_{i}.txt", 4000)
        files[f"status_{i}.json"] = json.dumps(status).encode()
        files[f"out_{i}.npz"] = tail(f"out_{i}.npz", 1 << 62)
    bundle = io.BytesIO()
    savez(bundle, **{k: np.frombuffer(v, dtype=np.uint8) for k, v in files.items()})
    view = memoryview(bundle.getvalue())
    while view:
        view = view[os.write(channel, view) :]
    os.close(channel)


def _run_task(in_dir, out_dir, i, task, namespace, load_errors, savez, dumps, pack_outputs, sock) -> None:
    import os

    def remote(call: dict) -> dict[str, Callable[..., Any]]:
        return {name: RemoteReplay(name, call["label"], sock) for name in call.get("replay", [])}

    with np.load(os.path.join(in_dir, f"inputs_{i}.npz"), allow_pickle=False) as data:
        arrays = unpack(data)
    # the course's own helpers the function may call, so a bug elsewhere costs nothing here
    exec_definitions(task["inject"], namespace, tag="course helper")
    result: dict[str, Any] = {"errors": {}, "structure": {}, "stdout": {}, "load_errors": load_errors}
    outputs: dict[str, np.ndarray] = {}
    fn = namespace.get(task["function"])
    if not callable(fn):
        result["missing"] = task["function"]
    else:
        stand_ins = remote if sock is not None else None
        run = run_plan(fn, task["plan"], arrays, stand_ins)
        outputs, result["structure"], result["errors"], result["stdout"] = run
    packed = pack_outputs(outputs)
    packed["__result__"] = np.array(dumps(result))
    savez(os.path.join(out_dir, f"out_{i}.npz"), **packed)


if __name__ == "__main__":
    _child_main(*sys.argv[1:5])
