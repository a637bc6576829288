"""Centered-difference numerical gradients, in the style of CS231n's gradient_check.py."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def eval_numerical_gradient_array(
    f: Callable[[], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Numerical vector-Jacobian product ``df . d f() / d x`` by centered differences.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one
    entry at a time (and restored). ``df`` is the upstream gradient of ``f()``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Relative error of two arrays, ``||x - y|| / (||x|| + ||y||)`` (0 when both are 0)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    denom = np.linalg.norm(x) + np.linalg.norm(y)
    return 0.0 if denom == 0 else float(np.linalg.norm(x - y) / denom)
