"""Grading on a real Dask cluster into a real PostgreSQL gradebook, on loopback.

A scheduler and two workers are started as the docs say, over mutual TLS with the
certificates of ``python -m autograder certs`` (``dask scheduler --tls-...``, ``dask
worker --nthreads 1 --tls-...``); PostgreSQL is the server ``.ci/run`` starts (its URL
in ``AUTOGRADER_TEST_POSTGRES``). A class of 20 ``assign_5a`` submissions (honest,
blank, buggy, hostile) is graded locally first; the cluster's grades must be the
same, student by student, also when a worker is killed mid-run and when the run
itself is stopped halfway and resumed. Nothing without the course's certificate
reaches the scheduler or a worker; a plain ``tcp://`` cluster is graded only with
``--insecure``, and the run says so.
"""

from __future__ import annotations

import asyncio
import operator
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fresh_database
from distributed import Client
from nbgrader.api import Gradebook
from partial import trusted_score

from autograder.instructor import submissions
from autograder.instructor.certs import client_security
from autograder.instructor.course import db_url, submit
from autograder.instructor.grade import load_result
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.verify import grade_cells

pytestmark = pytest.mark.xdist_group("cluster")
A = "assign_5a"
POSTGRES_ENV = "AUTOGRADER_TEST_POSTGRES"
ROOT = Path(__file__).resolve().parents[1]
# the grader, scheduler and workers import this checkout's package, whatever is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


READS_SOLUTIONS = """
import pathlib, autograder
for nb in pathlib.Path(autograder.__file__).resolve().parents[1].glob("solutions/*/*.ipynb"):
    print(nb.read_text())
"""
REWRITES_THE_PACKAGE = """
import pathlib, autograder
for module in pathlib.Path(autograder.__file__).parent.rglob("*.py"):
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
    roster: dict[str, object] = {f"honest{i}": full for i in range(3)}
    roster["blank0"] = blank
    roster |= {f"buggy_{fn}_{i}": submissions.with_mistake(A, fn, m) for i, (fn, m) in enumerate(mistakes)}
    roster["reads_solutions"] = submissions.add_cell(blank, READS_SOLUTIONS)
    roster["rewrites_the_package"] = submissions.add_cell(full, REWRITES_THE_PACKAGE)
    roster["os_exit"] = submissions.add_cell(full, "import os\nos._exit(3)\n", after="rnn_forward")
    roster["not_json"] = '{"cells": ['
    return roster


CLASS = the_class()
LIMITS = ["--cell-timeout", "10", "--function-timeout", "5"]


def _course(root: Path, blank: Path, students: list[str] | None = None) -> Path:
    """A copy of the blank course ``blank`` with ``students`` (default: the class) handed in."""
    course = Path(shutil.copytree(blank, root))
    for student in CLASS if students is None else students:
        submit(course, student, A, CLASS[student])
    return course


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory, new_course) -> Path:
    """A course with no submissions, made once and copied by each test."""
    return new_course(tmp_path_factory.mktemp("blank") / "course")


def _grade(course: Path, *extra: str, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), *LIMITS, *extra]
    popen.setdefault("env", ENV)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _finish(run: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = run.communicate(timeout=timeout)
    assert run.returncode == 0, out[-4000:]
    return out


def grades(course: Path, url: str, students: object = CLASS) -> dict[str, tuple[str, dict[str, float]]]:
    """student -> (status, function -> score in the gradebook at ``url``)."""
    cells = grade_cells(A)
    with Gradebook(url) as gb:
        return {
            s: (
                load_result(course, A, s).status,
                {fn: gb.find_grade(gid, A, A, s).score for fn, (gid, _) in cells.items()},
            )
            for s in students
        }


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server of ``AUTOGRADER_TEST_POSTGRES``."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        why = f"{POSTGRES_ENV} is not set: start PostgreSQL and set it, as .ci/run does"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    with fresh_database(server, "grades") as url:
        yield url


def make_certs(out: Path) -> Path:
    """The course's certificates, made by the documented command."""
    cmd = [sys.executable, "-m", "autograder", "certs", "--out", str(out)]
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=120)
    return out


