"""A cgroup per submission: one memory and process budget for everything it starts.

``RLIMIT_AS`` bounds each process, not their sum, and ``RLIMIT_NPROC`` counts every
process of the user (and does not bind root), so neither stops a fork storm or a
memory hog spread over many processes. A cgroup does. Both cgroup v2 (a delegated
subtree, e.g. under ``systemd-run --user --scope``) and v1 (``pids`` and ``memory``
hierarchies) are used when this process may create child groups there; elsewhere
``available()`` says no and the per-process rlimits are all there is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" for the v2 unified hierarchy)."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                paths[c] = path
    return paths


def _parents() -> list[tuple[Path, dict[str, str]]]:
    """Folders to create a group in, each with its limit files (v2 first, then v1)."""
    own = _own_paths()
    v2 = ROOT / own.get("", "/").lstrip("/")
    controllers = (
        (v2 / "cgroup.subtree_control").read_text().split()
        if (v2 / "cgroup.subtree_control").exists()
        else []
    )
    if (ROOT / "cgroup.controllers").exists() and {"pids", "memory"} <= set(controllers):
        return [(v2, {"pids": "pids.max", "memory": "memory.max"})]
    found = []
    for controller, limit in (("pids", "pids.max"), ("memory", "memory.limit_in_bytes")):
        if controller in own and (ROOT / controller).is_dir():
            found.append((ROOT / controller / own[controller].lstrip("/"), {controller: limit}))
    return found if len(found) == 2 else []


class Group:
    """A cgroup holding a submission's processes; ``close()`` kills what is left in it."""

    def __init__(self, max_processes: int, memory_bytes: int) -> None:
        self.folders: list[Path] = []
        name = f"autograder-{uuid.uuid4().hex[:12]}"
        values = {"pids": str(max_processes), "memory": str(memory_bytes)}
        try:
            for parent, files in _parents():
                folder = parent / name
                folder.mkdir()
                self.folders.append(folder)
                for controller, file in files.items():
                    (folder / file).write_text(values[controller])
        except OSError:
            self.close()
            raise
        if not self.folders:
            raise OSError("no cgroup hierarchy to create a group in")

    def add(self, pid: int) -> None:
        """Move ``pid`` and all its descendants into the group. A process forked while we
        move its parent can land outside, so passes repeat until one finds nothing new."""
        moved: set[int] = set()
        for _ in range(100):
            new = [p for p in _with_descendants(pid) if p not in moved]
            if not new:
                return
            for p in new:  # parents before children
                for folder in self.folders:
                    with contextlib.suppress(OSError):  # a process that has already exited
                        (folder / "cgroup.procs").write_text(str(p))
                moved.add(p)

    def close(self) -> None:
        for folder in self.folders:
            for _ in range(250):  # up to 5 s: processes being OOM-killed take a moment to go
                pids = [int(p) for p in _read(folder / "cgroup.procs").split()]
                for p in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    folder.rmdir()
                if not folder.exists():
                    break
                time.sleep(0.02)
        self.folders = []


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _with_descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [int(c) for c in _read(Path(f"/proc/{p}/task/{p}/children")).split()]
    return out


_AVAILABLE: list[bool] = []


def available() -> bool:
    """Whether this process can put a submission in a cgroup of its own."""
    if not _AVAILABLE:
        try:
            Group(8, 64 * 1024**2).close()
            _AVAILABLE.append(True)
        except OSError:
            _AVAILABLE.append(False)
    return _AVAILABLE[0]


def group(max_processes: int, memory_bytes: int) -> Group | None:
    """A new group, or None where cgroups cannot be had (see ``available``)."""
    if not available():
        return None
    try:
        return Group(max_processes, memory_bytes)
    except OSError as exc:
        import sys

        print(f"autograder: no cgroup for this submission ({exc}); per-process limits only", file=sys.stderr)
        return None
