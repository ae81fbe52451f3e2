"""Where a document's data comes from, by kind: the loaders the print queue and the CLI use.

Filing documents read the stored filing (with its person, office and the clerk of the last
step); claim documents read the stored claim through ``ClaimView.document_source``, the same
mapping the claim screens show their documents from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from counter_app.printing.build import claim_document, filing_document
from counter_app.printing.document import Document
from counter_app.printing.forms import CLAIM_KINDS, DOCUMENT_KINDS, FILING_KINDS
from counter_app.printing.qr import office_key, sign
from counter_app.storage.claims import ACCEPTED, PENDING, REVIEWING, SETTLED, read_claim
from counter_app.storage.db import Database
from counter_app.storage.models import (
    Clerk,
    Filing,
    FilingHistory,
    FilingMaterial,
    Office,
    Person,
)

COMMITMENT_MATERIAL = "commitment_letter"

Loader = Callable[[Database, str], Mapping[str, Any] | None]
"""(database, number) → the record mapping, or ``None`` when there is no such record."""


class NotFound(LookupError):
    """No record with that number."""


@dataclass(frozen=True)
class PrintContext:
    """What building a document needs besides the record."""

    db: Database
    today: date
    qr_key: str | None = None
    forms_dir: Path | None = None


def load_filing(db: Database, number: str, today: date | None = None) -> dict[str, Any] | None:
    """A stored filing as the mapping the filing documents are built from."""
    from counter_app.packs import shipped_pack
    from counter_app.regions_data import load_region_table

    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.number == number)).first()
        if filing is None:
            return None
        person = session.get(Person, filing.person_id)
        office = session.get(Office, filing.office_id)
        step = session.exec(
            select(FilingHistory)
            .where(FilingHistory.filing_id == filing.id)
            .order_by(col(FilingHistory.id).desc())
        ).first()
        clerk = session.get(Clerk, step.clerk_id if step else filing.created_by)
    assert person is not None and office is not None
    pack = shipped_pack(filing.policy)
    category = pack.filing.categories.get(filing.category)  # type: ignore[call-overload]
    regions = load_region_table()
    province, city = "", filing.destination_name
    if filing.destination_code in regions:
        destination = regions.normalise(filing.destination_code)
        province = destination.province_name
        city = destination.name if destination.level == "city" else destination.province_name
    snapshot = step.snapshot if step else {}
    action = step.action if step else "new"
    if filing.status == "cancelled":
        action = "cancel"
    elif step and snapshot.get("action") == "change":
        action = "change"
    return {
        "number": filing.number,
        "policy": filing.policy,
        "status": filing.status,
        "action": action,
        "category": filing.category,
        "category_label": category.label if category else filing.category,
        "insurance": filing.insurance,
        "scope": filing.scope,
        "destination_name": filing.destination_name,
        "dest_province": province,
        "dest_city": city,
        "valid_from": filing.valid_from,
        "valid_until": filing.valid_until,
        "home_pool": pack.pack.home_pool_name,
        "person": {
            "name": person.name,
            "sex": person.sex,
            "id_number": person.id_number,
            "phone": person.phone,
            "address": person.address,
        },
        "office": {
            "code": office.code,
            "name": office.name,
            "phone": office.phone,
            "address": office.address,
            "hours": office.hours,
        },
        "clerk_name": clerk.display_name if clerk else "",
        # The office's business date of the step (not the UTC date of its timestamp).
        "handled_on": _business_date(step, filing),
        "today": today or date.today(),
    }


def filing_documents(db: Database, number: str) -> list[str]:
    """The documents a filing has: the form and the receipt, and the 承诺书 when one was signed
    for it (the filing rests on it, or it is among the materials presented)."""
    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.number == number)).first()
        signed = filing is not None and (
            filing.basis == "commitment"
            or session.exec(
                select(FilingMaterial.id).where(
                    FilingMaterial.filing_id == filing.id,
                    FilingMaterial.material_id == COMMITMENT_MATERIAL,
                )
            ).first()
            is not None
        )
    return [kind for kind in FILING_KINDS if kind != "commitment" or signed]


def load_claim(db: Database, number: str) -> dict[str, Any] | None:
    """A stored claim as the mapping the claim documents are built from (full 身份证号: the
    official slip and 承诺书 print it)."""
    view = read_claim(db, number)
    return view.document_source(personal=True) if view is not None else None


def claim_documents(source: Mapping[str, Any]) -> list[str]:
    """The documents a claim has now, the one its status calls for first: the 一次性告知书
    while materials are missing, the 受理回执 once accepted, the 结算单 once settled (with the
    回执 still at hand); and the 外伤无第三方责任承诺书 when the injury flag is set."""
    status = source["status"]
    kinds = {
        PENDING: ["missing_notice"],
        ACCEPTED: ["claim_receipt"],
        REVIEWING: ["claim_receipt"],
        SETTLED: ["settlement_slip", "claim_receipt"],
    }.get(status, [])
    if (source["request"].get("flags") or {}).get("injury_no_third_party"):
        kinds.append("injury_commitment")
    return kinds


_LOADERS: dict[str, Loader] = {
    **dict.fromkeys(FILING_KINDS, load_filing),
    **dict.fromkeys(CLAIM_KINDS, load_claim),
}


def load_record(db: Database, kind: str, number: str) -> Mapping[str, Any]:
    """The record a document of ``kind`` is built from; ``NotFound`` with a Chinese message."""
    if kind not in DOCUMENT_KINDS:
        raise NotFound(f"没有这种文书：{kind}（可选：{'、'.join(DOCUMENT_KINDS)}）")
    record = _LOADERS[kind](db, number)
    if record is None:
        what = "备案" if kind in FILING_KINDS else "报销"
        raise NotFound(f"没有编号为 {number} 的{what}记录")
    return record


def _business_date(step: FilingHistory | None, filing: Filing) -> date:
    """The business date a filing step was recorded on (its snapshot's ``today``)."""
    today = (step.snapshot or {}).get("today") if step else None
    if isinstance(today, str):
        return date.fromisoformat(today)
    return (step.at if step else filing.created_at).date()


def build(kind: str, record: Mapping[str, Any], context: PrintContext) -> Document:
    """The document of ``kind`` for a record, signed with the record's office key."""

    def signer(doc_kind: str, number: str, office_code: str) -> str:
        key = office_key(context.db, office_code, context.qr_key)
        if key is None:
            raise NotFound(f"本数据库中没有经办机构 {office_code}，无法签发二维码")
        return sign(key, doc_kind, number, office_code)

    if kind in CLAIM_KINDS:
        claim = dict(record)
        if "home_pool" not in claim:
            from counter_app.packs import shipped_pack

            claim["home_pool"] = shipped_pack(claim["request"]["policy"]).pack.home_pool_name
        claim.setdefault("request", {}).setdefault("today", context.today.isoformat())
        return claim_document(kind, claim, signer, context.forms_dir)
    return filing_document(kind, {**record, "today": context.today}, signer, context.forms_dir)
