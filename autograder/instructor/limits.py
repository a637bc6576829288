"""The grading limits: one set of defaults for ``grade``, ``verify``, the pytest front end
and ``nbgrader_config.py`` (which reads ``CELL_SECONDS`` from here)."""

from __future__ import annotations

import os
from dataclasses import dataclass

CELL_SECONDS = 60  # one notebook cell under nbgrader (Execute.timeout)
NOTEBOOK_SECONDS = 600  # the whole autograde of one notebook
FUNCTION_SECONDS = 20.0  # one graded function in the trusted verify's sandbox
MEMORY_MB = 4096  # a submission's kernel (per process; in all, where cgroups exist)
# Half of a worker's time is waiting (a kernel starting, a sandbox's child): two workers
# per core keep the cores busy (docs/scaling.md: 0.57 s against 0.74 s per submission).
WORKERS = 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Options:
    """What ``grade`` may spend on one submission."""

    workers: int = WORKERS
    force: bool = False
    cell_timeout: int = CELL_SECONDS
    notebook_timeout: int = NOTEBOOK_SECONDS
    memory_mb: int = MEMORY_MB
    function_timeout: float = FUNCTION_SECONDS
    unsafe_no_sandbox: bool = False  # run student code without bubblewrap (said in every report)
    scheduler: str | None = None  # a Dask scheduler's address: grade there instead of locally
    db_url: str | None = None  # the course gradebook (a SQLAlchemy URL; PostgreSQL on a cluster)
    tls_dir: str | None = None  # the grader's certificates for tls:// (default: certs.default_dir)
    insecure: bool = False  # allow a plain tcp:// scheduler (said in the run's header)
