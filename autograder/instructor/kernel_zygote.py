"""The program of the zygotes: run inside a sandbox, never imported by the grader.

Two kinds: a grading kernel's (``main``, below) and the trusted verify's runner's
(``main_runner``, at the end), which forks a runner per submission with the same walls.

Starting a grading kernel costs about a second of CPU, most of it importing ipykernel,
IPython and NumPy. A zygote imports them once, in a sandbox like a kernel's (bubblewrap:
no network, the system, the Python installation and the student side of the package
read-only, nothing of the course), and then forks one fresh kernel per submission. It
is sent nothing of any student: only the grader's connection file of the next kernel.

Each forked kernel is walled off from the zygote and from every other kernel before any
student code runs, by the kernel's own namespaces (Linux user, mount, PID, network, IPC,
UTS and cgroup namespaces, nested inside the zygote's sandbox):

- everything the zygote's sandbox could write to (its root, ``/dev``, ``/etc``) is
  remounted read-only, and fresh size-limited tmpfs are mounted where a kernel writes
  (``/tmp``, the home folder, ``/run``, ``/dev/shm``): nothing one kernel writes is
  there for the next one;
- then a second user and mount namespace locks those mounts: the kernel holds no
  capability over them, so it can neither unmount a tmpfs to reach what lies beneath
  nor make a read-only mount writable;
- its own PID namespace and ``/proc``: it sees no other process (not the zygote, not
  another kernel), and it dies as a whole when its first process is killed. (Linux
  mounts a new ``/proc`` only where the one already there is not partly covered;
  where it is, the kernel gets an empty, read-only ``/proc`` rather than the zygote's);
- every file descriptor of the zygote (its channel to the grader) is closed.

The grader (``sandbox.KernelZygote``) adds the forked process to the submission's cgroup
before it is let go on, so the submission's process and memory budget holds as before.

Protocol, on the zygote's stdin and stdout, one JSON object a line: the grader sends
``{"connection": ..., "argv": [...], "env": {...}}``; the zygote forks and answers
``{"pid": <the child's pid in the zygote's namespace>}``; the grader sends ``"go"`` once
the child is in its cgroup, and the zygote answers ``{"ok": true}``.
"""

# Only the standard library: this file runs inside the sandbox as the ``-c`` program.
import contextlib
import ctypes
import json
import os
import random
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
PR_SET_PDEATHSIG = 1
_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda s: s.encode() if s is not None else None  # noqa: E731
    done = _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data))
    _check(done, f"mount {target}")


def _die_with_parent() -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")


def _map_ids(uid: int, gid: int) -> None:
    """Be the same user in the new user namespace (the only id mapped)."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _mounts() -> list[tuple[str, int]]:
    """(mount point, flags to keep) of every mount, parents first."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # \040 for spaces
            flags = 0
            for option in fields[5].split(","):
                flags |= _FLAGS.get(option, 0)
            found.append((point, flags))
    return found


