"""The probe that ``test_kernel_zygote`` and ``test_verify_zygote`` run as student code: what
one sandboxed process can leave for the next, undo or reach.

``probe_code`` is top-level Python that fills a dict ``report``: the marks it found of an
earlier run (files, a key in the session keyring) and left for a later one, the mounts it
could undo, the machine settings it could open for writing (never writing them), the
processes it sees, its open files and whether it reaches the network.
"""

from __future__ import annotations

import ctypes
import os

# keyctl(2)'s system call per machine, and add_key(2)'s and request_key(2)'s
KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
ADD_AND_REQUEST_KEY = {"x86_64": (248, 249), "aarch64": (217, 218)}.get(os.uname().machine)


def probe_code(places: list[str], mount_points: list[str], tag: str) -> str:
    """Marks in ``places``, ``mount_points`` unmounted and remounted writable if it can."""
    return f"""
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
report = {{"found": [], "wrote": [], "unmounted": [], "remounted": [], "settings": []}}
for place in {places!r}:
    mark = place.rstrip("/") + "/{tag}-mark"
    if os.path.exists(mark):
        report["found"].append(place)
    try:
        with open(mark, "w") as f:
            f.write("left by an earlier run")
        report["wrote"].append(place)
    except OSError:
        pass
for place in {mount_points!r}:
    if libc.umount2(place.encode(), 2) == 0:  # MNT_DETACH
        report["unmounted"].append(place)
    if libc.mount(None, place.encode(), None, 32 | 4096, None) == 0:  # MS_REMOUNT | MS_BIND, writable
        report["remounted"].append(place)
for setting in ["/proc/sys/kernel/printk_ratelimit", "/proc/sysrq-trigger"]:
    try:  # opened for writing only, never written
        os.close(os.open(setting, os.O_WRONLY))
        report["settings"].append(setting)
    except OSError:
        pass
keys = {ADD_AND_REQUEST_KEY!r}
if keys:  # a key in the session keyring (-3), after looking for an earlier run's
    if libc.syscall(keys[1], b"user", b"{tag}-key", None, -3) > 0:
        report["found"].append("session keyring")
    libc.syscall(keys[0], b"user", b"{tag}-key", b"mark", 4, -3)
report["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
report["fds"] = sorted(os.readlink(f"/proc/self/fd/{{fd}}") for fd in os.listdir("/proc/self/fd")
                       if os.path.exists(f"/proc/self/fd/{{fd}}"))
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    report["network"] = True
except OSError:
    report["network"] = False
"""


def join_a_session_keyring() -> None:
    """Put this process (the grader) in a named session keyring, as a login or a service
    manager does: what every process it starts shares unless it joins one of its own."""
    if KEYCTL is not None:
        ctypes.CDLL(None).syscall(KEYCTL, 1, b"autograder-test-session")  # KEYCTL_JOIN_SESSION_KEYRING
