"""Run one student function in a separate, locked-down process and get plain arrays back.

The child sees the Python installation and a private job folder, nothing else:
no ``solutions/``, no gradebook, no network (bubblewrap, when installed), and
it runs under CPU, memory, file-size and wall-clock limits. It hands back an
``.npz`` read with ``allow_pickle=False``: nothing a student controls is ever
unpickled. Without bubblewrap the fallback is a plain subprocess with the same
resource limits in an empty working folder; it cannot hide the file system,
which is why ``backend()`` reports which one is in use.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import multiprocessing.util
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.instructor import cgroups
from autograder.instructor.limits import FUNCTION_SECONDS
from autograder.student import runner
from autograder.student.judge import NOT_RUN, Run


@dataclass(frozen=True)
class Limits:
    """Per-function limits of the child process."""

    function_seconds: float = FUNCTION_SECONDS  # CPU time of one function (``runner.cpu_seconds``)
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3  # per process, and for all of them together where cgroups exist
    file_bytes: int = 64 * 1024**2  # out.npz and captured stdout
    max_processes: int = 64  # threads included, where cgroups exist


def backend() -> str:
    """``"bubblewrap"`` if ``bwrap`` works here, else ``"subprocess"``."""
    return "bubblewrap" if _bwrap_works() else "subprocess"


_BWRAP_OK: list[bool] = []


def _bwrap_works() -> bool:
    if not _BWRAP_OK:
        ok = False
        if shutil.which("bwrap") and os.environ.get("AUTOGRADER_SANDBOX") != "subprocess":
            try:
                probe = subprocess.run(
                    [
                        *_bwrap_prefix(Path(tempfile.gettempdir()), Path(tempfile.gettempdir()), 1024**2),
                        "true",
                    ],
                    capture_output=True,
                    timeout=20,
                    check=False,
                )
                ok = probe.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _BWRAP_OK.append(ok)
    return _BWRAP_OK[0]


def _python_dirs() -> list[str]:
    """Folders the interpreter and installed packages live in (read-only in the child)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    root = Path(__file__).resolve().parents[2]  # the course repository: never visible
    return sorted(p for p in paths if Path(p).exists() and not Path(p).is_relative_to(root))


def _bwrap_base(new_session: bool = True, tmp_bytes: int | None = None, zygote: bool = False) -> list[str]:
    """No network, no IPC, own PID namespace, dies with its parent; the system and the
    Python installation read-only, an empty /tmp; nothing of the course.

    Run by root, bubblewrap keeps every capability in the sandbox's user namespace (student
    code could remount the job's folder, shared by every submission, writable) and the
    sandbox's uid is the machine's root, who may write the kernel's settings in
    ``/proc/sys`` (and reboot it through ``/proc/sysrq-trigger``) on file permissions alone.
    So no capability is kept (but CAP_SETFCAP, with which a zygote's child maps its uid in
    a namespace of its own) and ``/proc`` is read-only; a ``zygote`` keeps it writable for
    its children, which mount their own and cover those parts (``kernel_zygote``)."""
    args = ["bwrap", "--unshare-all", "--die-with-parent"]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETFCAP"]
    args += ["--new-session"] if new_session else []
    args += ["--proc", "/proc", *([] if zygote else ["--remount-ro", "/proc"]), "--dev", "/dev"]
    args += [*(["--size", str(tmp_bytes)] if tmp_bytes else []), "--tmpfs", "/tmp"]
    for system_dir in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives", "/etc/fonts"):
        if Path(system_dir).exists():
            args += ["--ro-bind", system_dir, system_dir]
    for path in _python_dirs():
        args += ["--ro-bind", path, path]
    return args


