"""``grade`` with two versions of the package, in turn, on the same realistic class.

On a machine whose speed drifts by 20 % within the hour, one class run of each version
says little: this grades one class (``grade_speed.realistic_class``) with each checkout in
turn, for some rounds, and prints for each run the CPU (cgroup), the steady-state step and
the projection for 300 students, computed as ``grade_speed.py`` does (no plain nbgrader):

    python benchmarks/grade_side_by_side.py BEFORE_CHECKOUT AFTER_CHECKOUT [--students 40] [--rounds 2]

Each checkout is put first on ``PYTHONPATH`` for its runs; the class is built by this one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.instructor.course import make_course, submit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_speed import PROJECTED_STUDENTS, WORKERS, realistic_class, run_metered  # noqa: E402

ASSIGNMENTS = ("assign_5a", "assign_5b")


def grade_with(checkout: Path, course: Path, assignment: str, n: int) -> tuple[float, float, float, float]:
    """Wall and CPU seconds of ``grade`` run from ``checkout``, its step and fixed seconds."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, "--course", str(course)]
    start = time.perf_counter()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    _, cpu = run_metered([*cmd, "--workers", str(WORKERS)], check=True, env=env, **quiet)
    wall = time.perf_counter() - start
    done = sorted(p.stat().st_mtime for p in (course / "grading" / assignment).glob("*.json"))
    step = (done[-1] - done[0]) / (len(done) - 1)  # as grade_speed.py
    return wall, cpu, step, max(0.0, wall - step * n)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkouts", nargs=2, type=Path, help="two checkouts of the repository")
    parser.add_argument("--students", type=int, default=40, help="per assignment")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = args.students
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
        classes = {}
        for assignment in ASSIGNMENTS:
            base = make_course(Path(tmp) / f"class-{assignment}", (assignment,))
            for i, (kind, nb) in enumerate(realistic_class(assignment, n)):
                submit(base, f"s{i:03d}-{kind}", assignment, nb)
            classes[assignment] = base
        for round_ in range(1, args.rounds + 1):
            for checkout in args.checkouts:
                minutes = 0.0
                for assignment, base in classes.items():
                    course = Path(tmp) / f"run-{round_}-{checkout.name}-{assignment}"
                    shutil.copytree(base, course)
                    wall, cpu, step, fixed = grade_with(checkout.resolve(), course, assignment, n)
                    minutes += (fixed + PROJECTED_STUDENTS * step) / 60
                    print(
                        f"round {round_}, {checkout}, {assignment}: wall {wall:.1f} s, CPU {cpu:.1f} s "
                        f"({cpu / n:.2f} s per submission), one done every {step:.2f} s, "
                        f"fixed {fixed:.0f} s; load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                print(f"round {round_}, {checkout}: {PROJECTED_STUDENTS} students x both: {minutes:.1f} min")


if __name__ == "__main__":
    main()
