"""Grading on a real Dask cluster into a real PostgreSQL gradebook, on loopback.

A scheduler and two workers are started as the docs say (``dask scheduler``,
``dask worker --nthreads 1``); PostgreSQL is the server ``.ci/run`` starts (its URL
in ``AUTOGRADER_TEST_POSTGRES``). A class of 20 ``assign_5a`` submissions (honest,
blank, buggy, hostile) is graded locally first; the cluster's grades must be the
same, student by student, also when a worker is killed mid-run and when the run
itself is stopped halfway and resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import submissions
from autograder.course import db_url, make_course, submit
from autograder.grade import load_result
from autograder.mistakes import CATALOG
from autograder.verify import grade_cells

pytestmark = pytest.mark.xdist_group("cluster")
A = "assign_5a"
POSTGRES_ENV = "AUTOGRADER_TEST_POSTGRES"


READS_SOLUTIONS = """
import pathlib, autograder
for nb in pathlib.Path(autograder.__file__).resolve().parents[1].glob("solutions/*/*.ipynb"):
    print(nb.read_text())
"""
REWRITES_THE_PACKAGE = """
import pathlib, autograder
for module in pathlib.Path(autograder.__file__).parent.glob("*.py"):
    try:
        module.write_text("owned")
    except OSError as e:
        print("blocked", type(e).__name__)
"""


def the_class() -> dict[str, object]:
    full, blank = submissions.completed(A), submissions.release(A)
    mistakes = [
        (fn, m) for fn in ("rnn_cell_forward", "rnn_forward", "gru_cell_forward") for m in CATALOG[fn][:2]
    ]
    roster: dict[str, object] = {f"honest{i}": full for i in range(6)}
    roster |= {f"blank{i}": blank for i in range(3)}
    roster |= {f"buggy_{fn}_{i}": submissions.with_mistake(A, fn, m) for i, (fn, m) in enumerate(mistakes)}
    roster["reads_solutions"] = submissions.add_cell(blank, READS_SOLUTIONS)
    roster["rewrites_the_package"] = submissions.add_cell(full, REWRITES_THE_PACKAGE)
    roster["os_exit"] = submissions.add_cell(full, "import os\nos._exit(3)\n", after="rnn_forward")
    roster["not_json"] = '{"cells": ['
    return roster


CLASS = the_class()
LIMITS = ["--cell-timeout", "10", "--function-timeout", "5"]


def _course(root: Path) -> Path:
    course = make_course(root)
    for student, nb in CLASS.items():
        submit(course, student, A, nb)
    return course


def _grade(course: Path, *extra: str, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), *LIMITS, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _finish(run: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = run.communicate(timeout=timeout)
    assert run.returncode == 0, out[-4000:]
    return out


def grades(course: Path, url: str) -> dict[str, tuple[str, dict[str, float]]]:
    """student -> (status, function -> score in the gradebook at ``url``)."""
    cells = grade_cells(A)
    with Gradebook(url) as gb:
        return {
            s: (
                load_result(course, A, s).status,
                {fn: gb.find_grade(gid, A, A, s).score for fn, (gid, _) in cells.items()},
            )
            for s in CLASS
        }


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server of ``AUTOGRADER_TEST_POSTGRES``."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        why = f"{POSTGRES_ENV} is not set: start PostgreSQL and set it, as .ci/run does"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    import sqlalchemy

    name = f"grades_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    yield server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on loopback."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "scheduler.json"
        self.folder = folder
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.scheduler = subprocess.Popen(
            [
                *dask,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(self.file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers: list[subprocess.Popen] = []

    def add_worker(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(self.file)]
        cmd += ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory", str(self.folder)]
        worker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker

    @property
    def address(self) -> str:
        import json

        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return json.loads(self.file.read_text())["address"]

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=120)

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.add_worker()
        c.add_worker()
        c.wait_for(2)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The class graded by the local process pool into SQLite: what the cluster must match."""
    course = _course(tmp_path_factory.mktemp("local") / "course")
    _finish(_grade(course, "--workers", "2"))
    return grades(course, db_url(course))


