"""How long grading takes: ``python -m autograder grade`` against plain ``nbgrader autograde``.

For each assignment, builds one class of N submissions and grades it twice, each time
in a fresh copy of the course:

1. plain serial ``nbgrader autograde ASSIGNMENT --force`` (the course's config, no
   verify, no feedback): what an instructor would otherwise run;
2. ``python -m autograder grade ASSIGNMENT --workers W`` (sandbox, verify, feedback,
   reports).

The class (``--class realistic``, the default) looks like a real one: about 80% fully
correct work (the reference and the correct variants of ``tests/variants.py``: loops,
``einsum``, float32, helpers, prints), 10% one catalogued mistake, 5% the blank release
and 5% (at least one) hostile: an endless loop in a function, a 20 MB print. With the
default 40 students these are exact (32, 4, 2 and 2); with 24 the hostile ones, by far the
dearest, are 8% of the class and weigh on its figures more than in a real one. The order
is shuffled with a fixed seed. ``--class mostly-broken`` is the older class (the
reference, the blank release and catalogued mistakes in turn), which stops early and
so grades faster than real work.

It prints the ratio of the two, the seconds per submission, each step's median on the
correct submissions (the state files' ``phases``), a projection to 300 students and
both assignments, and the floor: a sandboxed kernel started and the completed notebook
run once, with nothing else. The machine's load average is printed before and after
each measurement, since a shared machine makes every figure noisy:

    python benchmarks/grade_speed.py [--students 40] [--workers W] [--assignment assign_5a ...]

It uses only what ``autograder`` has had since commit aa6eeea, so the same script
measures the code before and after a change (``PYTHONPATH=<old worktree>``).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.instructor import submissions
from autograder.instructor.course import make_course, submit
from autograder.instructor.limits import WORKERS
from autograder.instructor.mistakes import CATALOG
from autograder.student.specs import ASSIGNMENTS, specs_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (the correct variants)
from tests.variants import VARIANTS  # noqa: E402

PROJECTED_STUDENTS = 300
BIG_PRINT = 'print("x" * 20_000_000)  # left over from debugging: 20 MB in one cell\n'
# the function given an endless loop, per assignment (any other: its first graded function)
LOOPING = {"assign_5a": "gru_cell_forward", "assign_5b": "rnn_cell_backward"}


def looping(assignment: str) -> str:
    return LOOPING.get(assignment) or specs_for(assignment)[0].name


class CpuMeter:
    """CPU seconds (user + sys) of a command and every process it starts: wall time is noisy
    on a shared machine, CPU time much less so. Counted by a cgroup of its own where one can
    be made (cgroup v1 ``cpuacct`` or v2 ``cpu.stat``): a grading kernel is killed, not
    waited for, so its CPU never reaches its parent's ``RUSAGE_CHILDREN``; elsewhere by
    ``RUSAGE_CHILDREN``, which then misses the kernels (said by ``how``)."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        name = f"grade-bench-{os.getpid()}-{time.monotonic_ns()}"
        own = {}
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    own[c] = path.lstrip("/")
        root = Path("/sys/fs/cgroup")
        for base, usage in (
            (root / "cpuacct" / own.get("cpuacct", ""), "cpuacct.usage"),
            (root / own.get("", ""), "cpu.stat"),
        ):
            if (base / usage).exists() or (usage == "cpuacct.usage" and (base / "cpuacct.stat").exists()):
                with contextlib.suppress(OSError):
                    (base / name).mkdir()
                    self.folder, self.usage = base / name, usage
                    break
        self.how = "cgroup" if self.folder else "RUSAGE_CHILDREN (grading kernels not counted)"

    def enter(self) -> None:
        """In the child, before the command runs: join the meter's cgroup."""
        if self.folder:
            (self.folder / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        if not self.folder:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime
        text = (self.folder / self.usage).read_text()
        if self.usage == "cpuacct.usage":
            return int(text) / 1e9
        return int(text.split("usage_usec")[1].split()[0]) / 1e6

    def close(self) -> None:
        if self.folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()


def run_metered(cmd: list[str], **kw) -> tuple[subprocess.CompletedProcess, float]:
    """``subprocess.run(cmd)`` and the CPU seconds of all it started (``CpuMeter``)."""
    meter = CpuMeter()
    try:
        before = meter.seconds()
        done = subprocess.run(cmd, preexec_fn=meter.enter, **kw)
        return done, meter.seconds() - before
    finally:
        meter.close()


def load() -> str:
    """The load average (1, 5, 15 min), as ``uptime`` prints it."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def variant_notebook(assignment: str, slot: int) -> nbformat.NotebookNode:
    """The completed notebook with the ``slot``-th correct variant of every function."""
    nb = submissions.completed(assignment)
    for v in VARIANTS:
        if v.assignment == assignment and v.slot == slot:
            nb = submissions.replace_function(nb, v.function, v.source)
    return nb


def endless_loop(assignment: str) -> nbformat.NotebookNode:
    """The completed notebook whose ``looping(assignment)`` never returns (its self-check,
    its grade cell and the functions built on it call it; the verify runs it once more)."""
    nb = submissions.completed(assignment)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == looping(assignment):
            head, rest = cell.source.split("\n", 1)
            cell.source = f"{head}\n    while True:\n        pass\n{rest}"
    return nb


def big_print(assignment: str) -> nbformat.NotebookNode:
    """The completed notebook whose first solution cell prints 20 MB."""
    nb = submissions.completed(assignment)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    cell.source = BIG_PRINT + cell.source
    return nb


def realistic_class(assignment: str, n: int) -> list[tuple[str, nbformat.NotebookNode]]:
    """``n`` (kind, notebook): ~80% correct, ~10% one mistake, ~5% blank, ~5% hostile."""
    hostile = math.ceil(0.05 * n)
    blank = max(1, round(0.05 * n))
    wrong = max(1, round(0.10 * n))
    right = n - hostile - blank - wrong
    slots = sorted({v.slot for v in VARIANTS if v.assignment == assignment})
    correct = [submissions.completed(assignment)] + [variant_notebook(assignment, s) for s in slots]
    mistakes = [(s.name, m) for s in specs_for(assignment) for m in CATALOG.get(s.name, [])]
    kinds = [("correct", correct[i % len(correct)]) for i in range(right)]
    kinds += [
        ("mistake", submissions.with_mistake(assignment, *mistakes[i * len(mistakes) // wrong]))
        for i in range(wrong)
    ]
    kinds += [("blank", submissions.release(assignment))] * blank
    kinds += [
        ("hostile", endless_loop(assignment) if i % 2 == 0 else big_print(assignment)) for i in range(hostile)
    ]
    random.Random(assignment).shuffle(kinds)  # hostile ones neither all first nor all last
    return kinds


def mostly_broken_class(assignment: str, n: int) -> list[tuple[str, nbformat.NotebookNode]]:
    """The older class: the reference, the blank release, then one mistake after another."""
    kinds = [("correct", submissions.completed(assignment)), ("blank", submissions.release(assignment))]
    for spec in specs_for(assignment):
        kinds += [
            ("mistake", submissions.with_mistake(assignment, spec.name, m))
            for m in CATALOG.get(spec.name, [])[:2]
        ]
    return [kinds[i % len(kinds)] for i in range(n)]


def grade(
    course: Path, assignment: str, workers: int, *extra: str
) -> tuple[float, float, dict[str, dict], list[float]]:
    """Wall and CPU seconds of the whole ``grade`` command (all its processes), each
    student's result, and when each student was done (the times their state files were
    written, sorted)."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, "--course", str(course)]
    start = time.perf_counter()
    _, cpu = run_metered([*cmd, "--workers", str(workers), *extra], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    states = sorted((course / "grading" / assignment).glob("*.json"), key=lambda p: p.stat().st_mtime)
    return (
        wall,
        cpu,
        {p.stem: json.loads(p.read_text()) for p in states},
        [p.stat().st_mtime for p in states],
    )


def plain_nbgrader(course: Path, assignment: str) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds of plain, serial ``nbgrader autograde`` of the whole class, and
    each student's seconds (from when their autograded notebook was written: one at a time)."""
    try:  # before the hidden cases left the kernel, its kernels read them from this cache
        from autograder.instructor.expected import hidden_vectors_file
    except ImportError:
        pass
    else:
        hidden_vectors_file(assignment)
    start, began = time.perf_counter(), time.time()
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}  # as course.nbgrader runs it
    run, cpu = run_metered(cmd, cwd=course, capture_output=True, text=True, env=env, timeout=7200)
    if run.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{run.stderr[-2000:]}")
    wall = time.perf_counter() - start
    written = (course / "autograded").glob(f"*/{assignment}/*.ipynb")
    done = sorted((p.stat().st_mtime, p.parts[-3]) for p in written)
    ends = [began] + [t for t, _ in done]
    return wall, cpu, {student: ends[i + 1] - ends[i] for i, (_, student) in enumerate(done)}