def sandbox_env(home: str) -> dict[str, str]:
    """The whole environment of student code: nothing of the grader's. One BLAS thread
    (workers share the cores); Agg and a writable config folder, so matplotlib imports
    quickly and headless."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
    }


def _bwrap_prefix(job_dir: Path, run_dir: Path, out_bytes: int) -> list[str]:
    """The verify's sandbox: the shared job read-only at /in, this submission's source
    read-only at /run; size-limited tmpfs: /job, where the student's code runs, and
    /results, where the runner writes (so a function that fills its folder cannot crowd
    out the results)."""
    args = _bwrap_base()
    args += ["--ro-bind", str(job_dir), "/in", "--ro-bind", str(run_dir), "/run"]
    args += ["--size", str(out_bytes), "--tmpfs", "/job"]
    args += ["--size", str(out_bytes), "--tmpfs", "/results"]
    args += ["--chdir", "/job", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/job"]
    return args


def _limit(limits: Limits):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


@dataclass
class Task:
    """One graded function to run: its plan, inputs and injected helpers."""

    function: str
    plan: dict
    arrays: dict[str, np.ndarray]
    inject: list[str] = field(default_factory=list)


def run_functions(
    source: list[str], tasks: list[Task], limits: Limits = Limits(), seconds: dict[str, float] | None = None
) -> list[Run]:
    """Run each task's function from the student's definitions ``source``.

    ``inject`` holds the course's own helper definitions, run after the student's
    so the function under test calls the reference versions of its dependencies.
    A crash, a timeout or a missing function comes back as an error on every
    call of that task, with a message that says which.

    Each function may use ``seconds[function]`` of CPU time (calibrated, see ``calibrate``),
    at most ``limits.function_seconds``, and may idle (sleep, wait) ``runner.WALL_SLACK``
    times that. The tasks' plans and inputs are the same for every
    submission: they are written to disk once per ``tasks`` list (keep passing the same
    list) and bound read-only.
    """
    job_dir = _job_folder(tasks)
    with tempfile.TemporaryDirectory(prefix="autograder-run-") as tmp:
        run_dir = Path(tmp)
        cap = limits.function_seconds
        timeouts = [min((seconds or {}).get(t.function, cap), cap) for t in tasks]
        (run_dir / "run.json").write_text(json.dumps({"source": source, "timeouts": timeouts}))
        bwrap = _bwrap_works()
        (run_dir / "out").mkdir()
        out_bytes = limits.file_bytes * (len(tasks) + 2)
        # one socket per function for its replayed helpers; the records stay on this side
        pairs = [socket.socketpair() for _ in tasks]
        killed = None
        group = cgroups.group(limits.max_processes, limits.memory_bytes)
        received: list[bytes] = []
        try:
            try:
                zygote = runner_zygote_for(job_dir, limits) if bwrap else None
                child = None
                if zygote is not None:
                    theirs = [t for _, t in pairs]
                    child = zygote.start(run_dir / "run.json", theirs, limits, out_bytes, group)
                if child is None:
                    child = _start_runner(job_dir, run_dir, bwrap, out_bytes, limits, pairs, group)
            finally:
                for _, theirs in pairs:
                    theirs.close()
            servers = [
                threading.Thread(target=_serve_helpers, args=(ours, task), daemon=True)
                for (ours, _), task in zip(pairs, tasks, strict=True)
            ]
            for server in servers:
                server.start()
            reader = threading.Thread(target=_read_capped, args=(child, out_bytes, received))
            reader.start()
            reader.join(
                timeout=runner.WALL_CAP * runner.WALL_SLACK * sum(map(runner.cpu_seconds, timeouts)) + 30
            )
            if reader.is_alive():
                child.kill()
                killed = "the sandbox ran out of time and was stopped"
                reader.join()
            child.kill()  # its results are in: whatever it left running ends here
            child.wait()
            for server in servers:
                server.join(timeout=5)
        finally:
            if group:
                group.close()
        files = _unbundle(b"".join(received))
        return [_read_result(files, i, task, killed) for i, task in enumerate(tasks)]


def _start_runner(
    job_dir: Path, run_dir: Path, bwrap: bool, out_bytes: int, limits: Limits, pairs: list, group
) -> subprocess.Popen:
    """A new sandbox (bubblewrap, else a plain subprocess) running the runner on ``run_dir``."""
    env = sandbox_env("/job" if bwrap else str(run_dir))
    runner_args = ["-I", "-S", *_site_args()]
    if bwrap:
        cmd = [*_bwrap_prefix(job_dir, run_dir, out_bytes), *_env_args(env), sys.executable, *runner_args]
        cmd += ["/in/runner.py", "/in", "/run", "/results"]
    else:
        cmd = [sys.executable, *runner_args, str(job_dir / "runner.py"), str(job_dir), str(run_dir)]
        cmd += [str(run_dir / "out")]
    cmd.append(",".join(str(theirs.fileno()) for _, theirs in pairs))
    child = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=run_dir,
        env=env,
        preexec_fn=_limit(limits),
        pass_fds=[theirs.fileno() for _, theirs in pairs],
    )
    if group:
        group.add(child.pid)
    return child


_JOBS: dict[int, tuple[list[Task], Path]] = {}


def _job_folder(tasks: list[Task]) -> Path:
    """A folder holding the runner, the plans and the inputs of ``tasks``: written once per
    process for each list of tasks (forked workers share their parent's)."""
    key = id(tasks)
    if key not in _JOBS or _JOBS[key][0] is not tasks:
        folder = Path(tempfile.mkdtemp(prefix="autograder-job-"))
        # Removed when this process ends, a forked pool worker too (which never runs
        # atexit): a Finalize runs only in the process that made it.
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=0)
        shutil.copy(runner.__file__, folder / "runner.py")
        functions = []
        for i, task in enumerate(tasks):
            plan, arrays = inputs_only(task.plan, task.arrays)
            functions.append({"function": task.function, "plan": plan, "inject": task.inject})
            np.savez(folder / f"inputs_{i}.npz", **runner.pack(arrays))
        (folder / "job.json").write_text(json.dumps({"functions": functions}))
        _JOBS[key] = (tasks, folder)
    return _JOBS[key][1]


