"""How long grading takes: ``python -m autograder grade`` against plain ``nbgrader autograde``.

For each assignment, builds one synthetic class of N submissions (the reference, the
blank release and catalogued mistakes, in turn) and grades it twice, each time in a
fresh copy of the course:

1. plain serial ``nbgrader autograde ASSIGNMENT --force`` (the course's config, no
   verify, no feedback): what an instructor would otherwise run;
2. ``python -m autograder grade ASSIGNMENT --workers W`` (sandbox, verify, feedback,
   reports).

Then grades one submission whose ``rnn_cell_backward`` never returns. It prints the
ratio of the two, the seconds per submission, and a projection to 300 students and both
assignments (the figures of docs/scaling.md):

    python benchmarks/grade_speed.py [--students 20] [--workers 4] [--assignment assign_5a ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import submissions
from autograder.course import make_course, nbgrader, submit
from autograder.expected import hidden_vectors_file
from autograder.limits import WORKERS
from autograder.mistakes import CATALOG
from autograder.paths import ASSIGNMENTS
from autograder.specs import specs_for

PROJECTED_STUDENTS = 300


def synthetic_class(assignment: str, n: int) -> list:
    """``n`` notebooks: the reference, the blank release, then one mistake after another."""
    kinds = [submissions.completed(assignment), submissions.release(assignment)]
    for spec in specs_for(assignment):
        kinds += [submissions.with_mistake(assignment, spec.name, m) for m in CATALOG.get(spec.name, [])[:2]]
    return [kinds[i % len(kinds)] for i in range(n)]


def endless_loop() -> tuple[str, object]:
    """assign_5b with an ``rnn_cell_backward`` that never returns (its self-check and its
    grade cell call it; the verify runs it once more)."""
    nb = submissions.completed("assign_5b")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_cell_backward":
            head, rest = cell.source.split("\n", 1)
            cell.source = f"{head}\n    while True:\n        pass\n{rest}"
    return "assign_5b", nb


def grade(course: Path, assignment: str, workers: int, *extra: str) -> tuple[float, list[dict], list[float]]:
    """Wall seconds of the whole ``grade`` command, each student's result, and when each
    student was done (the times their state files were written, sorted)."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, "--course", str(course)]
    start = time.perf_counter()
    subprocess.run([*cmd, "--workers", str(workers), *extra], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    states = sorted((course / "grading" / assignment).glob("*.json"), key=lambda p: p.stat().st_mtime)
    return wall, [json.loads(p.read_text()) for p in states], [p.stat().st_mtime for p in states]


def plain_nbgrader(course: Path, assignment: str) -> float:
    """Wall seconds of plain, serial ``nbgrader autograde`` of the whole class."""
    hidden_vectors_file(assignment)  # its kernels read the hidden cases from this cache
    start = time.perf_counter()
    run = nbgrader(course, "autograde", assignment, "--force", timeout=7200)
    if run.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"grade's workers ({WORKERS})")
    parser.add_argument("--assignment", nargs="+", default=list(ASSIGNMENTS), choices=ASSIGNMENTS)
    args = parser.parse_args()
    n, w = args.students, args.workers
    projected = 0.0
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        base = make_course(Path(tmp) / "base")
        for assignment in args.assignment:
            for i, nb in enumerate(synthetic_class(assignment, n)):
                submit(base, f"student{i:03d}", assignment, nb)
        print(f"{n} submissions per assignment, `grade --workers {w}` vs plain serial `nbgrader autograde`")
        for assignment in args.assignment:
            plain_course, course = Path(tmp) / f"plain-{assignment}", Path(tmp) / f"grade-{assignment}"
            shutil.copytree(base, plain_course)
            shutil.copytree(base, course)
            plain = plain_nbgrader(plain_course, assignment)
            wall, results, done = grade(course, assignment, w)
            # steady state: one submission finished every `step` seconds; the rest is fixed
            step = (done[-1] - done[0]) / (len(done) - 1)
            fixed = max(0.0, wall - step * n)
            projection = fixed + PROJECTED_STUDENTS * step
            projected += projection
            worker = sum(r["seconds"] for r in results) / n
            phases = {k: sum(r["phases"].get(k, 0.0) for r in results) / n for k in results[0]["phases"]}
            print(f"\n{assignment}:")
            print(f"  plain nbgrader autograde, serial: {plain:7.1f} s = {plain / n:5.2f} s per submission")
            print(f"  grade --workers {w}:               {wall:7.1f} s = {wall / n:5.2f} s per submission")
            print(
                f"  grade is {plain / wall:.2f}x faster than plain nbgrader (and verifies, writes feedback)"
            )
            print(
                f"  one submission done every {step:.2f} s; fixed costs {fixed:.0f} s; each worker spent "
                f"{worker:.2f} s per submission ("
                + ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
                + ")"
            )
            print(f"  projected for {PROJECTED_STUDENTS} students: {projection / 60:.1f} min")
        if len(args.assignment) > 1:
            both = f"{PROJECTED_STUDENTS} students x {len(args.assignment)} assignments"
            print(f"\n{both}: {projected / 60:.1f} min")
        assignment, nb = endless_loop()
        course = Path(tmp) / "endless"
        make_course(course)
        submit(course, "endless", assignment, nb)
        wall, (result,), _ = grade(course, assignment, 1)
        stopped = [c["function"] for c in result["cells"].values() if "ran longer" in c["problem"]]
        print(
            f"\nA submission whose rnn_cell_backward never returns: graded in {result['seconds']:.1f} s "
            f"(status {result['status']}; the verify stopped {', '.join(stopped) or 'nothing'})"
        )


if __name__ == "__main__":
    main()
