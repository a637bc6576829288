"""Seconds per submission: the local process pool against a Dask cluster, same class.

Grades one realistic class of N ``assign_5a`` submissions (``grade_speed.realistic_class``:
about 80% correct work, 10% one mistake, 5% blank, 5% hostile) twice, each time in a
fresh copy of the course: with
``grade --workers W`` and with ``grade --scheduler`` on a Dask cluster of W worker
processes (one thread each) started on this machine, over mutual TLS with certificates
made by ``autograder.instructor.certs`` as on a real cluster. Prints the figures
docs/scaling.md extrapolates from:

    python benchmarks/cluster_speed.py [--students 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from grade_speed import grade, realistic_class

from autograder.instructor.course import make_course, submit

A = "assign_5a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n, w = args.students, args.workers
    from distributed import LocalCluster, Security

    from autograder.instructor.certs import files, make_certs

    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        base = make_course(Path(tmp) / "base")
        for i, (_, nb) in enumerate(realistic_class(A, n)):
            submit(base, f"student{i:03d}", A, nb)
        figures = {}
        shutil.copytree(base, Path(tmp) / "local")
        figures[f"local pool, {w} workers"] = grade(Path(tmp) / "local", A, w)
        tls = Path(tmp) / "tls"
        make_certs(tls)
        roles = {
            f"tls_{role}_{kind}": str(path)
            for role in ("scheduler", "worker", "client")
            for kind, path in zip(("cert", "key"), files(tls, role), strict=True)
        }
        security = Security(tls_ca_file=str(tls / "ca.pem"), require_encryption=True, **roles)
        with LocalCluster(
            n_workers=w,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            protocol="tls",
            security=security,
        ) as cluster:
            shutil.copytree(base, Path(tmp) / "dask")
            figures[f"Dask cluster (TLS), {w} workers"] = grade(
                Path(tmp) / "dask", A, w, "--scheduler", cluster.scheduler_address, "--tls-dir", str(tls)
            )
    print(f"{A}, {n} submissions, whole `grade` command:")
    for label, (wall, _, _, done) in figures.items():
        step = (done[-1] - done[0]) / (len(done) - 1)
        print(
            f"  {label:30s} {wall:6.1f} s = {wall / n:5.2f} s per submission; "
            f"one done every {step:.2f} s, fixed costs {wall - step * n:.0f} s"
        )


if __name__ == "__main__":
    main()