def test_the_cluster_grades_into_postgres_exactly_as_locally(cluster, postgres, local, tmp_path) -> None:
    course = _course(tmp_path / "course")
    out = _finish(_grade(course, "--scheduler", cluster.address, "--db-url", postgres))
    assert f"{len(CLASS)}/{len(CLASS)}" in out
    assert grades(course, postgres) == local
    assert not (course / "gradebook.db").exists() or not grades_in_sqlite(course)
    for student in ("honest0", "buggy_rnn_forward_2"):
        assert (course / "feedback" / student / A / f"{A}.html").stat().st_size > 1000
    # plain nbgrader reads the same gradebook
    export = course / "export.csv"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--CourseDirectory.db_url={postgres}",
            f"--to={export}",
        ],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert export.read_text().count(A) == len(CLASS)


def grades_in_sqlite(course: Path) -> int:
    with Gradebook(db_url(course)) as gb:
        return len(gb.students)


def test_a_worker_killed_mid_run_loses_nothing(cluster, postgres, local, tmp_path) -> None:
    course = _course(tmp_path / "course")
    run = _grade(course, "--scheduler", cluster.address, "--db-url", postgres, "--force")
    done = course / "grading" / A
    deadline = time.monotonic() + 300
    while len(list(done.glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(list(done.glob("*.json"))) < len(CLASS), "the class finished before the kill"
    victim = cluster.workers[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    _finish(run)
    assert grades(course, postgres) == local
    cluster.workers.remove(victim)
    cluster.add_worker()
    cluster.wait_for(2)


def test_a_stopped_run_resumes_where_it_stopped(cluster, tmp_path, local) -> None:
    course = _course(tmp_path / "course")
    url = db_url(course)
    run = _grade(course, "--scheduler", cluster.address)
    done = course / "grading" / A
    deadline = time.monotonic() + 300
    while len(list(done.glob("*.json"))) < len(CLASS) // 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    finished = len(list(done.glob("*.json")))
    assert 0 < finished < len(CLASS)
    out = _finish(_grade(course, "--scheduler", cluster.address))
    assert f"{finished} already graded" in out
    assert grades(course, url) == local


def test_a_task_carries_the_notebook_alone(cluster, tmp_path) -> None:
    """With ``--scheduler`` too, the parent reads only the notebook, as a regular file: a
    notebook linked to ``solutions/`` scores nothing, a link to the grader's environment
    and an HTML file beside an honest notebook travel nowhere, the honest scores stay."""
    course = make_course(tmp_path / "course")
    full = submissions.completed(A)
    submit(course, "honest", A, full)
    linked = course / "submitted" / "linked" / A
    linked.mkdir(parents=True)
    (linked / f"{A}.ipynb").symlink_to(course / "solutions" / A / f"{A}.ipynb")
    extras = submit(course, "extras", A, full).parent
    (extras / "environ").symlink_to("/proc/self/environ")
    (extras / "notes.html").write_text("<script>alert('notes')</script>")
    secret = "grader-secret-on-the-cluster"
    env = {**os.environ, "GRADER_API_TOKEN": secret}
    _finish(_grade(course, "--scheduler", cluster.address, env=env))
    cells = grade_cells(A)
    with Gradebook(db_url(course)) as gb:
        got = {
            s: sum(gb.find_grade(gid, A, A, s).score for gid, _ in cells.values())
            for s in ("honest", "linked", "extras")
        }
    assert got == {"honest": 50.0, "linked": 0.0, "extras": 50.0}
    assert load_result(course, A, "linked").status == "malformed"
    assert sorted(p.name for p in (course / "feedback" / "extras" / A).iterdir()) == [f"{A}.html"]
    for student in ("linked", "extras"):
        for path in [
            *(course / "autograded" / student).rglob("*"),
            *(course / "feedback" / student).rglob("*"),
        ]:
            if path.is_file():
                text = path.read_text(errors="replace")
                assert (
                    secret not in text and "### BEGIN SOLUTION" not in text and "alert('notes')" not in text
                )
