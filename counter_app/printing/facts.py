"""A document's key facts as printed: what its QR code vouches for.

The facts are the figures a forger would change — name, 身份证号 (masked, and a digest of the full
number), status, dates, amounts — taken from the very values the form was filled with. Their
digest goes into the signed QR payload; the facts themselves are kept in ``printed_facts``
(with the print job), so that a scanned code shows what the paper said when it was printed,
beside what the record says now. ``on_paper`` lists the facts the document shows, to check a
document's text against them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the building of a document stays free of SQL; keeping and finding are not
    from counter_app.storage.db import Database
    from counter_app.storage.models import PrintedFacts

#: The facts in the order they are shown, with their Chinese labels.
FACT_LABELS: dict[str, str] = {
    "name": "姓名",
    "id_masked": "身份证号",
    "status_label": "状态",
    "category_label": "人员类别",
    "destination": "就医地",
    "valid_from": "有效期起",
    "valid_until": "有效期至",
    "handled_date": "办理日期",
    "admission_date": "入院（就诊）日期",
    "discharge_date": "出院日期",
    "accepted_on": "受理日期",
    "due_date": "办结时限",
    "total": "医疗费用总额",
    "in_scope": "政策范围内费用",
    "fund_total": "基金支付",
    "personal_cash": "个人现金支付",
    "deductible": "起付标准",
}
ID_DIGEST = "id_digest"
_DIGEST_BYTES = 10


def id_digest(id_number: str) -> str:
    """A digest of the full 身份证号 (the facts never hold the number itself)."""
    return hashlib.sha256(id_number.strip().upper().encode()).hexdigest()[:16]


def collect(values: Mapping[str, str], printed_text: str) -> dict[str, Any]:
    """The key facts among a form's field values, and which of them the document shows."""
    chosen = {key: values[key] for key in FACT_LABELS if values.get(key)}
    if values.get("id_number"):
        chosen[ID_DIGEST] = id_digest(values["id_number"])
    flat = _flat(printed_text)
    on_paper = [key for key in FACT_LABELS if key in chosen and _shows(flat, chosen[key])]
    if values.get("id_number") and _flat(values["id_number"]) in flat:
        on_paper.append(ID_DIGEST)
    return {"values": chosen, "on_paper": on_paper}


def digest(kind: str, number: str, facts: Mapping[str, Any]) -> str:
    """The digest the QR signs: kind, number and the facts' values, canonically."""
    canonical = json.dumps(
        {"kind": kind, "number": number, "facts": dict(facts["values"])},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    raw = hashlib.sha256(canonical.encode()).digest()[:_DIGEST_BYTES]
    return base64.b32encode(raw).decode().rstrip("=")


def keep(
    db: Database,
    office_code: str,
    kind: str,
    number: str,
    facts: Mapping[str, Any],
    printed_on: date,
) -> str:
    """Record the facts under their digest (once per distinct content); returns the digest."""
    from sqlalchemy.exc import IntegrityError

    from counter_app.storage.models import PrintedFacts

    code = digest(kind, number, facts)
    if find(db, kind, number, code) is not None:
        return code
    try:
        with db.write() as session:
            session.add(
                PrintedFacts(
                    office_code=office_code,
                    kind=kind,
                    number=number,
                    digest=code,
                    facts=dict(facts),
                    printed_on=printed_on,
                )
            )
    except IntegrityError:
        pass  # another window printed the same content at the same moment
    return code


def find(db: Database, kind: str, number: str, code: str) -> PrintedFacts | None:
    """The facts printed under ``code`` (the first time that content was printed)."""
    from sqlmodel import select

    from counter_app.storage.models import PrintedFacts

    with db.read() as session:
        return session.exec(
            select(PrintedFacts).where(
                PrintedFacts.kind == kind,
                PrintedFacts.number == number,
                PrintedFacts.digest == code,
            )
        ).first()


def changes(printed: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The facts that differ between the print and the record now, as "label X → Y"."""
    out = []
    for key, label in FACT_LABELS.items():
        before, after = printed.get(key, ""), now.get(key, "")
        if before != after:
            out.append(f"{label} {before or '（空）'} → {after or '（空）'}")
    return out


def describe(values: Mapping[str, str]) -> str:
    """The facts as one line for the clerk (the 身份证号 masked)."""
    return "，".join(f"{FACT_LABELS[k]} {values[k]}" for k in FACT_LABELS if values.get(k))


def _flat(text: str) -> str:
    """Text with every space removed (PDF extraction breaks lines and spaces CJK freely)."""
    return re.sub(r"\s+", "", text)


def _shows(flat: str, value: str) -> bool:
    """Whether ``value`` stands in the text as itself (1234.50 is not shown by 91234.50)."""
    pattern = re.escape(_flat(value))
    if value[:1].isdigit():
        pattern = r"(?<![\d.])" + pattern
    if value[-1:].isdigit():
        pattern += r"(?![\d.]?\d)"
    return re.search(pattern, flat) is not None


def missing_on_paper(facts: Mapping[str, Any], paper_text: str) -> list[str]:
    """The printed facts that a document's text does not show (altered or removed)."""
    values = facts["values"]
    flat = _flat(paper_text)
    missing = []
    for key in facts.get("on_paper", []):
        if key == ID_DIGEST:
            candidates = re.findall(r"\d{17}[\dXx]", flat)
            if not any(id_digest(c) == values[ID_DIGEST] for c in candidates):
                missing.append("身份证号")
        elif not _shows(flat, values[key]):
            missing.append(f"{FACT_LABELS[key]} {values[key]}")
    return missing
