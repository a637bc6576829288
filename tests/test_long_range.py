"""assign_5c's long-range task shows what the notebook says it shows, for three seeds.

The reference's functions (``solutions/assign_5c``: the task, the initialisation, Adam,
the reference ``gru_backward`` and 5b's ``rnn_backward``) train a vanilla RNN and a GRU to
name the first of T + 1 symbols. At a short T both are right; at the longest T of the
notebook's plot the GRU is right and the RNN near chance (25%); and at initialisation the
gradient that reaches the first step is vanishingly small for the RNN only (Section 4).
``benchmarks/long_range.py`` prints the same numbers for every length, with times.
"""

from __future__ import annotations

import time
from types import ModuleType

import numpy as np
import pytest

from autograder.instructor.reference import reference

SEEDS = (0, 1, 2)
SHORT = 5


@pytest.fixture(scope="module")
def ref() -> ModuleType:
    return reference("assign_5c")


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_the_gru_remembers_where_the_rnn_cannot(ref: ModuleType, seed: int) -> None:
    """Both right at T = 5; at T = 100 the GRU is right and the RNN near chance; both
    models at both lengths well within the notebook's time (one core's CPU time)."""
    chance = 1 / ref.N_SYMBOLS
    long = max(ref.LENGTHS)
    cpu = time.process_time()
    accuracy = {
        (kind, T): ref.train_remember_first(kind, T, seed) for kind in ("RNN", "GRU") for T in (SHORT, long)
    }
    cpu = time.process_time() - cpu
    assert accuracy["RNN", SHORT] >= 0.95 and accuracy["GRU", SHORT] >= 0.95, accuracy
    assert accuracy["GRU", long] >= 0.95, accuracy
    assert accuracy["RNN", long] <= chance + 0.1, accuracy
    assert cpu < 30, f"{cpu:.1f} s of CPU for two lengths: the notebook's six would not fit in 60 s"


def test_the_task_is_the_one_described(ref: ModuleType) -> None:
    """One-hot steps; the first symbol is one of N_SYMBOLS and is the label; the distractors
    are the other symbols; every symbol to remember occurs."""
    x, labels = ref.remember_first_task(7, 200, np.random.default_rng(0))
    n_x = ref.N_SYMBOLS + ref.N_DISTRACTORS
    assert x.shape == (n_x, 200, 8) and labels.shape == (200,)
    assert np.array_equal(x.sum(axis=0), np.ones((200, 8)))
    assert np.array_equal(np.argmax(x[:, :, 0], axis=0), labels)
    assert set(labels) == set(range(ref.N_SYMBOLS))
    assert (np.argmax(x[:, :, 1:], axis=0) >= ref.N_SYMBOLS).all()


def test_the_gradient_vanishes_for_the_rnn_not_for_the_gru(ref: ModuleType) -> None:
    """Section 4's plot: the last step's loss sends the first step of T = 100 a gradient
    over a billion times smaller than the last step's for the RNN, under a thousand for
    the GRU; the RNN's falls by orders of magnitude, the GRU's by much less."""
    rnn = ref.gradient_reaching_each_step("RNN", T=100, seed=0)
    gru = ref.gradient_reaching_each_step("GRU", T=100, seed=0)
    assert rnn.shape == gru.shape == (101,)
    assert rnn[0] < 1e-9 * rnn[-1], (rnn[0], rnn[-1])
    assert gru[0] > 1e-3 * gru[-1], (gru[0], gru[-1])
