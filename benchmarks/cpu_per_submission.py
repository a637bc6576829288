"""CPU of one correct submission, by phase: what ``grade``'s step is made of on a busy machine.

Grades K copies of the completed notebook of an assignment (or, with ``--kind``, of one
of the benchmark class's hostile notebooks) one after the other in this
process, as a ``grade`` worker does (``grade_one``: autograde in the sandbox, trusted
verify, feedback), after one warm-up, and prints the mean CPU seconds (user + sys) per
submission of everything involved (this process, the kernels, the verify's sandboxes, the
zygote: counted by a cgroup, see ``grade_speed.CpuMeter``) and of this process alone, by
phase. On a shared machine wall time says little; CPU time much more:

    python benchmarks/cpu_per_submission.py assign_5b [--submissions 5] [--kind endless-loop]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from autograder.instructor import grade_submission, submissions
from autograder.instructor.calibrate import calibrate
from autograder.instructor.course import make_course, submit
from autograder.instructor.grade import kernel_sandbox, prepare_gradebooks
from autograder.instructor.limits import Options
from autograder.instructor.verify import hidden_tasks
from autograder.student.specs import ASSIGNMENTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_speed import CpuMeter, big_print, endless_loop  # noqa: E402

KINDS = {"correct": submissions.completed, "endless-loop": endless_loop, "big-print": big_print}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignment", choices=ASSIGNMENTS)
    parser.add_argument("--submissions", type=int, default=5)
    parser.add_argument("--kind", choices=KINDS, default="correct", help="what each hands in")
    args = parser.parse_args()
    a, k = args.assignment, args.submissions
    meter = CpuMeter()
    meter.enter()
    mine: collections.Counter[str] = collections.Counter()
    every: collections.Counter[str] = collections.Counter()

    def timed(name, fn):
        def wrapper(*a, **kw):
            c, m = own_cpu(), meter.seconds()
            try:
                return fn(*a, **kw)
            finally:
                mine[name] += own_cpu() - c
                every[name] += meter.seconds() - m

        return wrapper

    from nbgrader.apps import NbGraderAPI

    grade_submission.autograde = timed("autograde", grade_submission.autograde)
    grade_submission.verify_notebook = timed("verify", grade_submission.verify_notebook)
    NbGraderAPI.generate_feedback = timed("feedback", NbGraderAPI.generate_feedback)
    with tempfile.TemporaryDirectory(prefix="cpu-per-submission-") as tmp:
        root = Path(tmp)
        course = make_course(root / "course", (a,))
        submit(course, "s0", a, submissions.completed(a))
        for i in range(1, k + 1):
            submit(course, f"s{i}", a, KINDS[args.kind](a))
        opts = Options()
        hidden_tasks(a)
        template = prepare_gradebooks(course, a, root / "template")
        kernel = kernel_sandbox(root, opts)
        limits = calibrate(a, kernel, opts.cell_timeout)
        os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"})
        grade_submission.grade_one(course, a, "s0", template, opts, kernel, limits)  # warm-up
        mine.clear()
        every.clear()
        c0, s0, t0 = meter.seconds(), own_cpu(), time.perf_counter()
        for i in range(1, k + 1):
            result = grade_submission.grade_one(course, a, f"s{i}", template, opts, kernel, limits)
        c1, s1, t1 = meter.seconds(), own_cpu(), time.perf_counter()
    meter.close()
    loads = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{a}, {k} {args.kind} submissions ({meter.how}; load {loads}): "
        f"per submission wall {(t1 - t0) / k:.2f} s, CPU {(c1 - c0) / k:.2f} s of which the worker "
        f"{(s1 - s0) / k:.2f} s; last status {result.status}, {result.total:g} points"
    )
    print("  CPU per phase, all processes:", ", ".join(f"{n} {v / k:.2f}" for n, v in every.items()))
    print("  CPU per phase, the worker:   ", ", ".join(f"{n} {v / k:.2f}" for n, v in mine.items()))


if __name__ == "__main__":
    main()