def inputs_only(plan: dict, arrays: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """What the sandbox may see of a plan: each call's arguments, and the names of the
    helpers it replays (``"replay"``), never their records: a record's output is the
    course's answer. Only the arrays the arguments refer to travel."""
    calls = []
    for call in plan["calls"]:
        rest = {k: v for k, v in call.items() if k != "helpers"}
        calls.append({**rest, "replay": sorted(call.get("helpers", {}))})
    wanted = set(runner.array_refs([[c["args"], c.get("kwargs", {})] for c in calls]))
    return {**plan, "calls": calls}, {k: v for k, v in arrays.items() if k in wanted}


def _serve_helpers(channel: socket.socket, task: Task) -> None:
    """Answer the sandboxed function's replayed calls (``runner.RemoteReplay``) from the
    records of ``task``, which never leave this process: only a call whose arguments
    match a record gets that record's output. Runs until the sandbox closes its end."""
    calls = {c["label"]: c for c in task.plan["calls"]}
    replays: dict[tuple[str, str], runner.Replay] = {}
    with channel:
        while True:
            request = runner.read_message(channel)
            if request is None:
                return  # the function is done (or sent something that is not a request)
            try:
                label, name = request["label"], request["name"]
                args, kwargs = request["args"], request["kwargs"]
                if not isinstance(args, list) or not isinstance(kwargs, dict):
                    raise TypeError
                records = calls[label]["helpers"][name]
                replay = replays.setdefault((label, name), runner.Replay(name, records, task.arrays))
                out, changes = replay.answer(args, kwargs)
                answer = {"out": out, "changes": changes}
            except runner.HelperInputError as exc:
                answer = {"error": str(exc), "arguments": exc.arguments}
            except Exception:  # noqa: BLE001 - a malformed request gets no answer but this
                answer = {"error": "that call could not be answered", "arguments": {}}
            try:
                channel.sendall(runner.to_message(answer))
            except (OSError, TypeError):
                return


def _read_capped(child: subprocess.Popen | ForkedKernel, cap: int, into: list[bytes]) -> None:
    """Read the child's result channel, at most ``cap`` bytes (then stop it)."""
    size = 0
    while chunk := child.stdout.read(1 << 16):
        size += len(chunk)
        if size > cap:
            child.kill()
            into.clear()
            break
        into.append(chunk)
    child.stdout.close()


def _unbundle(data: bytes) -> dict[str, bytes]:
    """The files the child sent (see ``runner._send_results``); empty if unreadable."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as bundle:
            return {k: bundle[k].tobytes() for k in bundle.files}
    except Exception:  # noqa: BLE001 - a crashed or tampered child sends anything or nothing
        return {}


def _env_args(env: dict[str, str]) -> list[str]:
    return [a for k, v in env.items() if k not in ("PATH", "HOME") for a in ("--setenv", k, v)]


def _site_args() -> list[str]:
    """-S skips site.py (no .pth hooks from the course's editable install); put the
    package folders back on sys.path explicitly instead."""
    dirs = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    code = "import sys; sys.path[:0] = " + repr(sorted(set(dirs)))
    return [
        "-c",
        code + "; import runpy, sys; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')",
    ]


def _all_failed(labels: list[str], why: str) -> Run:
    """Every call failed for a reason outside the function (see ``judge.error_text``)."""
    return Run({}, {}, {label: NOT_RUN + why for label in labels})


def _read_result(files: dict[str, bytes], i: int, task: Task, killed: str | None) -> Run:
    labels = [c["label"] for c in task.plan["calls"]]
    try:
        return _read_run(files, i, task, killed, labels)
    except Exception as exc:  # noqa: BLE001 - whatever came back, this function scores nothing
        return _all_failed(labels, f"its results could not be read ({type(exc).__name__})")


def _status(text: bytes | None) -> dict[str, float | int | None]:
    """The runner's status of one function: a dict of numbers (or None), else empty."""
    try:
        status = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(status, dict):
        return {}

    def number(v: object) -> bool:
        return v is None or isinstance(v, (int, float)) and not isinstance(v, bool)

    return {str(k): v for k, v in status.items() if number(v)}


def _read_run(files: dict[str, bytes], i: int, task: Task, killed: str | None, labels: list[str]) -> Run:
    out, status = files.get(f"out_{i}.npz"), _status(files.get(f"status_{i}.json"))
    used = float(status.get("cpu") or 0.0)  # seconds of CPU the function had used
    if "timeout" in status:
        return _all_failed(
            labels,
            f"it ran longer than {status['timeout']:.0f} s of CPU time (an infinite loop?) and was stopped",
        )
    if "starved" in status:
        elapsed = float(status["starved"] or 0)
        run = _all_failed(
            labels,
            f"the grader's machine was too busy: in {elapsed:.0f} s of wall-clock time it gave your "
            f"function only {used:.1f} s of CPU, and stopped it. This says nothing about your code; "
            "it needs to run again on a machine less busy",
        )
        run.grader_fault = (
            f"{task.function} was stopped after {elapsed:.0f} s of wall-clock time, ready to run but "
            f"given only {used:.1f} s of CPU, alone and at the runner's priority (the machine was too busy)"
        )
        return run
    if "held" in status:
        return _all_failed(
            labels,
            f"it did not finish within {float(status['held'] or 0):.0f} s of wall-clock time, having used "
            f"{used:.1f} s of CPU: processes it started, or a priority it lowered, kept it from the "
            "CPU; it was stopped",
        )
    if "stalled" in status:
        return _all_failed(
            labels,
            f"it did not finish within {status['stalled']:.0f} s of wall-clock time, having used "
            f"{used:.1f} s of CPU (was it waiting for something, or sleeping?), and was stopped",
        )
    if not out:
        tail = (files.get(f"stdout_{i}.txt") or files.get("stdout.txt") or b"")[-400:]
        tail = tail.decode("utf-8", "replace").strip()
        why = killed or f"the process running it {_exit_reason(status.get('exit'))}"
        return _all_failed(labels, why + (f"; its last output was: {tail}" if tail else ""))
    try:
        _stored_only(out)
        with np.load(io.BytesIO(out), allow_pickle=False) as data:
            result = json.loads(str(data["__result__"]))
            outputs = runner.unpack(data)
        structure, errors, stdout = (_texts(result, key) for key in ("structure", "errors", "stdout"))
        load_errors = _text_list(result, "load_errors")
    except Exception as exc:  # noqa: BLE001 - the function's own process can write this file
        return _all_failed(labels, f"its results could not be read ({type(exc).__name__})")
    if "missing" in result:
        hint = ""
        if load_errors:
            hint = f" (while loading: {'; '.join(load_errors[:2])})"
        return _all_failed(
            labels,
            f"there is no function named {task.function!r} in the "
            f"notebook; did you rename it or delete its cell?{hint}",
        )
    seconds = status.get("cpu", status.get("seconds"))
    return Run(outputs, structure, errors, stdout, float(seconds) if seconds else None)


def _stored_only(npz: bytes) -> None:
    """Raise unless ``npz`` is as ``np.savez`` writes it: members stored, not compressed, and
    no bigger than the file. The function's process can write its results file; a member
    compressed a thousandfold would otherwise be inflated here, in the grader."""
    with zipfile.ZipFile(io.BytesIO(npz)) as z:
        members = z.infolist()
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        raise ValueError("a compressed member")
    if sum(m.file_size for m in members) > len(npz):
        raise ValueError("members bigger than the file")


def _texts(result: object, key: str) -> dict[str, str]:
    """``result[key]``: texts by name, as the runner writes them; checked, since the
    function's own process can write the file."""
    value = result.get(key, {}) if isinstance(result, dict) else None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{key} is not what the runner writes")
    return value


def _text_list(result: dict, key: str) -> list[str]:
    """``result[key]``: a list of texts, as the runner writes it; checked likewise."""
    value = result.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} is not what the runner writes")
    return value


def _exit_reason(status: int | None) -> str:
    """Words for a ``waitpid`` status."""
    if status is None:
        return "never started (the notebook's definitions crashed the sandbox)"
    if os.WIFSIGNALED(status):
        import signal

        name = signal.Signals(os.WTERMSIG(status)).name
        return {
            "SIGKILL": "was killed (over the memory or CPU limit?)",
            "SIGSEGV": "crashed (segmentation fault)",
            "SIGXCPU": "used more CPU time than allowed",
            "SIGXFSZ": "wrote more output than allowed",
        }.get(name, f"died ({name})")
    return (
        f"exited with code {os.WEXITSTATUS(status)} before returning (os._exit or sys.exit in your function?)"
    )


# --- the student's kernel -------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[1]


def copy_student_side(dest: Path) -> Path:
    """Copy the student side of the package, as a whole folder, to ``dest``/autograder: the
    package's ``__init__`` and ``student/`` (the check library and its public vectors), which
    hold no solution (no reference, no mistake catalogue, nothing that reads solutions/).
    The only course code a sandboxed kernel can import, and what the student wheel ships."""
    (dest / "autograder").mkdir(parents=True, exist_ok=True)
    shutil.copy(PACKAGE / "__init__.py", dest / "autograder" / "__init__.py")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "data")
    shutil.copytree(PACKAGE / "student", dest / "autograder" / "student", ignore=junk, dirs_exist_ok=True)
    return dest / "autograder"


