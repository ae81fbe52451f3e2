"""Checking a scanned QR payload: is it genuine, and what record does it refer to.

A genuine signature only says the office printed the paper; a filing's answer also says what the
filing is on the business day (``domain.status``: 已过期 / 已取消 … with the dates), so an old
备案回执 of an ended filing is not taken for a current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import select

from counter_app.domain.status import STANDING
from counter_app.printing.forms import CLAIM_KINDS, DOCUMENT_KINDS, FILING_KINDS
from counter_app.printing.qr import genuine, office_key, parse
from counter_app.storage.claims import STATUS_LABELS
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing, Person


@dataclass(frozen=True)
class Verification:
    """The answer for the clerk; ``person_id`` opens the record when it is known here."""

    genuine: bool
    message: str
    kind: str = ""
    number: str = ""
    person_id: int | None = None
    #: A filing's status on the business day (``FilingStatus`` value), "" for other records.
    filing_status: str = ""

    @property
    def current(self) -> bool:
        """Genuine, and (for a filing) the filing still stands today."""
        return self.genuine and self.filing_status in ("", *STANDING)


def verify_payload(
    db: Database, text: str, configured_key: str | None = None, today: date | None = None
) -> Verification:
    """Check the signature with the issuing office's key and find the record it names; with
    ``today`` (the business day) a filing's answer says its status on that day."""
    payload = parse(text)
    if payload is None:
        return Verification(False, "二维码内容格式不对，不是本系统打印的文书（可能被篡改）")
    key = office_key(db, payload.office_code, configured_key)
    if key is None:
        return Verification(
            False, f"二维码由经办机构 {payload.office_code} 签发，本机构数据库无法核验"
        )
    name = DOCUMENT_KINDS[payload.kind]
    if not genuine(key, payload):
        return Verification(
            False,
            f"签名不符：此{name}（编号 {payload.number}）的二维码是伪造的或被改动过",
            payload.kind,
            payload.number,
        )
    person_id = None
    status = ""
    detail = "本机构数据库中未找到该记录"
    if payload.kind in FILING_KINDS:
        with db.read() as session:
            row = session.exec(
                select(Filing, Person)
                .join(Person, Person.id == Filing.person_id)  # type: ignore[arg-type]
                .where(Filing.number == payload.number)
            ).first()
        if row is not None:
            filing, person = row
            person_id = person.id
            detail = f"参保人 {person.name}，备案就医地 {filing.destination_name}"
            if today is not None:
                status = str(filing.status_on(today))
                detail += f"；备案状态：{filing.status_text(today)}"
    elif payload.kind in CLAIM_KINDS:
        with db.read() as session:
            found = session.exec(
                select(Claim, Person)
                .join(Person, Person.id == Claim.person_id)  # type: ignore[arg-type]
                .where(Claim.number == payload.number)
            ).first()
        if found is not None:
            claim, person = found
            person_id = person.id
            detail = f"参保人 {person.name}，报销状态 {STATUS_LABELS[claim.status]}"
    return Verification(
        True,
        f"{'真实有效' if status in ('', *STANDING) else '真实（备案已不在有效期内）'}："
        f"{name}，编号 {payload.number}，经办机构 {payload.office_code}；{detail}",
        payload.kind,
        payload.number,
        person_id,
        status,
    )
