"""assign_5c's long-range task: the vanilla RNN against the GRU, per length and seed.

Trains both networks with the functions of ``solutions/assign_5c`` (the reference
``gru_backward``, 5b's ``rnn_backward``, the notebook's Adam) on the task of Section 3
(remember the first of T + 1 symbols), for each number of distractors T and each seed,
and prints the accuracy on 1000 new sequences, the wall and CPU time of each run, and
the time of the notebook's experiment (one seed, every length, both models). Then the
gradient that reaches the first step at initialisation (Section 4)::

    PYTHONPATH=. python benchmarks/long_range.py [--seeds 0 1 2] [--lengths 5 10 20 40 70 100]

CPU time is printed next to wall time: on a shared machine the wall time is noisy.
"""

from __future__ import annotations

import argparse
import os
import time

# one thread, as a student's laptop or the grader's kernel would run it; set before numpy loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from autograder.instructor.reference import reference  # noqa: E402

KINDS = ("RNN", "GRU")


def main() -> None:
    ref = reference("assign_5c")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lengths", type=int, nargs="+", default=list(ref.LENGTHS))
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    per_seed = {seed: [0.0, 0.0] for seed in args.seeds}  # wall, cpu of the notebook's experiment
    seeds = " ".join(f"{'seed ' + str(s):>9}" for s in args.seeds)
    print(f"{'T':>4} {'model':>5} {seeds}   wall/cpu per run (s)")
    for T in args.lengths:
        for kind in KINDS:
            accuracies, times = [], []
            for seed in args.seeds:
                wall, cpu = time.perf_counter(), time.process_time()
                accuracies.append(ref.train_remember_first(kind, T, seed))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                per_seed[seed][0] += wall
                per_seed[seed][1] += cpu
                times.append(f"{wall:.1f}/{cpu:.1f}")
            print(f"{T:>4} {kind:>5} " + " ".join(f"{a:>9.1%}" for a in accuracies) + "   " + " ".join(times))
    for seed, (wall, cpu) in per_seed.items():
        print(f"seed {seed}: both models, every length: {wall:.1f} s wall, {cpu:.1f} s CPU")
    for kind in KINDS:
        norms = ref.gradient_reaching_each_step(kind, T=100, seed=0)
        print(f"{kind}: |dL/dx| at initialisation, T=100: last step {norms[-1]:.1e}, first {norms[0]:.1e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