def student_library(dest: Path) -> Path:
    """The student side (``copy_student_side``) and the course data under ``dest``: the folder
    to put on a sandboxed kernel's ``sys.path``."""
    copy_student_side(dest)
    data = PACKAGE.parent / "data"
    if data.is_dir():
        shutil.copytree(data, dest / "data", dirs_exist_ok=True)
    return dest


class KernelSandbox:
    """How the grading kernel of one submission is contained (see ``SandboxedKernelManager``)."""

    def __init__(
        self,
        library: Path,
        memory_bytes: int,
        disk_bytes: int = 256 * 1024**2,
        max_processes: int = 128,
        quiet: bool = True,
        zygote: bool = False,
    ) -> None:
        self.library = library
        self.memory_bytes, self.disk_bytes, self.max_processes = memory_bytes, disk_bytes, max_processes
        # the kernel process's own stdout and stderr discarded: student code can write raw
        # bytes there (os.write(1, ...)), which would otherwise reach the grader's terminal or
        # a cluster worker's log; what a cell prints travels as messages, bounded, instead
        self.quiet = quiet
        # fork each kernel from a zygote (``KernelZygote``) instead of starting a new Python
        self.zygote = zygote

    HOME = "/home/student"

    def zygote_key(self) -> tuple:
        """What the zygote of this sandbox is made of, as a value: a process pool hands each
        task a pickled copy of the box, which must find the zygote its worker already has
        (keyed by the object's ``id``, every submission started a zygote of its own)."""
        return (str(self.library), self.memory_bytes, self.disk_bytes)

    def env(self) -> dict[str, str]:
        """The kernel's whole environment."""
        home = self.HOME
        env = {
            **sandbox_env(home),
            "IPYTHONDIR": f"{home}/.ipython",
            "JUPYTER_RUNTIME_DIR": "/run/kernel",
            "PYTHONWARNINGS": "ignore",
        }
        # nbgrader says it is grading (notebooks then train briefly): the one variable passed on
        if "NBGRADER_EXECUTION" in os.environ:
            env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
        return env

    def _paths(self) -> list[str]:
        return [str(self.library), *sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})]

    def command(self, connection_file: str, argv_tail: list[str]) -> list[str]:
        """bwrap + python starting ipykernel: writable only two size-limited tmpfs (the
        home folder and the kernel's sockets), the student side of the package read-only.
        No hidden case: code in this kernel can read anything the kernel holds."""
        home, env = self.HOME, self.env()
        args = _bwrap_base(new_session=False, tmp_bytes=self.disk_bytes)
        args += ["--ro-bind", str(self.library), str(self.library)]
        args += ["--tmpfs", "/run", "--ro-bind", connection_file, "/run/connection.json"]
        args += ["--size", str(1024**2), "--tmpfs", "/run/kernel"]
        args += ["--size", str(self.disk_bytes), "--tmpfs", home, "--chdir", home, "--clearenv"]
        args += [a for k, v in env.items() for a in ("--setenv", k, v)]
        paths = self._paths()
        code = (
            "import resource, sys; "
            f"sys.path[:0] = {paths!r}; "
            f"[resource.setrlimit(r, (v, v)) for r, v in (({resource.RLIMIT_AS}, {self.memory_bytes}), "
            f"({resource.RLIMIT_FSIZE}, {64 * 1024**2}), ({resource.RLIMIT_CORE}, 0))]; "
            "from autograder.student.runner import new_session_keyring; new_session_keyring(); "
            "sys.argv = ['ipykernel'] + sys.argv[1:]; "
            "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()"
        )
        return [*args, sys.executable, "-I", "-S", "-c", code, "-f", "/run/connection.json", *argv_tail]

    def zygote_command(self) -> list[str]:
        """bwrap + the zygote (``kernel_zygote``), in a sandbox like ``command``'s: the same
        binds, the same environment (less the per-kernel ``NBGRADER_EXECUTION``); each
        kernel it forks then walls itself off in namespaces of its own."""
        home, env = self.HOME, self.env()
        env.pop("NBGRADER_EXECUTION", None)
        args = _bwrap_base(new_session=True, tmp_bytes=1024**2, zygote=True)
        # not under /tmp (where the library is made), on which each kernel mounts a fresh tmpfs
        library = ZYGOTE_LIBRARY
        if _proc_fully_visible():
            # bubblewrap's /proc has parts covered read-only, under which no kernel could
            # mount a /proc of its own; this machine's is whole. Only the zygote sees it:
            # each kernel mounts its own over it, locked, before any student code runs.
            at = args.index("--proc")
            args[at : at + 2] = ["--bind", "/proc", "/proc"]
        args += ["--ro-bind", str(self.library), library]
        args += ["--size", str(1024**2), "--tmpfs", "/run", "--dir", "/run/kernel"]
        args += ["--size", str(1024**2), "--tmpfs", home, "--dir", "/dev/shm", "--chdir", home, "--clearenv"]
        args += [a for k, v in env.items() for a in ("--setenv", k, v)]
        config = {
            "home": home,
            "disk_bytes": self.disk_bytes,
            "memory_bytes": self.memory_bytes,
            "preload": ZYGOTE_PRELOAD,
        }
        source = Path(__file__).with_name("kernel_zygote.py").read_text(encoding="utf-8")
        paths = [library, *self._paths()[1:]]
        code = f"import sys\nsys.path[:0] = {paths!r}\n{source}\nmain({config!r})\n"
        return [*args, sys.executable, "-I", "-S", "-c", code]