def _private_mounts(tmpfs: list[tuple[str, str, str]]) -> None:
    """Namespaces of its own; every mount read-only; fresh tmpfs (point, size, mode) on top."""
    uid, gid = os.getuid(), os.getgid()
    everything = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
    _unshare(everything | CLONE_NEWUTS | CLONE_NEWCGROUP)
    _map_ids(uid, gid)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for point, flags in _mounts():
        if point == "/proc" or point.startswith("/proc/"):
            continue  # replaced by this namespace's own /proc below
        _mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)
    for point, size, mode in tmpfs:
        _mount("tmpfs", point, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _wall_off(config: dict, request: dict) -> None:
    """Namespaces of its own; everything read-only but fresh tmpfs; the connection file."""
    disk, home = str(config["disk_bytes"]), config["home"]
    _private_mounts(
        [
            ("/tmp", disk, "1777"),
            (home, disk, "755"),
            ("/dev/shm", disk, "1777"),
            ("/run", str(1024**2), "755"),
        ]
    )
    os.mkdir("/run/kernel", 0o755)
    fd = os.open("/run/connection.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    os.write(fd, request["connection"].encode())
    os.close(fd)


def _own_proc_and_locked_mounts() -> None:
    """As the first process of a new PID namespace: mount its own /proc, then lock every
    mount behind a second user and mount namespace (no capability over them is left)."""
    try:  # this namespace's own processes (needs a /proc without covered parts here)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:  # else none: never the zygote's, which shows the zygote
        _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4096")
    else:
        # read-only, as bubblewrap covers them: the machine's settings, which a uid 0 (the
        # grader run by root) may write on file permissions alone, and its reboot switch
        for part in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):
            if os.path.exists(part):
                _mount(part, part, None, MS_BIND | MS_REC)
                _mount(None, part, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _new_session_keyring()
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER | CLONE_NEWNS)
    _map_ids(uid, gid)


# keyctl(2)'s system call, and its operation that joins a new, empty session keyring
_KEYCTL = {"x86_64": 250, "aarch64": 219, "arm64": 219}.get(os.uname().machine)
KEYCTL_JOIN_SESSION_KEYRING = 1


def _new_session_keyring() -> None:
    """A session keyring of its own: the grader's (under a login or a service manager) is
    shared by every process it starts, and student code could leave a key there for the
    next submission."""
    if _KEYCTL is not None:
        _libc.syscall(_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)


def _under_an_init(handed_on: list[int] | tuple[int, ...] = ()) -> None:
    """After the walls: fork the first process of the new PID namespace (this process waits
    for it and ends as it ends). That init mounts its own /proc, locks the mounts, forks
    the one process that returns from here, reaps every process of the namespace and ends
    with that one. ``handed_on``: file descriptors only the returning process keeps."""
    init = os.fork()
    if init:  # outside the new PID namespace: wait for it, say how it ended
        for fd in handed_on:
            os.close(fd)
        _, status = os.waitpid(init, 0)
        os._exit(_exit_code(status))
    try:
        _die_with_parent()
        _own_proc_and_locked_mounts()
        child = os.fork()
    except BaseException:  # noqa: BLE001
        os._exit(72)
    if not child:
        return
    for fd in handed_on:
        os.close(fd)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            os._exit(_exit_code(status))


def _reseed() -> None:
    """Not the zygote's random state: every forked process draws its own."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _close_fds() -> None:
    """Standard streams to /dev/null (the kernel talks over its sockets), nothing else open."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 1 << 16)


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _kernel(config: dict, request: dict, go: int) -> None:
    """The forked child: wait to be let go (it is in its cgroup then), wall itself off,
    then run an init process (the new PID namespace's first) and under it the kernel."""
    try:
        _die_with_parent()
        os.setsid()
        if os.read(go, 2) != b"g":
            os._exit(70)
        os.close(go)
        _wall_off(config, request)
        _close_fds()
    except BaseException:  # noqa: BLE001 - the grader sees the child gone: not started
        os._exit(71)
    _under_an_init()
    try:
        _die_with_parent()
        for limit, value in (
            (resource.RLIMIT_AS, config["memory_bytes"]),
            (resource.RLIMIT_FSIZE, 64 * 1024**2),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(limit, (value, value))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(config["home"])
        _reseed()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = ["ipykernel", "-f", "/run/connection.json", *request["argv"]]
        from ipykernel.kernelapp import launch_new_instance

        launch_new_instance()
    except BaseException:  # noqa: BLE001
        os._exit(73)
    os._exit(0)


def _answer(out, message: dict) -> None:
    out.write((json.dumps(message) + "\n").encode())
    out.flush()


def main(config: dict) -> None:
    """Import what every kernel imports, then fork a kernel per request, one at a time."""
    for module in config["preload"]:
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - a kernel imports it itself, then
            pass
    source, out = sys.stdin.buffer, sys.stdout.buffer
    _answer(out, {"ready": True})
    while line := source.readline():
        request = json.loads(line)
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            _kernel(config, request, go_read)
            os._exit(0)
        os.close(go_read)
        _answer(out, {"pid": pid})
        if source.readline().strip() == b'"go"':
            os.write(go_write, b"g")
        os.close(go_write)
        _answer(out, {"ok": True})
        while True:  # reap the kernels that have ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


# --- the verify's runner ---------------------------------------------------------------
#
# The same walls for the trusted verify (``sandbox.RunnerZygote``): a zygote in a sandbox
# like the verify's (the job's runner, plans and inputs read-only at /in, nothing of any
# student) imports NumPy and the runner once, then forks one runner per submission. The
# submission's definitions, its result pipe and its helpers' sockets reach the zygote only
# as file descriptors, which it hands to the forked child and closes unread: nothing of one
# student is ever in the zygote's memory, so nothing of it is in the next student's.
#
# Protocol, on a SOCK_SEQPACKET socket (the zygote's stdin), one JSON object a message: the
# grader sends ``{"limits": {...}}`` with the file descriptors [definitions (``run.json``,
# open for reading), result pipe, one socket per function]; the zygote forks, answers
# ``{"pid": ...}``, and lets the child go on ``"go"`` (it is in the submission's cgroup then).


def _runner(request: dict, go: int, fds: list[int]) -> None:
    """The forked child: walls of its own, the definitions copied in, then an init and under
    it the runner (``runner._child_main``), which forks a process per graded function."""
    limits = request["limits"]
    try:
        _die_with_parent()
        os.setsid()
        if os.read(go, 2) != b"g":
            os._exit(70)
        os.close(go)
        out = str(limits["out_bytes"])
        size = os.fstat(fds[0]).st_size
        _private_mounts(
            [
                ("/tmp", out, "1777"),
                ("/job", out, "755"),
                ("/results", out, "755"),
                ("/dev/shm", out, "1777"),
                ("/run", str(size + 65536), "755"),
            ]
        )
        with os.fdopen(fds[0], "rb") as source, open("/run/run.json", "wb") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        _mount(None, "/run", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    except BaseException:  # noqa: BLE001 - the grader sees no results: not started
        os._exit(71)
    _under_an_init(fds[1:])  # the result pipe, the helpers' sockets: the runner's alone
    try:
        _die_with_parent()
        for limit, value in (
            (resource.RLIMIT_CPU, limits["cpu_seconds"]),
            (resource.RLIMIT_AS, limits["memory_bytes"]),
            (resource.RLIMIT_FSIZE, limits["file_bytes"]),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(limit, (value, value))
        os.chdir("/job")
        _reseed()
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(fds[1], 1)
        os.dup2(null, 2)
        channels = fds[2:]
        keep = {0, 1, 2, *channels}
        for fd in range(3, max([null, *fds]) + 1):
            if fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        os.closerange(max([null, *fds]) + 1, 1 << 16)
        sys.modules["runner"]._child_main("/in", "/run", "/results", ",".join(map(str, channels)))
    except BaseException:  # noqa: BLE001
        os._exit(73)
    os._exit(0)


def main_runner(config: dict) -> None:
    """Import NumPy and the job's runner, then fork a runner per request, one at a time."""
    import importlib.util
    import io
    import socket

    spec = importlib.util.spec_from_file_location("runner", config["runner"])
    module = importlib.util.module_from_spec(spec)
    sys.modules["runner"] = module
    spec.loader.exec_module(module)
    module.np.savez(io.BytesIO(), warm=module.np.zeros(1))  # what np.savez imports on first use
    channel = socket.socket(fileno=0)
    channel.send(b'{"ready": true}')
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 16, 1024)
        except OSError:
            break
        if not message:
            break
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            channel.close()
            os.close(go_write)
            _runner(json.loads(message), go_read, fds)
            os._exit(0)
        os.close(go_read)
        for fd in fds:
            os.close(fd)
        channel.send(json.dumps({"pid": pid}).encode())
        if channel.recv(64) == b'"go"':
            os.write(go_write, b"g")
        os.close(go_write)
        channel.send(b'{"ok": true}')
        while True:  # reap the runners that have ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
