"""Certificates for grading on a Dask cluster over TLS (``python -m autograder certs``).

Dask's ``tcp://`` is unauthenticated: anyone who reaches the scheduler runs code on
every worker, where the hidden cases are. So the cluster speaks ``tls://`` only, with
mutual TLS: the scheduler, each worker and the grader present a certificate signed by
the course's own CA, and each refuses a peer whose certificate is not.

``make_certs`` writes, into one folder (mode 0700; keys 0600, never readable by others):

- ``ca.pem``: the course CA's certificate (every machine needs it);
- ``scheduler.pem``/``scheduler-key.pem``, ``worker.pem``/``worker-key.pem`` (one pair
  shared by all workers), ``client.pem``/``client-key.pem`` (the grader, ``grade``).

The CA's private key is never written: it signs these three and is forgotten, so
nothing can mint another certificate the cluster would accept. Adding a worker
machine is copying the worker pair; replacing a leaked key is running the command
again and handing out the new files (every old certificate stops working).

They are valid for ``DAYS`` (180 days: a term and its resits, so that a key copied
off a machine stops working by the next term; ``--days`` changes it). Dask does not
check host names (clusters are reached by IP) nor roles: any of the three keys admits
its holder to the whole cluster, so guard all three alike (the grading user's home,
which the sandbox never binds, not under ``/usr``).
"""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Security

DAYS = 180
ROLES = ("scheduler", "worker", "client")
ENV = "AUTOGRADER_TLS_DIR"


class CertificateError(Exception):
    """The grader's certificates are missing, unsafe or out of date; the message says how to fix it."""


def default_dir() -> Path:
    """Where ``certs`` writes and ``grade`` reads: ``$AUTOGRADER_TLS_DIR``, else
    ``$XDG_CONFIG_HOME/rnn-course-autograder/tls`` (``~/.config/...``): outside the course,
    so the keys are never committed with it nor bound into a sandbox."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "rnn-course-autograder" / "tls"


def files(folder: Path, role: str) -> tuple[Path, Path]:
    """A role's certificate and key in ``folder``."""
    return folder / f"{role}.pem", folder / f"{role}-key.pem"


def _write(path: Path, data: bytes, mode: int) -> None:
    # created with its final mode: a key is never readable by others, not even for a moment
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_certs(out: Path, days: int = DAYS, force: bool = False) -> list[Path]:
    """Write a fresh course CA's certificate and a certificate and key for each of
    ``ROLES`` into ``out``; return the files written. Refuses to replace existing ones
    unless ``force`` (a running cluster would stop accepting the grader)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if days < 1:
        raise CertificateError(f"--days must be at least 1, not {days}")
    names = [out / "ca.pem", *(p for role in ROLES for p in files(out, role))]
    existing = [p for p in names if p.exists()]
    if existing and not force:
        raise CertificateError(
            f"{out} already holds certificates ({existing[0].name}); --force replaces them "
            "(then every machine of the cluster needs the new ones)"
        )
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    out.chmod(0o700)
    for p in existing:
        p.unlink()

    now = datetime.datetime.now(datetime.timezone.utc)
    # five minutes of slack for machines whose clocks are slightly behind the instructor's
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    serial = x509.random_serial_number()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    # a name of its own: two courses' CAs (or two runs of this command) never look alike
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rnn-course grading CA {serial:x}"[:64])])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(out / "ca.pem", ca.public_bytes(pem), 0o644)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"rnn-course {role}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            # every role both listens and connects (the scheduler calls its workers)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"rnn-course-{role}")]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = files(out, role)
        _write(cert_path, cert.public_bytes(pem), 0o644)
        private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _write(key_path, private, 0o600)
    return names


def client_security(folder: Path, now: datetime.datetime | None = None) -> Security:
    """Dask's ``Security`` for the grader: TLS required, the client certificate of
    ``folder`` presented, peers accepted only with certificates of the CA in ``folder``.
    Raises ``CertificateError`` (one line, saying what to do) when a file is missing,
    a key is readable by others, or the certificate is expired."""
    from cryptography import x509
    from distributed import Security

    ca, (cert, key) = folder / "ca.pem", files(folder, "client")
    make = f"make them with `python -m autograder certs --out {folder}` (docs/scaling.md)"
    for path in (ca, cert, key):
        if not path.is_file():
            raise CertificateError(f"no {path.name} in {folder}: {make}, or pass --tls-dir")
    if key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CertificateError(f"{key} is readable by others: chmod 600 {key}")
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise CertificateError(
            f"{cert} is valid from {certificate.not_valid_before_utc:%Y-%m-%d} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}: {make} again and hand them out"
        )
    return Security(
        tls_ca_file=str(ca), tls_client_cert=str(cert), tls_client_key=str(key), require_encryption=True
    )


def expires(folder: Path) -> datetime.datetime:
    """When the client certificate of ``folder`` stops working."""
    from cryptography import x509

    return x509.load_pem_x509_certificate(files(folder, "client")[0].read_bytes()).not_valid_after_utc


def main(out: Path, days: int, force: bool) -> int:
    """``python -m autograder certs``: write the certificates, say where each goes."""
    try:
        make_certs(out, days, force)
    except CertificateError as e:
        print(f"certs: {e}")
        return 2
    until = expires(out)
    print(f"Wrote the course's TLS certificates into {out}, valid until {until:%Y-%m-%d} ({days} days):")
    print("  ca.pem                               every machine")
    print("  scheduler.pem, scheduler-key.pem     the scheduler's machine")
    print("  worker.pem, worker-key.pem           every worker machine")
    print("  client.pem, client-key.pem           here: grade --scheduler tls://... reads them")
    print("Keys are mode 0600: copy them with scp -p. The CA's key was not kept: to replace a")
    print("leaked key, run this again and hand out the new files. Start the cluster as docs/scaling.md says.")
    return 0