def _proc_fully_visible() -> bool:
    """Whether this machine's /proc has nothing mounted on parts of it."""
    with contextlib.suppress(OSError):
        points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        return "/proc" in points and not any(p.startswith("/proc/") for p in points)
    return False


# Where a zygote's kernels find the student side of the package and the course data
ZYGOTE_LIBRARY = "/opt/autograder-library"


# What a zygote imports once for all its kernels: what every grading kernel imports (not
# ``autograder.student.checks``, which sets itself up in the kernel that imports it).
ZYGOTE_PRELOAD = [
    "numpy",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    # imported by every kernel as it starts (debugpy, for the debugger: 0.07 s of CPU), and
    # starting no thread on import
    "ipykernel.debugger",
    "psutil",
    "autograder.student.judge",
    "autograder.student.runner",
    "autograder.student.specs",
    "autograder.student.paths",
]


class ForkedKernel:
    """A kernel forked by a zygote, as jupyter_client's provisioner sees a ``Popen``: its
    ``pid`` is the first process of the kernel's own PID namespace, so killing it ends every
    process the kernel started. Not this process's child: watched through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:  # it has already ended (a runner with nothing to run)
            self.returncode = -9

    def poll(self) -> int | None:
        if self.returncode is None:
            import select

            if select.select([self._fd], [], [], 0)[0]:
                self.returncode = -9
                os.close(self._fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import select

        if self.returncode is None:
            if not select.select([self._fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("kernel", timeout or 0)
            self.poll()
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGKILL)  # an init process ignores SIGTERM


class KernelZygote:
    """A worker's zygote (``kernel_zygote``): forks a fresh, walled-off kernel per request.
    Started on first use in each process; started again if it died (a watchdog kills a
    worker's children)."""

    def __init__(self, box: KernelSandbox) -> None:
        self.process = subprocess.Popen(
            box.zygote_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (box.memory_bytes,) * 2),
        )
        if self._read() != {"ready": True}:
            self.process.kill()
            raise RuntimeError(f"{SANDBOX_DID_NOT_START} (the kernel zygote)")
        # bwrap's first child is the init of the sandbox's PID namespace; the zygote is its child
        self.host_pid = _first_child_of(_first_child(self.process))

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def _send(self, message: object) -> None:
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def fork(
        self, connection: str, argv_tail: list[str], env: dict[str, str], group
    ) -> tuple[ForkedKernel, int]:
        """A new kernel for ``connection`` (the connection file's text), in cgroup ``group``
        (or none) before it runs anything; returns it and the pid whose ``/proc/PID/root``
        shows its file system."""
        self._send({"connection": connection, "argv": argv_tail, "env": env})
        inner = self._read().get("pid")
        child = _host_pid(self.host_pid, inner) if inner else None
        if child and group:
            group.add(child)
        self._send("go" if child else "stop")
        if self._read() != {"ok": True} or not child:
            raise RuntimeError(f"{SANDBOX_DID_NOT_START} (the kernel zygote did not fork)")
        init = _first_child_of(child)
        return ForkedKernel(init), child