def floor(assignment: str, repeats: int = 3) -> tuple[float, float]:
    """Median seconds of (a sandboxed grading kernel started and stopped; the same plus
    the completed notebook run once, figure cells skipped), as ``grade`` starts it."""
    from nbclient import NotebookClient

    from autograder.instructor.notebook import skipped_when_grading
    from autograder.instructor.sandbox import KernelSandbox, sandboxed_kernel_manager, student_library

    nb = submissions.completed(assignment)
    skip = skipped_when_grading(assignment)
    nb.cells = [c for c in nb.cells if c.source not in skip]
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as nbgrader runs it: brief training
    starts, runs = [], []
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        library, memory = student_library(Path(tmp) / "library"), 4096 * 1024**2
        if "hidden" in inspect.signature(KernelSandbox).parameters:  # before aa6eeea's successors
            from autograder.instructor.expected import hidden_vectors_file

            kernel = KernelSandbox(library, hidden_vectors_file(assignment), memory, quiet=True)
        else:
            kernel = KernelSandbox(library, memory, quiet=True)  # no kernel banner
        manager = sandboxed_kernel_manager(kernel)
        for _ in range(repeats):
            start = time.perf_counter()
            client = NotebookClient(nbformat.from_dict(nb), timeout=120, kernel_manager_class=manager)
            with client.setup_kernel():
                pass
            starts.append(time.perf_counter() - start)
            start = time.perf_counter()
            NotebookClient(
                nbformat.from_dict(nb), timeout=120, kernel_manager_class=manager, allow_errors=True
            ).execute()
            runs.append(time.perf_counter() - start)
    os.environ.pop("NBGRADER_EXECUTION", None)
    return statistics.median(starts), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--students",
        type=int,
        default=40,
        help="per assignment (40: the smallest realistic class in exactly the proportions above)",
    )
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"grade's workers ({WORKERS})")
    parser.add_argument("--assignment", nargs="+", default=list(ASSIGNMENTS), choices=ASSIGNMENTS)
    parser.add_argument("--class", dest="kind", choices=["realistic", "mostly-broken"], default="realistic")
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the floor")
    args = parser.parse_args()
    n, w = args.students, args.workers
    make_class = realistic_class if args.kind == "realistic" else mostly_broken_class
    projected = {}
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        base = make_course(Path(tmp) / "base")
        kinds: dict[str, dict[str, str]] = {}
        for assignment in args.assignment:
            for i, (kind, nb) in enumerate(make_class(assignment, n)):
                student = f"student{i:03d}"
                kinds.setdefault(assignment, {})[student] = kind
                submit(base, student, assignment, nb)
        print(
            f"{args.kind} class, {n} submissions per assignment, `grade --workers {w}` vs plain "
            f"serial `nbgrader autograde`, {os.cpu_count()} cores; CPU counted by {CpuMeter().how}"
        )
        for assignment in args.assignment:
            counts = {
                k: list(kinds[assignment].values()).count(k)
                for k in ("correct", "mistake", "blank", "hostile")
            }
            plain_course, course = Path(tmp) / f"plain-{assignment}", Path(tmp) / f"grade-{assignment}"
            shutil.copytree(base, plain_course)
            shutil.copytree(base, course)
            print(f"\n{assignment} ({', '.join(f'{v} {k}' for k, v in counts.items())}):")
            print(f"  before plain nbgrader: {load()}")
            plain, plain_cpu, each = plain_nbgrader(plain_course, assignment)
            print(f"  after plain, before grade: {load()}")
            wall, cpu, results, done = grade(course, assignment, w)
            print(f"  after grade: {load()}")
            # steady state: one submission finished every `step` seconds; the rest is fixed
            step = (done[-1] - done[0]) / (len(done) - 1)
            fixed = max(0.0, wall - step * n)
            projected[assignment] = (plain, wall, fixed + PROJECTED_STUDENTS * step)
            right = [r for s, r in results.items() if kinds[assignment][s] == "correct"]
            right = right or list(results.values())  # a tiny class may have no correct one
            phases = {
                k: statistics.median(r["phases"].get(k, 0.0) for r in right) for k in right[0]["phases"]
            }
            statuses = sorted({f"{kinds[assignment][s]}:{r['status']}" for s, r in results.items()})
            print(
                f"  plain nbgrader autograde, serial: {plain:7.1f} s = {plain / n:5.2f} s per submission; "
                f"CPU {plain_cpu:7.1f} s = {plain_cpu / n:5.2f} s per submission"
            )
            print(
                f"  grade --workers {w}:               {wall:7.1f} s = {wall / n:5.2f} s per submission; "
                f"CPU {cpu:7.1f} s = {cpu / n:5.2f} s per submission"
            )
            print(
                f"  grade is {plain / wall:.2f}x faster than plain nbgrader (and verifies, writes feedback)"
            )
            print(f"  one submission done every {step:.2f} s; fixed costs {fixed:.0f} s")
            cores = os.cpu_count() or 1
            print(
                f"  CPU-bound projection for {PROJECTED_STUDENTS} students on {cores} idle cores "
                f"({PROJECTED_STUDENTS} x CPU per submission / {cores}): "
                f"{PROJECTED_STUDENTS * cpu / n / cores / 60:.1f} min (grade), "
                f"{PROJECTED_STUDENTS * plain_cpu / n / 60:.1f} min (plain, serial: one core)"
            )
            print(
                f"  one correct submission, medians over {len(right)} ({w} workers at once): "
                f"{statistics.median(r['seconds'] for r in right):.2f} s = "
                + ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
            )
            by_kind = {k: [t for s, t in each.items() if kinds[assignment][s] == k] for k in counts}
            print(
                "  plain nbgrader, seconds per submission, median (max): "
                + ", ".join(f"{k} {statistics.median(v):.2f} ({max(v):.1f})" for k, v in by_kind.items() if v)
            )
            print(f"  statuses: {', '.join(statuses)}")
            print(f"  projected for {PROJECTED_STUDENTS} students: {projected[assignment][2] / 60:.1f} min")
        if len(args.assignment) > 1:
            both = f"{PROJECTED_STUDENTS} students x {len(args.assignment)} assignments"
            total_plain = sum(p for p, _, _ in projected.values())
            total_grade = sum(g for _, g, _ in projected.values())
            print(
                f"\n{both}: {sum(x for _, _, x in projected.values()) / 60:.1f} min "
                f"(grade {total_plain / total_grade:.2f}x faster than plain nbgrader on both)"
            )
        if not args.no_floor:
            print(f"\nThe floor, one at a time, median of 3 (before: {load()}):")
            for assignment in args.assignment:
                start, run = floor(assignment)
                print(
                    f"  {assignment}: sandboxed kernel started and stopped {start:.2f} s; "
                    f"started, completed notebook run once, stopped {run:.2f} s"
                )
            print(f"  (after: {load()})")


if __name__ == "__main__":
    main()
