"""The QR signature on every document: a compact payload and its HMAC with the office's key.

Payload: ``YB1:<kind code>:<number>:<office code>:<signature>``, all in the QR alphanumeric
character set (upper case, digits, ``:``) so the code stays small. The signature is the first
80 bits of HMAC-SHA256 over the rest, in base32. The key comes from the settings (``qr_key``)
or is generated once per office and kept in the office database.
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

PREFIX = "YB1"
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


def _mac(key: bytes, kind: str, number: str, office_code: str) -> str:
    message = f"{PREFIX}:{KIND_CODES[kind]}:{number}:{office_code}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.b32encode(digest).decode().rstrip("=")


def sign(key: bytes, kind: str, number: str, office_code: str) -> str:
    """The payload to print for a document."""
    return (
        f"{PREFIX}:{KIND_CODES[kind]}:{number}:{office_code}:{_mac(key, kind, number, office_code)}"
    )


def looks_like_payload(text: str) -> bool:
    """Whether a scanned or typed string is one of our QR payloads (genuine or not)."""
    return text.strip().upper().startswith(PREFIX + ":")


def parse(text: str) -> Payload | None:
    """The payload's parts, or ``None`` when it is not well formed."""
    parts = text.strip().upper().split(":")
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] not in _KINDS_BY_CODE:
        return None
    if not all(parts[2:]):
        return None
    return Payload(_KINDS_BY_CODE[parts[1]], parts[2], parts[3], parts[4])


def genuine(key: bytes, payload: Payload) -> bool:
    """Whether the signature matches (constant-time comparison)."""
    expected = _mac(key, payload.kind, payload.number, payload.office_code)
    return hmac.compare_digest(expected, payload.signature)


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
