"""Runners forked from the verify's zygote (``sandbox.RunnerZygote``) are walled off from
it and from each other: from the second run of a job on, ``run_functions`` forks each
submission's runner that way, so nothing one student's functions do may be there for the
next student's, and nothing of one student may stay in the zygote.

Three submissions of one job run, one after the other, the same probe as their graded
function: it writes a mark everywhere it can, tries to undo the mounts, lists the
processes it sees and its file descriptors, and reports whether it found an earlier
submission's marks. The first runs in a new sandbox, the next two are forked by the
zygote: they must find none, write only to their own tmpfs, see only their own
processes, leave no key in a keyring the next one shares, change none of the machine's
settings, and leave no trace of their source in the zygote's memory.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from probes import join_a_session_keyring, probe_code

from autograder.instructor import sandbox
from autograder.instructor.sandbox import Limits, Task, backend, run_functions

pytestmark = [
    pytest.mark.xdist_group("sandbox"),
    pytest.mark.skipif(backend() != "bubblewrap", reason="needs bubblewrap (apt-get install bubblewrap)"),
]

PLACES = ["/", "/dev", "/dev/shm", "/etc", "/in", "/job", "/results", "/run", "/tmp", "/usr"]
MOUNT_POINTS = ["/tmp", "/job", "/results", "/run", "/in", "/proc", "/"]

PROBE = (
    "def probe():\n"
    + textwrap.indent(probe_code(PLACES, MOUNT_POINTS, "verify-probe"), "    ")
    + '    print("REPORT" + json.dumps(report))\n    return 1\n'
)


def _zygote_pid(tasks: list[Task]) -> int | None:
    """The pid of this process's zygote for ``tasks``' job, if it has one."""
    job = str(sandbox._job_folder(tasks))
    alive = [z for key, z in sandbox._RUNNER_ZYGOTES.items() if key[1] == job and z.alive()]
    return alive[0].host_pid if alive else None


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable page of process ``pid`` holds ``needle``."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


@pytest.fixture(scope="module")
def reports() -> list[tuple[dict, bool, int | None]]:
    """(the probe's report, whether the zygote ran it, the zygote's pid) per submission."""
    task = Task("probe", {"calls": [{"label": "c0", "args": [], "kwargs": {}}]}, {})
    tasks = [task]
    join_a_session_keyring()
    found = []
    for i in range(3):
        source = f"SECRET_OF_SUBMISSION = 'submission-{i}-{'x' * 40}'\n" + PROBE
        run = run_functions([source], tasks, Limits())[0]
        assert run.outputs, run.errors
        text = run.stdout["c0"]
        pid = _zygote_pid(tasks)
        found.append((json.loads(text.split("REPORT", 1)[1]), pid is not None, pid))
    assert not sandbox._RUNNER_ZYGOTE_FAILED, "the zygote could not fork a runner here (nested namespaces?)"
    return found


def test_the_second_run_of_a_job_is_forked_by_the_zygote(reports) -> None:
    assert [forked for _, forked, _ in reports] == [False, True, True]


def test_a_runner_finds_nothing_of_the_one_before(reports) -> None:
    for report, _, _ in reports:
        assert report["found"] == [], report


def test_a_runner_cannot_change_the_machines_settings(reports) -> None:
    """Not the kernel's settings nor its reboot switch, which the machine's root may write on
    file permissions alone (the grader run by root runs student code as uid 0)."""
    for report, _, _ in reports:
        assert report["settings"] == [], report["settings"]


def test_a_runner_writes_only_to_its_own_tmpfs(reports) -> None:
    for report, _, _ in reports[1:]:
        assert set(report["wrote"]) <= {"/tmp", "/job", "/results", "/dev/shm"}, report["wrote"]


def test_a_runner_cannot_undo_its_mounts(reports) -> None:
    """Neither in a new sandbox (bubblewrap, run by root, used to leave student code every
    capability in its namespace: it could make the shared job folder writable) nor forked."""
    for report, _, _ in reports:
        assert report["unmounted"] == [] and report["remounted"] == [], report


def test_a_runner_sees_only_its_own_processes_and_no_network(reports) -> None:
    for report, _, _ in reports[1:]:
        # its namespace's init, the runner, this function's process
        assert len(report["pids"]) <= 3, report["pids"]
        assert not report["network"]
        own = ("/dev/null", "/results/", "socket:", "pipe:")
        assert all(fd.startswith(own) for fd in report["fds"]), report["fds"]


def test_nothing_of_a_submission_stays_in_the_zygote(reports) -> None:
    """The definitions reach the forked runner as a file descriptor the zygote never reads."""
    pid = reports[-1][2]
    assert pid is not None
    assert _memory_holds(pid, b"import ctypes"), "the probe cannot read the zygote's memory"
    for i in range(3):
        assert not _memory_holds(pid, f"submission-{i}-".encode()), i


def test_results_are_the_same_with_and_without_the_zygote(tmp_path: Path) -> None:
    """The same submission, run in a new sandbox and by the zygote: the same outputs."""
    source = "import numpy as np\n\ndef f(x):\n    return np.tanh(x) * 2\n"
    import numpy as np

    task = Task("f", {"calls": [{"label": "c0", "args": [{"__nd__": "x"}], "kwargs": {}}]}, {"x": np.ones(3)})
    tasks = [task]
    runs = [run_functions([source], tasks)[0] for _ in range(2)]
    assert _zygote_pid(tasks) is not None
    assert runs[0].outputs.keys() == runs[1].outputs.keys() and runs[0].outputs
    for key, value in runs[0].outputs.items():
        np.testing.assert_array_equal(value, runs[1].outputs[key])
