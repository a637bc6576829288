"""CPU of one correct submission, by phase: what ``grade``'s step is made of on a busy machine.

Grades K copies of the completed notebook of an assignment (or, with ``--kind``, of one
of the benchmark class's hostile notebooks) one after the other in this
process, as a ``grade`` worker does (``grade_one``: autograde in the sandbox, trusted
verify, feedback), after one warm-up, and prints the mean CPU seconds (user + sys) per
submission of everything involved (this process, the kernels, the verify's sandboxes, the
zygote: counted by a cgroup, see ``grade_speed.CpuMeter``) and of this process alone, by
phase. On a shared machine wall time says little; CPU time much more:

    python benchmarks/cpu_per_submission.py assign_5b [--submissions 5] [--kind endless-loop]

Then the floor, measured the same way: a kernel forked from the worker's zygote, started
and stopped with one trivial cell; the same kernel running the completed notebook once
(the cells grading runs, the course's figures and training left out, as under the
grader); and the trusted verify's sandbox (``run_functions``) with no function to run:
bubblewrap, Python and NumPy, the runner.
"""

from __future__ import annotations

import argparse
import collections
import copy
import os
import resource
import sys
import tempfile
import time
import warnings
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
    from sqlalchemy.exc import SAWarning

    # nbgrader's autoflush notice, printed once per submission graded in this process (a
    # ``grade`` worker's warnings go to its log)
    warnings.filterwarnings("ignore", category=SAWarning)

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
    floor(a, meter, k)


def floor(assignment: str, meter: CpuMeter, k: int) -> None:
    """Print the CPU of the floor (see the module's docstring), mean of ``k`` after a warm-up."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.instructor.notebook import skipped_when_grading
    from autograder.instructor.sandbox import run_functions, sandboxed_kernel_manager

    def mean(run) -> float:
        run()
        start = meter.seconds()
        for _ in range(k):
            run()
        return (meter.seconds() - start) / k

    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the notebook trains briefly, as graded
    with tempfile.TemporaryDirectory(prefix="cpu-floor-") as tmp:
        box = kernel_sandbox(Path(tmp), Options())
        manager = sandboxed_kernel_manager(box)

        def execute(nb: nbformat.NotebookNode) -> None:
            NotebookClient(nb, timeout=120, allow_errors=True, kernel_manager_class=manager).execute()

        trivial = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        completed = submissions.completed(assignment)
        skip = skipped_when_grading(assignment)
        completed.cells = [c for c in completed.cells if c.source not in skip]
        nothing: list = []  # no function to run: the sandbox starts, imports NumPy, ends
        kernel = mean(lambda: execute(copy.deepcopy(trivial)))
        notebook = mean(lambda: execute(copy.deepcopy(completed)))
        verify = mean(lambda: run_functions([], nothing))
    print(
        f"  the floor, CPU: a forked kernel started and stopped {kernel:.2f} s; the completed "
        f"notebook run once in it {notebook:.2f} s; the verify's sandbox running no function {verify:.2f} s"
    )


if __name__ == "__main__":
    main()
