"""Seconds per submission of ``python -m autograder grade`` with 1 and with 2 workers.

Builds a synthetic class of N submissions (the reference, the blank release and
catalogued mistakes, in turn), grades it once with each number of workers, each
time in a fresh copy of the course, and prints the figures docs/scaling.md uses:

    python benchmarks/grade_speed.py [--students 50] [--assignment assign_5a]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import submissions
from autograder.course import make_course, submit
from autograder.mistakes import CATALOG
from autograder.specs import specs_for


def synthetic_class(assignment: str, n: int) -> list:
    """``n`` notebooks: the reference, the blank release, then one mistake after another."""
    kinds = [submissions.completed(assignment), submissions.release(assignment)]
    for spec in specs_for(assignment):
        kinds += [submissions.with_mistake(assignment, spec.name, m) for m in CATALOG.get(spec.name, [])[:2]]
    return [kinds[i % len(kinds)] for i in range(n)]


def timed_grade(course: Path, assignment: str, workers: int) -> float:
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, "--course", str(course)]
    subprocess.run([*cmd, "--workers", str(workers)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--assignment", default="assign_5a")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        base = make_course(Path(tmp) / "base")
        for i, nb in enumerate(synthetic_class(args.assignment, args.students)):
            submit(base, f"student{i:03d}", args.assignment, nb)
        seconds = {}
        for workers in (1, 2):
            course = Path(tmp) / f"workers{workers}"
            shutil.copytree(base, course)
            seconds[workers] = timed_grade(course, args.assignment, workers)
    n = args.students
    print(
        f"{args.assignment}, {n} submissions, whole `grade` command (autograde, verify, feedback, reports):"
    )
    for workers, s in seconds.items():
        print(f"  {workers} worker(s): {s:7.1f} s  = {s / n:5.2f} s per submission")
    print(f"  speed-up with 2 workers: {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    main()
