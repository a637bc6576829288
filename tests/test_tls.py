"""The cluster's certificates (``python -m autograder certs``) and the grader's refusal of
a plain ``tcp://`` scheduler. The live tests, on a real scheduler and workers over TLS,
are in ``tests/test_cluster.py``."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from autograder.__main__ import main
from autograder.instructor import submissions
from autograder.instructor.certs import DAYS, ROLES, CertificateError, client_security, make_certs
from autograder.instructor.course import submit
from autograder.student.paths import course_root

A = "assign_5a"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tls") / "course-tls"
    assert main(["certs", "--out", str(out)]) == 0
    return out


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_certs_makes_a_ca_and_a_pair_per_role_keys_private_ca_key_forgotten(certs: Path) -> None:
    assert sorted(p.name for p in certs.iterdir()) == sorted(
        ["ca.pem", *(f"{r}.pem" for r in ROLES), *(f"{r}-key.pem" for r in ROLES)]
    )
    assert certs.stat().st_mode & 0o777 == 0o700
    for role in ROLES:
        assert (certs / f"{role}-key.pem").stat().st_mode & 0o777 == 0o600
    ca = load(certs / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for role in ROLES:
        cert = load(certs / f"{role}.pem")
        cert.verify_directly_issued_by(ca)  # raises unless the course CA signed it
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(days=DAYS - 1) < lifetime <= datetime.timedelta(days=DAYS)


def test_another_run_makes_another_ca_and_never_overwrites_unasked(certs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_certs(other, days=30)
    with pytest.raises(ValueError):
        load(other / "client.pem").verify_directly_issued_by(load(certs / "ca.pem"))
    before = (other / "ca.pem").read_bytes()
    assert main(["certs", "--out", str(other)]) == 2
    assert (other / "ca.pem").read_bytes() == before
    assert main(["certs", "--out", str(other), "--force"]) == 0
    assert (other / "ca.pem").read_bytes() != before


def test_the_grader_takes_only_usable_certificates(certs: Path, tmp_path: Path) -> None:
    security = client_security(certs)
    assert security.require_encryption and security.tls_client_cert == str(certs / "client.pem")
    after_the_term = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=DAYS + 1)
    with pytest.raises(CertificateError, match="autograder certs"):
        client_security(certs, now=after_the_term)
    with pytest.raises(CertificateError, match="autograder certs"):
        client_security(tmp_path / "nothing-here")
    leaky = tmp_path / "leaky"
    shutil.copytree(certs, leaky)
    (leaky / "client-key.pem").chmod(0o644)
    with pytest.raises(CertificateError, match="chmod 600"):
        client_security(leaky)


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://127.0.0.1:8786"])
def test_an_unsafe_scheduler_is_refused_before_anything_is_graded(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(course_root() / "nbgrader_config.py", course)
    submit(course, "honest", A, submissions.completed(A))
    before = sorted(p.relative_to(course) for p in course.rglob("*"))
    # tls:// without certificates: refused too, saying how to make them
    cmd = ["grade", A, "--course", str(course), "--scheduler", address, "--tls-dir", str(tmp_path / "none")]
    assert main(cmd) == 2
    out, err = capsys.readouterr()
    assert not out and err.count("\n") == 1, err
    assert "python -m autograder certs" in err
    if not address.startswith("tls://"):
        assert "unauthenticated" in err and "--insecure" in err and "tls://127.0.0.1:8786" in err
    assert sorted(p.relative_to(course) for p in course.rglob("*")) == before  # nothing graded
