"""Kernels forked from a zygote (``sandbox.KernelZygote``) are walled off from it and from
each other: ``grade`` starts each submission's kernel that way, so nothing one student's
kernel does may be there for the next student's.

Two kernels of one zygote run, one after the other, the same probe: it writes a mark
everywhere it can, tries to undo the mounts that hide the zygote's file system, lists the
processes it sees, reads its file descriptors, and reports whether it found the earlier
kernel's marks. The second kernel must find none, write only to its own tmpfs, see only
its own processes, and be in the submission's cgroup where cgroups are available.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from probes import join_a_session_keyring, probe_code

from autograder.instructor import cgroups
from autograder.instructor.sandbox import (
    _ZYGOTE_FAILED,
    _ZYGOTES,
    ZYGOTE_PRELOAD,
    KernelSandbox,
    backend,
    sandboxed_kernel_manager,
    student_library,
    zygote_for,
)

pytestmark = [
    pytest.mark.xdist_group("sandbox"),
    pytest.mark.skipif(backend() != "bubblewrap", reason="needs bubblewrap (apt-get install bubblewrap)"),
]

PLACES = ["/", "/dev", "/dev/shm", "/etc", "/home", "/home/student", "/tmp", "/run", "/run/kernel", "/usr"]

PROBE = (
    probe_code(PLACES, ["/tmp", "/home/student", "/dev/shm", "/run", "/proc", "/"], "zygote-probe")
    + """
try:
    from autograder.student.checks import check  # what every notebook imports
    report["check_library"] = True
except ImportError:
    report["check_library"] = False
print("REPORT" + json.dumps(report))
"""
)


def _run(box: KernelSandbox) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    NotebookClient(nb, timeout=60, kernel_manager_class=sandboxed_kernel_manager(box)).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    return json.loads(text.split("REPORT", 1)[1])


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[dict]:
    join_a_session_keyring()
    box = KernelSandbox(
        student_library(tmp_path_factory.mktemp("zygote") / "library"), 2 * 1024**3, zygote=True
    )
    first, second = _run(box), _run(box)
    assert not _ZYGOTE_FAILED, "the zygote could not fork a kernel here (no nested user namespaces?)"
    assert [z for z in _ZYGOTES.values() if z.alive()], "the kernels were not forked by a zygote"
    return [first, second]


def test_a_kernel_finds_nothing_of_the_one_before(reports) -> None:
    first, second = reports
    assert first["wrote"], "the probe wrote nowhere: it proves nothing"
    assert second["found"] == []


def test_a_kernel_imports_the_check_library(reports) -> None:
    assert all(report["check_library"] for report in reports)


def test_a_kernel_cannot_change_the_machines_settings(reports) -> None:
    for report in reports:
        assert report["settings"] == [], report["settings"]


def test_a_kernel_writes_only_to_its_own_tmpfs(reports) -> None:
    for report in reports:
        assert set(report["wrote"]) <= {"/tmp", "/home/student", "/dev/shm", "/run", "/run/kernel"}


def test_a_kernel_cannot_undo_its_mounts(reports) -> None:
    for report in reports:
        assert report["unmounted"] == [] and report["remounted"] == []


def test_a_kernel_sees_only_its_own_processes_and_files(reports) -> None:
    for report in reports:
        assert report["pids"][:2] == [1, 2]  # its namespace's init, then the kernel
        assert report["network"] is False
        # its sockets, pipes, epoll, /dev/null and its own files: none of the zygote's left open
        own = ("/dev/null", "/home/student/", "/tmp/", "/run/")
        assert all(not fd.startswith("/") or fd.startswith(own) for fd in report["fds"]), report["fds"]


def test_kernels_of_a_zygote_are_in_a_cgroup_of_their_own(tmp_path: Path) -> None:
    """Seen from outside: the forked kernel's processes are in the submission's cgroup."""
    if not cgroups.available():
        pytest.skip("no cgroup can be made here")
    box = KernelSandbox(student_library(tmp_path / "library"), 2 * 1024**3, zygote=True)
    code = "import os; print('MYPID', os.getpid())"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    seen: list[str] = []
    manager = sandboxed_kernel_manager(box)

    class Watching(manager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            seen.append(Path(f"/proc/{self.provisioner.pid}/cgroup").read_text())

    NotebookClient(nb, timeout=60, kernel_manager_class=Watching).execute()
    assert seen and "autograder-" in seen[0]


def test_a_worker_starts_one_zygote_for_every_copy_of_its_box(tmp_path: Path) -> None:
    """``grade``'s process pool hands each task a pickled copy of the kernel sandbox: every
    copy must find the zygote the worker already has, not start one more (a zygote is a
    second of CPU, and each one started stays alive until the worker ends)."""
    box = KernelSandbox(student_library(tmp_path / "library"), 2 * 1024**3, zygote=True)
    zygote = zygote_for(box)
    try:
        copies = [pickle.loads(pickle.dumps(box)) for _ in range(3)]
        assert all(zygote_for(c) is zygote for c in copies)
        other = KernelSandbox(box.library, 1024**3, zygote=True)  # other limits: another zygote
        assert other.zygote_key() != box.zygote_key()
    finally:
        zygote.process.kill()
        zygote.process.wait()


def test_the_zygote_preloads_nothing_that_starts_a_thread() -> None:
    """A zygote forks its kernels: a thread started by a preloaded module would be missing,
    half-way through whatever it held, in every kernel."""
    code = (
        "import sys, threading\n"
        f"for name in {ZYGOTE_PRELOAD!r}:\n"
        "    __import__(name)\n"
        "print(threading.active_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "1", done.stdout