def _host_pid(parent: int, inner: int) -> int | None:
    """The pid, here, of ``parent``'s child whose pid in its own namespace is ``inner``."""
    with contextlib.suppress(OSError):
        for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("NSpid:") and line.split()[-1] == str(inner):
                        return int(pid)
    return None


def _first_child_of(pid: int, timeout: float = 30.0) -> int:
    """The first child of ``pid`` (not this process's child), waited for."""
    import time

    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{pid}/task/{pid}/children")
    while time.monotonic() < deadline:
        try:
            found = children.read_text().split()
        except OSError:
            break  # it is gone: it could not wall itself off
        if found:
            return int(found[0])
        time.sleep(0.002)
    raise RuntimeError(f"{SANDBOX_DID_NOT_START} (a forked kernel did not start)")


class RunnerZygote:
    """A worker's zygote for the trusted verify (``kernel_zygote.main_runner``): NumPy and the
    runner imported once in a sandbox like the verify's, then a fresh, walled-off runner
    forked per submission. A submission's definitions, result pipe and sockets reach it
    only as file descriptors, handed to the forked child unread."""

    def __init__(self, job_dir: Path, memory_bytes: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = sandbox_env("/job")
        args = _bwrap_base(new_session=True, tmp_bytes=1024**2, zygote=True)
        if _proc_fully_visible():  # so that each runner can mount a /proc of its own
            at = args.index("--proc")
            args[at : at + 2] = ["--bind", "/proc", "/proc"]
        args += ["--ro-bind", str(job_dir), "/in"]
        for place in ("/job", "/results", "/run", "/dev/shm"):  # each runner mounts its own there
            args += ["--dir", place]
        args += ["--chdir", "/job"]
        args += ["--clearenv", *(a for k, v in env.items() for a in ("--setenv", k, v))]
        source = Path(__file__).with_name("kernel_zygote.py").read_text(encoding="utf-8")
        paths = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
        config = {"runner": "/in/runner.py"}
        code = f"import sys\nsys.path[:0] = {paths!r}\n{source}\nmain_runner({config!r})\n"
        try:
            self.process = subprocess.Popen(
                [*args, sys.executable, "-I", "-S", "-c", code],
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory_bytes,) * 2),
            )
        finally:
            theirs.close()
        self.channel = ours
        self._lock = threading.Lock()
        ours.settimeout(60)
        try:
            ready = ours.recv(64) == b'{"ready": true}'
        except OSError:
            ready = False
        if not ready:
            self.close()
            raise RuntimeError(f"{SANDBOX_DID_NOT_START} (the verify's zygote)")
        self.host_pid = _first_child_of(_first_child(self.process))

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.channel.close()

    def start(
        self, run_file: Path, channels: list[socket.socket], limits: Limits, out_bytes: int, group
    ) -> ForkedKernel | None:
        """The runner of one submission (its definitions in ``run_file``), in cgroup ``group``
        (or none) before it runs anything; its results come on its ``stdout``. None: this
        zygote could not start one (then none is tried again)."""
        results, into = os.pipe()
        source = os.open(run_file, os.O_RDONLY)
        request = {
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "out_bytes": out_bytes,
            }
        }
        with self._lock:  # one request at a time on the channel
            try:
                fds = [source, into, *(c.fileno() for c in channels)]
                socket.send_fds(self.channel, [json.dumps(request).encode()], fds)
                inner = json.loads(self.channel.recv(256)).get("pid")
                child = _host_pid(self.host_pid, inner) if inner else None
                if child and group:
                    group.add(child)
                self.channel.send(b'"go"' if child else b'"stop"')
                ok = self.channel.recv(64) == b'{"ok": true}'
                init = _first_child_of(child) if ok and child else None
            except (OSError, ValueError, RuntimeError):
                init = None
            finally:
                os.close(source)
                os.close(into)
        if init is None:
            os.close(results)
            _RUNNER_ZYGOTE_FAILED.append(True)
            self.close()
            return None
        forked = ForkedKernel(init)
        forked.stdout = os.fdopen(results, "rb")
        return forked


