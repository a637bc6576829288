"""The messages of the trusted verify's replay channel (``runner.to_message``,
``runner.from_message``): what a sandboxed function asks the grader for its helpers'
answers, and the answers. The grader reads what the sandbox sends, so anything but a
well-formed message of plain arrays must come out as unreadable, never as an object."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest

from autograder.student.runner import RngSeed, from_message, read_message, to_message


def round_trip(obj: object) -> object:
    message = to_message(obj)
    assert int.from_bytes(message[:8], "big") == len(message) - 8
    return from_message(message[8:])


def test_a_request_comes_back_as_it_was_sent() -> None:
    rng = np.random.default_rng(0)
    request = {
        "label": "case0",
        "name": "rnn_cell_forward",
        "args": [rng.normal(size=(3, 10)), rng.normal(size=(5, 10)).T, {"Wax": rng.normal(size=(5, 3))}],
        "kwargs": {"t": np.arange(4, dtype=np.int32), "scale": 0.5, "mean": np.float64(2.5)},
    }
    back = round_trip(request)
    assert back["label"] == "case0" and back["name"] == "rnn_cell_forward"
    for sent, got in zip(request["args"][:2], back["args"][:2], strict=True):
        np.testing.assert_array_equal(got, sent)  # a transposed (Fortran-order) array too
        assert got.flags.writeable  # a function may update its arguments in place
    np.testing.assert_array_equal(back["args"][2]["Wax"], request["args"][2]["Wax"])
    assert back["kwargs"]["t"].dtype == np.int32
    assert back["kwargs"]["scale"] == 0.5 and back["kwargs"]["mean"] == np.float64(2.5)


@pytest.mark.parametrize(
    "value",
    [
        np.zeros((0, 3)),
        np.array(2.0),
        np.array(["ab", "c"]),
        np.array([True, False]),
        np.arange(3.0).astype(">f8"),
        (1, "x", None, [2, 3]),
        RngSeed(7),
    ],
    ids=["empty", "0-d", "strings", "booleans", "big-endian", "tuple", "rng"],
)
def test_every_kind_of_value_a_helper_takes_or_returns(value: object) -> None:
    back = round_trip(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, RngSeed):
        assert back.integers(1 << 30) == np.random.default_rng(7).integers(1 << 30)
    else:
        assert back == value


def test_an_array_of_objects_is_refused_when_sent() -> None:
    with pytest.raises(TypeError, match="object"):
        to_message({"args": [np.array([object()])]})


def message(header: dict, data: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return len(head).to_bytes(8, "big") + head + data


@pytest.mark.parametrize(
    "body",
    [
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "|O", [1]]]}, b"\0" * 8),  # pickled objects
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "|V8", [1]]]}, b"\0" * 8),  # raw void
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", [["f", "<f8"]], [1]]]}, b"\0" * 8),
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "<f8", [1000]]]}, b"\0" * 8),  # too short
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "<f8", [1]]]}, b"\0" * 16),  # too long
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "<f8", [-1]]]}, b"\0" * 8),
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "<f8", [1.5]]]}, b"\0" * 8),
        message({"tree": {"__nd__": "a1"}, "arrays": [["a0", "<f8", [1]]]}, b"\0" * 8),  # no such array
        message({"tree": {"__nd__": "a0"}, "arrays": [["a0", "<U0", [1]]]}),
        message({"tree": None, "arrays": [["a0", "i4," * 100_000, [0]]]}),  # a dtype of 100,000 fields
        message({"tree": {"__items__": [[(2**61 - 1) * k, k] for k in range(1, 4)]}, "arrays": []}),
        message({"tree": [2**80], "arrays": []}),
        b"\0" * 8 + b"not json",
        b"",
    ],
    ids=[
        "objects",
        "void",
        "structured",
        "short",
        "long",
        "negative",
        "fractional",
        "missing",
        "zero-size",
        "long-dtype",
        "colliding-keys",
        "huge-integer",
        "not-json",
        "empty",
    ],
)
def test_a_malformed_message_is_unreadable_not_an_object(body: bytes) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sender = threading.Thread(target=theirs.sendall, args=(len(body).to_bytes(8, "big") + body,))
        sender.start()  # a body larger than the socket's buffer is sent while it is read
        assert read_message(ours) is None
        sender.join()


def test_an_array_referred_to_many_times_counts_each_time() -> None:
    """A small message must not decode to a large object: each reference is a copy."""
    data = np.zeros(1000)
    body = message({"tree": [{"__nd__": "a0"}] * 200, "arrays": [["a0", "<f8", [1000]]]}, data.tobytes())
    assert len(from_message(body)) == 200
    with pytest.raises(ValueError, match="too many times"):
        from_message(body, limit=100 * data.nbytes)


def test_a_message_over_the_limit_is_not_read() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(to_message({"args": [np.zeros(100)]}))
        assert read_message(ours, limit=100) is None
