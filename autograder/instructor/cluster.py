"""Grading on a Dask distributed cluster (``grade --scheduler tls://HOST:8786``).

A task needs no shared file system: it carries the submission's notebook (read by
the parent as ``autograder.instructor.intake`` says: a regular file, bounded, nothing else), and each
worker gets, once, what grading needs beside it (the course config, the template
gradebook, the release notebook, the hidden cases, the calibrated limits). The task
grades in a private folder on the worker, in the same sandbox as a local run, and
returns plain data: the student's result and the files of the autograded notebook
and the feedback. Only the parent writes the course and the gradebook. No
``solutions/`` reaches a worker: the hidden cases travel as arrays, and the worker
reads the graded cells from the release.

Workers need this package installed and bubblewrap; start them with ``--nthreads 1``
(each grades one submission at a time; its watchdog stops its own kernel's processes).

The cluster speaks ``tls://`` with mutual TLS (``autograder/instructor/certs.py``): on Dask's plain
``tcp://`` anyone who reaches the scheduler runs code on every worker, and a worker of
theirs would be sent the hidden cases. ``tcp://`` is refused unless ``--insecure``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.instructor.calibrate import Calibration
from autograder.instructor.intake import Handin, read_handin
from autograder.instructor.limits import Options

if TYPE_CHECKING:
    from distributed import Security

    from autograder.instructor.grade_submission import StudentResult


class ClusterError(Exception):
    """The cluster cannot be used safely as asked; the message (one line) says how to fix it."""


def scheme(address: str) -> str:
    """The protocol of a Dask address; Dask's default, ``tcp``, when it names none."""
    return address.split("://", 1)[0].lower() if "://" in address else "tcp"


def tls_dir(opts: Options) -> Path:
    from autograder.instructor.certs import default_dir

    return Path(opts.tls_dir).expanduser() if opts.tls_dir else default_dir()


def cluster_security(opts: Options) -> Security | None:
    """The grader's ``Security`` for ``opts.scheduler``: mutual TLS with the course's
    certificates; None for a plain address allowed by ``--insecure``. Raises
    ``ClusterError`` before anything is sent: a plain address without ``--insecure``, or
    certificates missing, unsafe or expired."""
    from autograder.instructor.certs import CertificateError, client_security

    address = opts.scheduler or ""
    if scheme(address) != "tls":
        if opts.insecure:
            return None
        host = address.split("://", 1)[-1]
        raise ClusterError(
            f"refusing {address}: plain {scheme(address)}:// is unauthenticated and unencrypted "
            "(anyone who reaches the scheduler runs code on its workers); make certificates with "
            f"`python -m autograder certs`, start the cluster on TLS (docs/scaling.md) and pass "
            f"--scheduler tls://{host}, or --insecure to grade on it anyway"
        )
    try:
        return client_security(tls_dir(opts))
    except CertificateError as e:
        raise ClusterError(str(e)) from None


def cluster_label(opts: Options) -> str:
    """How the run's header names the cluster; loud when it is not encrypted."""
    if scheme(opts.scheduler or "") == "tls":
        return f"the Dask cluster at {opts.scheduler} (mutual TLS, certificates of {tls_dir(opts)})"
    return (
        f"the Dask cluster at {opts.scheduler}, INSECURE (--insecure): UNAUTHENTICATED AND "
        "UNENCRYPTED, anyone who reaches it can run code on the workers and read the hidden cases"
    )


@dataclass(frozen=True)
class Context:
    """What every task of one ``grade`` run shares, sent to each worker once."""

    assignment: str
    config: bytes  # the course's nbgrader_config.py
    template: bytes  # the gradebook holding the assignment only (SQLite file)
    release: bytes  # the release notebook (public)
    hidden: bytes  # the hidden cases, packed (expected.packed_hidden_vectors, as .npz)
    opts: Options
    limits: Calibration | None

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.config + self.template + self.release + self.hidden)
        return f"{self.assignment}-{digest.hexdigest()[:16]}"


def submission_files(course: Path, assignment: str, student: str) -> Handin:
    """What a task carries of a submission: its notebook's bytes (a regular file, bounded,
    read as ``autograder.instructor.intake`` says) and the notes on what was not read."""
    return read_handin(course, student, assignment)


_PREPARED: dict[str, tuple[Path, object]] = {}