_RUNNER_ZYGOTES: dict[tuple, RunnerZygote] = {}
_RUNNER_ZYGOTE_FAILED: list[bool] = []
_RUNS: dict[tuple, int] = {}


def runner_zygote_for(job_dir: Path, limits: Limits) -> RunnerZygote | None:
    """This process's verify zygote for ``job_dir``, from the second run of that job on (a
    one-off job gains nothing from one); None where none can be had."""
    if _RUNNER_ZYGOTE_FAILED:
        return None
    key = (os.getpid(), str(job_dir), limits.memory_bytes)
    _RUNS[key] = _RUNS.get(key, 0) + 1
    if _RUNS[key] < 2:
        return None
    zygote = _RUNNER_ZYGOTES.get(key)
    if zygote is None or not zygote.alive():
        for old in [k for k in _RUNNER_ZYGOTES if k[0] == key[0]]:
            _RUNNER_ZYGOTES.pop(old).close()  # one per process: the job graded now
        try:
            zygote = _RUNNER_ZYGOTES[key] = RunnerZygote(job_dir, limits.memory_bytes)
        except (OSError, RuntimeError) as exc:
            _RUNNER_ZYGOTE_FAILED.append(True)
            print(f"verify zygote not used: {exc}", file=sys.stderr)
            return None
    return zygote


_ZYGOTES: dict[tuple, KernelZygote] = {}
_ZYGOTE_FAILED: list[bool] = []  # a zygote could not fork a kernel here: none is tried again


def zygote_for(box: KernelSandbox) -> KernelZygote:
    """This process's zygote for ``box`` (a forked worker starts its own)."""
    key = (os.getpid(), *box.zygote_key())
    if key not in _ZYGOTES or not _ZYGOTES[key].alive():
        _ZYGOTES[key] = KernelZygote(box)
    return _ZYGOTES[key]


# The grader's end of a kernel's sockets, whatever the kernel sends (student code can write
# to them directly): a frame over MAX_FRAME_BYTES disconnects the kernel before any of it
# is held (zmq's MAXMSGSIZE; the messages sent meanwhile are lost, so such a cell may end
# in an IOPub timeout), and at most MAX_QUEUED messages wait per socket (the kernel's
# side holds, then drops, the rest), so what waits for the grader stays under about
# (MAX_QUEUED + 1) x MAX_FRAME_BYTES per socket. A 10 MB print (a big array) still
# arrives, and is cut as it is stored (``preprocessors.ExecuteGraded``).
MAX_FRAME_BYTES = 32 * 1024**2
MAX_QUEUED = 4


def bounded_context(context):
    """``context`` (a zmq Context) with the limits above on every socket it makes."""
    import zmq

    context.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
    context.setsockopt(zmq.RCVHWM, MAX_QUEUED)
    return context


REFUSAL = (
    "Refusing to run student code: bubblewrap is not working here, so a submission could read "
    "solutions/ and rewrite the gradebook. Install it (`apt-get install bubblewrap`) or enable "
    "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)."
)
_COURSE_SANDBOX: list[KernelSandbox] = []


def course_sandbox() -> KernelSandbox:
    """The sandbox of the kernels plain nbgrader starts (``nbgrader autograde``, formgrader's
    Autograde button: the course's ``nbgrader_config.py`` names ``CourseKernelManager``):
    the student side of the package copied once per process, default limits. Refuses,
    with the reason and the fix, where bubblewrap does not work."""
    if backend() != "bubblewrap":
        raise RuntimeError(REFUSAL)
    if not _COURSE_SANDBOX:
        from autograder.instructor.limits import Options

        folder = Path(tempfile.mkdtemp(prefix="autograder-kernel-"))
        atexit.register(shutil.rmtree, folder, True)
        _COURSE_SANDBOX.append(
            KernelSandbox(student_library(folder / "library"), Options().memory_mb * 1024**2)
        )
    return _COURSE_SANDBOX[0]


def __getattr__(name: str):
    """``CourseKernelManager``, made on first use (jupyter_client is imported only then)."""
    if name == "CourseKernelManager":
        globals()[name] = sandboxed_kernel_manager(None)
        return globals()[name]
    raise AttributeError(name)


# The kernel specs this process has looked up, by name (``SandboxedKernelManager.kernel_spec``)
_KERNEL_SPECS: dict[str, object] = {}


