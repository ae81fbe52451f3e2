"""The QR signature on every document: a compact payload and its HMAC with the office's key.

Payload: ``YB2:<kind code>:<number>:<office code>:<facts digest>:<signature>``, all in the QR
alphanumeric character set (upper case, digits, ``:``) so the code stays small. The facts digest
is the first 80 bits of SHA-256 over the document's key facts as printed (name, a digest of the
身份证号, status, dates, amounts: ``printing.facts``), so a copied QR does not vouch for altered
figures. The signature is the first 80 bits of HMAC-SHA256 over the rest, in base32. The key
comes from the settings (``qr_key``) or is generated once per office and kept in the office
database. ``YB1`` payloads (printed before the digest) still verify, for the number only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import select

from counter_app.storage.db import Database
from counter_app.storage.models import Office, OfficeKey
from counter_app.storage.records import audit

PREFIX = "YB2"
LEGACY_PREFIX = "YB1"
KIND_CODES = {
    "filing_form": "BAB",
    "commitment": "CNS",
    "filing_receipt": "BAH",
    "injury_commitment": "WSC",
    "settlement_slip": "JSD",
    "missing_notice": "GZS",
    "claim_receipt": "SLH",
    "return_notice": "THS",
}
_KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
_SIGNATURE_BYTES = 10


@dataclass(frozen=True)
class Payload:
    """What a scanned payload says it is."""

    kind: str
    number: str
    office_code: str
    signature: str
    #: The facts digest; empty for a ``YB1`` payload (printed before facts were bound).
    digest: str = ""

    @property
    def legacy(self) -> bool:
        """A ``YB1`` payload: it vouches for the number, not for the printed content."""
        return not self.digest


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _body(kind: str, number: str, office_code: str, digest: str) -> str:
    if not digest:
        return f"{LEGACY_PREFIX}:{KIND_CODES[kind]}:{number}:{office_code}"
    return f"{PREFIX}:{KIND_CODES[kind]}:{number}:{office_code}:{digest}"


def _mac(key: bytes, body: str) -> str:
    return _b32(hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def sign(key: bytes, kind: str, number: str, office_code: str, digest: str) -> str:
    """The payload to print for a document whose printed facts have ``digest``."""
    body = _body(kind, number, office_code, digest)
    return f"{body}:{_mac(key, body)}"


def looks_like_payload(text: str) -> bool:
    """Whether a scanned or typed string is one of our QR payloads (genuine or not)."""
    head = text.strip().upper()
    return head.startswith(PREFIX + ":") or head.startswith(LEGACY_PREFIX + ":")


def parse(text: str) -> Payload | None:
    """The payload's parts, or ``None`` when it is not well formed."""
    parts = text.strip().upper().split(":")
    if len(parts) == 6 and parts[0] == PREFIX:
        kind_code, number, office, digest, signature = parts[1:]
    elif len(parts) == 5 and parts[0] == LEGACY_PREFIX:
        kind_code, number, office, signature = parts[1:]
        digest = ""
    else:
        return None
    if kind_code not in _KINDS_BY_CODE or not all((number, office, signature)):
        return None
    if parts[0] == PREFIX and not digest:
        return None
    return Payload(_KINDS_BY_CODE[kind_code], number, office, signature, digest)


def genuine(key: bytes, payload: Payload) -> bool:
    """Whether the signature matches (constant-time comparison)."""
    body = _body(payload.kind, payload.number, payload.office_code, payload.digest)
    return hmac.compare_digest(_mac(key, body), payload.signature)


def office_key(db: Database, office_code: str, configured: str | None = None) -> bytes | None:
    """The signing key of an office: the configured one, else the stored one, created once.

    ``None`` when the office is not in this database (a payload from elsewhere).
    """
    if configured:
        return configured.encode()
    with db.read() as session:
        office = session.exec(select(Office).where(Office.code == office_code)).first()
        if office is None:
            return None
        stored = session.get(OfficeKey, office.id)
        if stored is not None:
            return bytes.fromhex(stored.key_hex)
    with db.write() as session:
        stored = session.get(OfficeKey, office.id)
        if stored is None:  # a second process may have created it meanwhile
            stored = OfficeKey(office_id=office.id, key_hex=secrets.token_hex(32))  # type: ignore[arg-type]
            session.add(stored)
            audit(session, None, "create_key", "office_key", office.code)
        return bytes.fromhex(stored.key_hex)