def _prepare(context: Context) -> tuple[Path, object]:
    """This worker's copy of the context: written once per run, reused by its tasks."""
    if context.key not in _PREPARED:
        from autograder.instructor.expected import provide_hidden_vectors
        from autograder.instructor.sandbox import KernelSandbox, require_sandbox, student_library

        require_sandbox(context.opts.unsafe_no_sandbox)
        root = Path(tempfile.mkdtemp(prefix=f"grade-{context.key}-"))
        a = context.assignment
        (root / "notebooks" / a).mkdir(parents=True)
        (root / "notebooks" / a / f"{a}.ipynb").write_bytes(context.release)
        (root / "hidden").mkdir()
        hidden = root / "hidden" / f"{a}.npz"
        hidden.write_bytes(context.hidden)
        (root / "template.db").write_bytes(context.template)
        # the release, not solutions/, tells this worker which cells are graded
        os.environ["AUTOGRADER_COURSE_ROOT"] = str(root)
        provide_hidden_vectors(a, hidden)
        memory = context.opts.memory_mb * 1024**2
        kernel = KernelSandbox(student_library(root / "library"), memory, zygote=True)
        _PREPARED[context.key] = (root, kernel)
    return _PREPARED[context.key]


def grade_remote(context: Context, student: str, handin: Handin) -> dict:
    """On a worker: grade one submission; return its result and the files to publish."""
    from distributed import get_worker

    from autograder.instructor.grade_submission import grade_one

    if get_worker().state.nthreads != 1:
        raise RuntimeError(
            "start the Dask workers with --nthreads 1: each grades one submission at a time "
            "(its watchdog stops its own kernel's processes)"
        )

    os.environ.update({"MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "OPENBLAS_NUM_THREADS": "1"})
    root, kernel = _prepare(context)
    a = context.assignment
    with tempfile.TemporaryDirectory(prefix=f"grade-{student}-", dir=root) as tmp:
        course = Path(tmp)
        (course / "nbgrader_config.py").write_bytes(context.config)
        result = grade_one(
            course, a, student, root / "template.db", context.opts, kernel, context.limits, handin
        )
        published = {
            str(p.relative_to(course)): p.read_bytes()
            for kind in ("autograded", "feedback")
            for p in sorted((course / kind).rglob("*"))
            if p.is_file()
        }
    return {"result": asdict(result), "files": published}


def publish(course: Path, assignment: str, student: str, files: dict[str, bytes]) -> None:
    """Write a remote task's autograded notebook and feedback into the course."""
    for kind in ("autograded", "feedback"):
        folder = course / kind / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
    allowed = [(course / kind / student / assignment).resolve() for kind in ("autograded", "feedback")]
    for name, data in files.items():
        path = (course / name).resolve()
        if not any(path.is_relative_to(folder) for folder in allowed):
            continue  # only this student's autograded notebook and feedback, whatever a worker sends
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def grade_on_cluster(
    course: Path,
    assignment: str,
    todo: list[str],
    template: Path,
    opts: Options,
    limits: Calibration | None,
    done: Callable[[StudentResult], None],
) -> dict[str, Exception]:
    """Grade ``todo`` on the Dask cluster at ``opts.scheduler``; hand each finished student
    to ``done`` as it arrives (the parent merges it); return who could not be graded.

    A worker that dies mid-task has its task run elsewhere by the scheduler; after the
    scheduler's ``allowed-failures`` (3 by default) the task fails with ``KilledWorker``
    and the student is reported, while the class goes on."""
    import io
    import uuid

    import numpy as np
    from distributed import Client, as_completed

    from autograder.instructor.expected import packed_hidden_vectors
    from autograder.instructor.grade_submission import StudentResult
    from autograder.student.paths import release_notebook

    security = cluster_security(opts)  # before any submission or hidden case leaves this machine
    hidden = io.BytesIO()
    np.savez(hidden, **packed_hidden_vectors(assignment))
    context = Context(
        assignment,
        (course / "nbgrader_config.py").read_bytes(),
        template.read_bytes(),
        release_notebook(assignment).read_bytes(),
        hidden.getvalue(),
        opts,
        limits,
    )
    run = uuid.uuid4().hex[:8]
    errors: dict[str, Exception] = {}
    with Client(opts.scheduler, timeout=60, security=security) as client:
        shared = client.scatter(context, broadcast=True)
        futures = {
            client.submit(
                grade_remote,
                shared,
                student,
                submission_files(course, assignment, student),
                key=f"grade-{assignment}-{student}-{run}",
                retries=1,  # an exception in the grader itself; a lost worker is the scheduler's
            ): student
            for student in todo
        }
        for future in as_completed(futures):
            student = futures[future]
            try:
                out = future.result()
            except Exception as exc:  # noqa: BLE001 - one lost submission must not stop the class
                errors[student] = exc
                continue
            publish(course, assignment, student, out["files"])
            done(StudentResult(**out["result"]))
    return errors