def sandboxed_kernel_manager(sandbox: KernelSandbox | None):
    """An ``AsyncKernelManager`` class whose kernels run in ``sandbox`` (for nbclient's
    ``kernel_manager_class``; None: ``course_sandbox()``): IPC sockets on the sandbox's own
    tmpfs, reached from here through ``/proc/<pid>/root``, so nothing the kernel can write
    lies outside its limits; interrupts as messages, since a signal to the sandbox's init
    would end it; the grader's sockets bounded (``bounded_context``)."""
    import zmq.asyncio
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class BoundedKernelClient(AsyncKernelClient):
        def _context_default(self) -> zmq.asyncio.Context:
            self._created_context = True  # destroyed with the client's channels
            return bounded_context(zmq.asyncio.Context())

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """jupyter_client's (8.x) but for its last step, which waited 0.2 s for IOPub to
            fall silent after the kernel's first answer: 0.2 s of every kernel start, with
            the worker idle. nbclient reads a cell's output by the cell's own request, so a
            status message of the start still on IOPub changes nothing."""
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except queue.Empty:
                    pass
                else:
                    if reply["msg_type"] == "kernel_info_reply":
                        try:  # IOPub is connected once the kernel's status for it arrives
                            await self.iopub_channel.get_msg(timeout=0.2)
                        except queue.Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(reply)
                            break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            while True:  # what IOPub holds already, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except queue.Empty:
                    break

    class SandboxedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = "/run/kernel/ipc"
            self.cache_ports = False
            self.client_factory = BoundedKernelClient

        @default("context")
        def _bounded_context(self) -> zmq.asyncio.Context:
            self._created_context = True
            return bounded_context(zmq.asyncio.Context())

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            """Until the kernel has ended, asking every 10 ms rather than jupyter_client's
            100: a sandboxed kernel ends within milliseconds of its shutdown or kill, and
            each shutdown waited for the next poll."""
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

        @property
        def kernel_spec(self):
            """The kernel's spec, looked up once per process (jupyter_client searches every
            kernel folder for it again for each kernel: 8 % of a worker's CPU on assign_5a).
            The kernel itself is started by ``format_kernel_cmd``, not by the spec's argv."""
            name = self.kernel_name
            if self._kernel_spec is None and name:
                if name not in _KERNEL_SPECS:
                    _KERNEL_SPECS[name] = self.kernel_spec_manager.get_kernel_spec(name)
                self._kernel_spec = _KERNEL_SPECS[name]
            return self._kernel_spec

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            self.kernel_spec.interrupt_mode = "message"
            return (sandbox or course_sandbox()).command(self.connection_file, list(extra_arguments or []))

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
            box = sandbox or course_sandbox()
            if box.zygote and not _ZYGOTE_FAILED:
                try:
                    return self._fork_kernel(box)
                except (OSError, RuntimeError, ValueError) as exc:
                    # e.g. no nested user namespaces here: a new sandboxed Python per kernel
                    _ZYGOTE_FAILED.append(True)
                    print(f"kernel zygote not used: {exc}", file=sys.stderr)
                    group = getattr(self, "_group", None)
                    if group:
                        group.close()
            if box.quiet:
                kw.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            process = self.provisioner.process
            self.ip = f"/proc/{_first_child(process)}/root/run/kernel/ipc"
            pid = process.pid
            # one budget for the whole submission: processes (a fork storm) and memory
            self._group = cgroups.group(box.max_processes, box.memory_bytes)
            if self._group:
                self._group.add(pid)

        def _fork_kernel(self, box: KernelSandbox) -> None:
            """The kernel forked by this process's zygote, in the submission's cgroup."""
            self._group = cgroups.group(box.max_processes, box.memory_bytes)
            connection = Path(self.connection_file).read_text(encoding="utf-8")
            kernel, root = zygote_for(box).fork(connection, [], box.env(), self._group)
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = kernel, kernel.pid, None
            provisioner.cwd = Path.cwd()
            self._reconcile_connection_info(provisioner.connection_info)
            self.ip = f"/proc/{root}/root/run/kernel/ipc"

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            group = getattr(self, "_group", None)
            if group:
                group.close()

    return SandboxedKernelManager


def _first_child(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """The first child of bwrap's ``process`` (its process inside the namespaces)."""
    import time

    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            found = children.read_text().split()
            if found:
                return int(found[0])
        time.sleep(0.005)
    raise RuntimeError(f"{SANDBOX_DID_NOT_START} (is bubblewrap working?)")


SANDBOX_DID_NOT_START = "the kernel sandbox did not start"


def require_sandbox(unsafe: bool) -> None:
    """Fail closed: no student code runs without bubblewrap unless asked for in so many words."""
    if backend() != "bubblewrap" and not unsafe:
        raise SystemExit(REFUSAL + " --unsafe-no-sandbox grades anyway and says so in the reports.")


def sandbox_label(unsafe: bool) -> str:
    if unsafe and backend() != "bubblewrap":
        return "NONE (--unsafe-no-sandbox)"
    budget = "a cgroup per submission" if cgroups.available() else "per-process rlimits only (no cgroup)"
    return f"{backend()}, processes and memory: {budget}"
