"""TLS end to end: the store behind a test certificate, the client trusting only the pinned CA.

The certificates are made here with ``cryptography`` (a CA, and a server certificate for
127.0.0.1 and localhost signed by it); the store runs in uvicorn with its ssl options, on loopback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from counter_app.province.server import create_app
from counter_app.province.store import ProvinceStore
from counter_app.rules_engine import build_engine
from counter_app.sync.client import ClientConfig, SyncError, probe, run_sync
from tests.support.postgres import free_port
from tests.support.province import add_events, local_state, make_office

TODAY = date(2026, 11, 23)


@dataclass
class Tls:
    """The files of a test PKI."""

    ca: Path
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(folder: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1/localhost it signed (PEM files)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("测试省平台 CA"))
        .issuer_name(_name("测试省平台 CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls


@pytest.fixture
def tls_store(tmp_path: Path) -> Iterator[tuple[str, ProvinceStore, Tls]]:
    """The store over HTTPS on a loopback port (uvicorn in a thread); its https URL."""
    import uvicorn

    tls = make_pki(tmp_path)
    store = ProvinceStore(f"sqlite:///{tmp_path / 'province.db'}")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "TLS server did not start"
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}", store, tls
    server.should_exit = True
    thread.join(10)
    store.close()


def test_sync_over_tls_with_a_pinned_ca(
    tls_store: tuple[str, ProvinceStore, Tls], tmp_path: Path
) -> None:
    url, store, tls = tls_store
    db, signed = make_office(tmp_path / "office.db")
    token = store.add_office(signed.office_code, signed.office_name, "340200")
    add_events(db, signed, 12)
    engine = build_engine("wuhu")
    base = {"url": url, "token": token, "attempts": 1, "timeout": 10.0}

    # Not trusted by the system's store: refused with what to do, nothing marked.
    with pytest.raises(SyncError, match=r"证书未通过验证.*sync.ca_file"):
        run_sync(db, engine, ClientConfig(**base), TODAY)  # type: ignore[arg-type]
    assert local_state(db)[1] == set()
    assert not probe(ClientConfig(**base))  # type: ignore[arg-type]

    pinned = ClientConfig(**base, ca_file=tls.ca)  # type: ignore[arg-type]
    assert probe(pinned)
    report = run_sync(db, engine, pinned, TODAY)
    assert report.reconciled and report.tally.accepted == 12
    ids, sent = local_state(db)
    assert sent == ids and len(ids) == 12