def tls_flags(certs: Path | None, role: str) -> list[str]:
    """``dask scheduler`` and ``dask worker``'s TLS options, as docs/scaling.md gives them."""
    if certs is None:
        return []
    ca, cert, key = certs / "ca.pem", certs / f"{role}.pem", certs / f"{role}-key.pem"
    return ["--tls-ca-file", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on loopback: over mutual TLS with
    the certificates in ``certs``, or on plain tcp:// without them."""

    def __init__(self, folder: Path, certs: Path | None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / "scheduler.json"
        self.folder = folder
        self.certs = certs
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.scheduler = subprocess.Popen(
            [
                *dask,
                "--host",
                "127.0.0.1",
                "--protocol",
                "tls" if certs else "tcp",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(self.file),
                *tls_flags(certs, "scheduler"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        self.workers: list[subprocess.Popen] = []

    def add_worker(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(self.file)]
        cmd += ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory", str(self.folder)]
        cmd += tls_flags(self.certs, "worker")
        worker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        self.workers.append(worker)
        return worker

    @property
    def address(self) -> str:
        import json

        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return json.loads(self.file.read_text())["address"]

    @property
    def flags(self) -> list[str]:
        """What ``grade`` needs to grade here."""
        secure = ["--tls-dir", str(self.certs)] if self.certs else ["--insecure"]
        return ["--scheduler", self.address, *secure]

    def client(self) -> Client:
        return Client(self.address, timeout=60, security=client_security(self.certs) if self.certs else None)

    def wait_for(self, n: int) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=120)

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("dask")
    c = Cluster(folder, make_certs(folder / "tls"))
    try:
        c.add_worker()
        c.add_worker()
        c.wait_for(2)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, blank: Path) -> dict:
    """The class graded by the local process pool into SQLite: what the cluster must match."""
    course = _course(tmp_path_factory.mktemp("local") / "course", blank)
    _finish(_grade(course, "--workers", "2"))
    return grades(course, db_url(course))


def test_the_cluster_grades_into_postgres_exactly_as_locally(
    cluster, postgres, local, blank, tmp_path
) -> None:
    course = _course(tmp_path / "course", blank)
    assert cluster.address.startswith("tls://")
    out = _finish(_grade(course, *cluster.flags, "--db-url", postgres))
    assert f"{len(CLASS)}/{len(CLASS)}" in out
    assert "mutual TLS" in out and "INSECURE" not in out
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


async def _identify(address: str, **connection_args) -> str:
    """Connect to a Dask server and ask who it is: its type, or why it would not answer."""
    from distributed.comm import connect

    try:
        comm = await connect(address, timeout=10, **connection_args)
        await comm.write({"op": "identity"})
        answer = await comm.read()
        await comm.close()
        return answer["type"]
    except Exception as e:  # noqa: BLE001 - a refusal is what is being looked for
        return f"refused: {type(e).__name__}"


def test_only_the_course_certificates_reach_the_cluster(cluster, tmp_path) -> None:
    """The scheduler and each worker talk only to peers holding a certificate of the
    course's CA: a stranger's client or worker (no TLS, no certificate, a certificate of
    its own CA) is refused, and the grader refuses a scheduler of another CA."""
    with cluster.client() as client:
        worker = next(iter(client.scheduler_info()["workers"]))
        assert (
            client.submit(operator.mul, 6, 7, pure=False).result(timeout=60) == 42
        )  # the course's client runs
    other = make_certs(tmp_path / "other")
    ca = str(cluster.certs / "ca.pem")
    no_cert = ssl.create_default_context(cafile=ca)
    no_cert.check_hostname = False
    foreign = ssl.create_default_context(cafile=ca)  # trusts the course, presents its own CA's cert
    foreign.check_hostname = False
    foreign.load_cert_chain(other / "client.pem", other / "client-key.pem")
    attempts = {
        "course": client_security(cluster.certs).get_connection_args("client"),
        "plain tcp": "tcp",
        "no certificate": {"ssl_context": no_cert},
        "a foreign certificate": {"ssl_context": foreign},
        "another CA altogether": client_security(other).get_connection_args("client"),
    }

    async def probe() -> dict[tuple[str, str], str]:
        jobs = {
            (who, address): _identify(address.replace("tls://", "tcp://"))
            if args == "tcp"
            else _identify(address, **args)
            for who, args in attempts.items()
            for address in (cluster.address, worker)
        }
        return dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))

    answers = asyncio.run(probe())
    assert answers.pop(("course", cluster.address)) == "Scheduler"
    assert answers.pop(("course", worker)) == "Worker"
    assert all(a.startswith("refused") for a in answers.values()), answers


def test_a_worker_killed_mid_run_loses_nothing(cluster, postgres, local, blank, tmp_path) -> None:
    course = _course(tmp_path / "course", blank)
    run = _grade(course, *cluster.flags, "--db-url", postgres, "--force")
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


def test_a_stopped_run_resumes_where_it_stopped(cluster, tmp_path, local, blank) -> None:
    course = _course(tmp_path / "course", blank)
    url = db_url(course)
    run = _grade(course, *cluster.flags)
    done = course / "grading" / A
    deadline = time.monotonic() + 300
    while len(list(done.glob("*.json"))) < len(CLASS) // 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    finished = len(list(done.glob("*.json")))
    assert 0 < finished < len(CLASS)
    out = _finish(_grade(course, *cluster.flags))
    assert f"{finished} already graded" in out
    assert grades(course, url) == local


def test_a_task_carries_the_notebook_alone(cluster, tmp_path, new_course) -> None:
    """With ``--scheduler`` too, the parent reads only the notebook, as a regular file: a
    notebook linked to ``solutions/`` scores nothing, a link to the grader's environment
    and an HTML file beside an honest notebook travel nowhere, the honest scores stay."""
    course = new_course(tmp_path / "course")
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
    _finish(_grade(course, *cluster.flags, env=env))
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


def test_a_plain_tcp_cluster_grades_only_with_insecure_and_says_so(local, blank, tmp_path) -> None:
    plain = Cluster(tmp_path / "dask", None)
    try:
        plain.add_worker()
        few = ["honest0", "buggy_rnn_forward_2"]
        course = _course(tmp_path / "course", blank, few)
        refused = _grade(course, "--scheduler", plain.address)
        out, _ = refused.communicate(timeout=300)
        assert refused.returncode == 2 and "--insecure" in out and not (course / "grading").exists(), out
        plain.wait_for(1)
        out = _finish(_grade(course, *plain.flags))
        header = next(line for line in out.splitlines() if line.startswith("Grading"))
        assert plain.address in header and "INSECURE" in header and "UNENCRYPTED" in header
        assert grades(course, db_url(course), few) == {s: local[s] for s in few}
    finally:
        plain.stop()


# --- assign_5c, the bonus: graded on the cluster as locally -----------------------------

A5C = "assign_5c"


def the_5c_class() -> dict[str, tuple[object, dict[str, float]]]:
    """assign_5c's students: the notebook each hands in, and each function's score it must get."""
    from variants import VARIANTS  # the correct float32 versions of both functions

    full, blank = submissions.completed(A5C), submissions.release(A5C)
    points = {fn: float(p) for fn, (_, p) in grade_cells(A5C).items()}
    float32 = full
    for v in VARIANTS:
        if v.assignment == A5C and "float32" in v.label:
            float32 = submissions.replace_function(float32, v.function, v.source)
    torch = next(m for m in CATALOG["gru_cell_backward"] if "PyTorch" in m.name)
    return {
        "honest": (full, points),
        "blank": (blank, dict.fromkeys(points, 0.0)),
        "float32": (float32, points),
        "torch_reset": (
            submissions.with_mistake(A5C, "gru_cell_backward", torch),
            points | {"gru_cell_backward": trusted_score(A5C, "gru_cell_backward", torch.edits)},
        ),
        "no_recurrence": (
            submissions.with_mistake(A5C, "gru_backward", CATALOG["gru_backward"][0]),
            points | {"gru_backward": trusted_score(A5C, "gru_backward", CATALOG["gru_backward"][0].edits)},
        ),
        "os_exit": (submissions.add_cell(full, "import os\nos._exit(3)\n", after="gru_backward"), points),
    }


def test_assign_5c_grades_on_the_cluster_as_locally(cluster, postgres, blank, tmp_path) -> None:
    """The bonus assignment, graded by `grade assign_5c` with the local pool into SQLite and on
    the TLS cluster into PostgreSQL: each student's score per function is the expected one,
    the same both ways."""
    students = the_5c_class()
    courses = {}
    for where in ("local", "cluster"):
        course = Path(shutil.copytree(blank, tmp_path / where))
        for student, (nb, _) in students.items():
            submit(course, student, A5C, nb)
        courses[where] = course
    flags = {"local": ["--workers", "2"], "cluster": [*cluster.flags, "--db-url", postgres]}
    urls = {"local": db_url(courses["local"]), "cluster": postgres}
    scores = {}
    for where, course in courses.items():
        cmd = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            A5C,
            "--course",
            str(course),
            *LIMITS,
            *flags[where],
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=900)
        assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
        cells = grade_cells(A5C)
        with Gradebook(urls[where]) as gb:
            scores[where] = {
                s: {fn: gb.find_grade(gid, A5C, A5C, s).score for fn, (gid, _) in cells.items()}
                for s in students
            }
    assert scores["local"] == {s: want for s, (_, want) in students.items()}
    assert scores["cluster"] == scores["local"]
    assert (courses["cluster"] / "feedback" / "torch_reset" / A5C / f"{A5C}.html").stat().st_size > 1000
