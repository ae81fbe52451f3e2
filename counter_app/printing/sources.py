"""Where a document's data comes from: the one record → document path.

A document is built from a *document source*: the stored record as a plain mapping (a filing
with its person, office and the clerk of the last step; a claim with its person, office, lines
and clerk — ``claim_record``, the same mapping the claim screens show) completed with what the
office's policy pack says about it (its home pool, the articles it cites, whether the claim
deadline is still the pack's example). The pack is the office's own ``pack_file`` when it has one
for the record's region, else the shipped pack. The print queue, the command line, the QR check
and the claim screens' previews all build their ``Document`` through here (``build_checked``,
``preview``), so screen and paper cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from counter_app.domain.claim_lifecycle import RETURNED
from counter_app.domain.errors import CounterError
from counter_app.domain.idnumber import mask_id
from counter_app.domain.status import FilingAction, FilingStatus
from counter_app.printing import facts as printed_facts
from counter_app.printing import gate
from counter_app.printing.build import claim_document, filing_document
from counter_app.printing.document import Document, Line
from counter_app.printing.forms import CLAIM_KINDS, DOCUMENT_KINDS, FILING_KINDS, load_form
from counter_app.printing.qr import office_key, sign
from counter_app.settings import business_date
from counter_app.storage.claims import ClaimView, read_claim
from counter_app.storage.db import Database
from counter_app.storage.models import (
    Clerk,
    Filing,
    FilingHistory,
    FilingMaterial,
    Office,
    Person,
    PrintJob,
)

COMMITMENT_MATERIAL = gate.COMMITMENT_MATERIAL
#: The office's zone for the business date of a print (the 补打 mark names the original day).
OFFICE_ZONE = "Asia/Shanghai"

if TYPE_CHECKING:
    from counter_app.domain.policy import PolicyPack
    from counter_app.settings import Settings

DocumentSource = dict[str, Any]
"""A stored record as its documents are built from (``load_filing``, ``load_claim``)."""

Loader = Callable[..., DocumentSource | None]
"""(database, number, pack_file=...) → the document source, or ``None`` for no such record."""


class NotFound(CounterError, LookupError):
    """No record with that number."""


@dataclass(frozen=True)
class PrintContext:
    """What building a document needs besides the record."""

    db: Database
    today: date
    qr_key: str | None = None
    forms_dir: Path | None = None
    #: Record the printed facts (``printed_facts``); off when only comparing with the record.
    keep_facts: bool = True
    #: The office's own policy pack (``Settings.pack_file``); ``None``: the shipped packs.
    pack_file: Path | None = None


def print_context(db: Database, settings: Settings, *, keep_facts: bool = True) -> PrintContext:
    """The context of a print (or a preview) in this office: its business date, its QR key, its
    own forms folder and its own policy pack."""
    key = settings.qr_key.get_secret_value() if settings.qr_key else None
    return PrintContext(
        db,
        settings.current_date(),
        key,
        settings.forms_dir,
        keep_facts=keep_facts,
        pack_file=settings.pack_file,
    )


def office_pack(policy: str, pack_file: Path | None = None) -> PolicyPack:
    """The pack a record of ``policy`` is printed under: the office's own ``pack_file`` when it
    is a pack of that region, else the shipped one."""
    from counter_app.packs import shipped_pack

    if pack_file is not None:
        path = Path(pack_file)
        own = _own_pack(path, path.stat().st_mtime_ns if path.exists() else 0)
        if own.pack.id == policy:
            return own
    return shipped_pack(policy)


@functools.lru_cache(maxsize=8)
def _own_pack(path: Path, mtime_ns: int) -> PolicyPack:
    """An office's pack file, read again when it changes (``mtime_ns`` is the cache key)."""
    from counter_app.packs import load_pack

    return load_pack(path)


def load_filing(
    db: Database, number: str, today: date | None = None, *, pack_file: Path | None = None
) -> DocumentSource | None:
    """A stored filing as the mapping the filing documents are built from (the category's
    label and the home pool from the office's pack)."""
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
        materials = list(
            session.exec(
                select(FilingMaterial.material_id).where(FilingMaterial.filing_id == filing.id)
            ).all()
        )
    assert person is not None and office is not None
    pack = office_pack(filing.policy, pack_file)
    category = pack.filing.categories.get(filing.category)  # type: ignore[call-overload]
    regions = load_region_table()
    province, city = "", filing.destination_name
    if filing.destination_code in regions:
        destination = regions.normalise(filing.destination_code)
        province = destination.province_name
        city = destination.name if destination.level == "city" else destination.province_name
    snapshot = step.snapshot if step else {}
    action = step.action if step else FilingAction.NEW
    if filing.status == FilingStatus.CANCELLED:
        action = FilingAction.CANCEL
    elif step and snapshot.get("action") == FilingAction.CHANGE:
        action = FilingAction.CHANGE
    return {
        "number": filing.number,
        "policy": filing.policy,
        "status": filing.status,
        "action": action,
        "category": filing.category,
        "category_label": category.label if category else filing.category,
        "basis": filing.basis,
        "materials": materials,
        "commitment_ticks": _commitment_ticks(filing.policy, filing.category),
        "insurance": filing.insurance,
        "scope": filing.scope,
        "destination_name": filing.destination_name,
        "dest_province": province,
        "dest_city": city,
        "valid_from": filing.valid_from,
        "valid_until": filing.valid_until,
        "followup_due": filing.followup_due,
        "followup_done_on": filing.followup_done_on,
        "home_pool": pack.pack.home_pool_name,
        "person": {
            "name": person.name,
            "sex": person.sex,
            "id_number": person.id_number,
            "phone": person.phone,
            "phone2": person.phone2,
            "address": person.address,
            "remote_address": person.remote_address,
            "card_number": person.card_number,
        },
        "office": _office(office),
        "clerk_name": clerk.display_name if clerk else "",
        # The office's business date of the step (not the UTC date of its timestamp).
        "handled_on": _business_date(step, filing),
        "today": today or business_date(),
    }


def _office(office: Office) -> dict[str, str]:
    """The office as every document names it (its line at the foot of a form)."""
    return {
        "code": office.code,
        "name": office.name,
        "phone": office.phone,
        "address": office.address,
        "hours": office.hours,
    }


def _commitment_ticks(policy: str, category: str) -> bool:
    """Whether the region's 承诺书 has a box for the category (else it would print unticked)."""
    options = load_form("commitment", policy).choices.get("person_category", [])
    return any(category == o[0] or category in (o[2] if len(o) > 2 else ()) for o in options)


def filing_documents(db: Database, number: str) -> list[str]:
    """The documents a filing may print now (``gate``): the form and the receipt, and the
    承诺书 when the filing rests on one."""
    record = load_filing(db, number)
    return gate.allowed(record) if record is not None else []


def claim_record(view: ClaimView, *, personal: bool = False) -> DocumentSource:
    """What a claim's documents are rendered from: the screen's 一次性告知书 and 受理回执
    (personal numbers masked) and, with ``personal``, the printed forms, whose official
    layouts (结算单, 外伤承诺书) carry the full 身份证号, sex, phone and address."""
    claim, person, office = view.claim, view.person, view.office
    shown: dict[str, Any] = {"name": person.name, "id_masked": mask_id(person.id_number)}
    if personal:
        shown |= {
            "id_number": person.id_number,
            "sex": person.sex,
            "phone": person.phone,
            "address": person.address,
        }
    return {
        "number": claim.number,
        "status": claim.status,
        "person": shown,
        "request": claim.request,
        "result": claim.result,
        "accepted_on": claim.accepted_on.isoformat() if claim.accepted_on else None,
        "due_date": claim.due_date.isoformat() if claim.due_date else None,
        "office": _office(office),
        "return_reason": claim.return_reason,
        "hospital": claim.hospital or {},
        "clerk_name": view.clerk_name,
    }


def with_pack(claim: Mapping[str, Any], pack: PolicyPack) -> DocumentSource:
    """A claim mapping completed from its pack (values already there are kept): the home pool,
    the region's own documents (cited without 示例) and whether the due date rests on the
    pack's example deadline."""
    out = dict(claim)
    out.setdefault("home_pool", pack.pack.home_pool_name)
    out.setdefault("own_articles", tuple(d.cite_as for d in pack.pack.documents))
    deadline = pack.claim.deadline
    due = (out.get("result") or {}).get("due") or {}
    # The shipped example value still in use (not the office's own deadline and basis).
    out.setdefault("due_example", deadline.example and due.get("citation") == deadline.citation)
    return out


def load_claim(
    db: Database, number: str, *, pack_file: Path | None = None
) -> DocumentSource | None:
    """A stored claim as the mapping the claim documents are built from (full 身份证号: the
    official slip and 承诺书 print it), completed from the office's pack."""
    view = read_claim(db, number)
    if view is None:
        return None
    source = claim_record(view, personal=True)
    person = view.person
    source["person"] = {
        **source["person"],
        "phone2": person.phone2,
        "card_number": person.card_number,
    }
    returned = [h.at for h in view.history if h.to_status == RETURNED]
    source["returned_on"] = _local_day(returned[-1]).isoformat() if returned else None
    settled = view.claim.settled_on
    source["settled_on"] = settled.isoformat() if settled else None
    return with_pack(source, office_pack(view.claim.policy, pack_file))


def claim_documents(source: Mapping[str, Any], db: Database | None = None) -> list[str]:
    """The documents a claim may print now (``gate``), its state's first; with ``db`` also the
    earlier states' documents found in the print history (as 补打)."""
    printed = print_history(db, source["number"]) if db is not None else {}
    return gate.allowed(source, printed)


def _local_day(at: datetime) -> date:
    try:
        from zoneinfo import ZoneInfo

        zone: Any = ZoneInfo(OFFICE_ZONE)
    except (ImportError, KeyError, OSError):  # no zone data: the UTC date
        zone = UTC
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone).date()


def print_history(db: Database, number: str) -> dict[str, date]:
    """Each kind printed for this record (a job that went out), with the day it first did."""
    with db.read() as session:
        rows = session.exec(
            select(PrintJob.kind, PrintJob.created_at)
            .where(PrintJob.number == number, PrintJob.status == "done")
            .order_by(col(PrintJob.id))
        ).all()
    first: dict[str, date] = {}
    for kind, at in rows:
        first.setdefault(kind, _local_day(at))
    return first


_LOADERS: dict[str, Loader] = {
    **dict.fromkeys(FILING_KINDS, load_filing),
    **dict.fromkeys(CLAIM_KINDS, load_claim),
}


def load_record(
    db: Database, kind: str, number: str, pack_file: Path | None = None
) -> DocumentSource:
    """The record a document of ``kind`` is built from (with the office's pack ``pack_file``);
    ``NotFound`` with a Chinese message."""
    if kind not in DOCUMENT_KINDS:
        raise NotFound(f"没有这种文书：{kind}（可选：{'、'.join(DOCUMENT_KINDS)}）")
    record = _LOADERS[kind](db, number, pack_file=pack_file)
    if record is None:
        what = "备案" if kind in FILING_KINDS else "报销"
        raise NotFound(f"没有编号为 {number} 的{what}记录")
    return record


def check(
    db: Database, kind: str, number: str, pack_file: Path | None = None
) -> tuple[DocumentSource, gate.Verdict]:
    """The record and the gate's verdict on printing ``kind`` of it now; ``NotFound`` for no
    such record, ``gate.NotPrintable`` (with the reason) when its state does not allow it."""
    record = load_record(db, kind, number, pack_file)
    printed = print_history(db, number) if kind in CLAIM_KINDS else {}
    verdict = gate.verdict(kind, record, printed)
    if not verdict.allowed:
        raise gate.NotPrintable(verdict.reason)
    return record, verdict


def _business_date(step: FilingHistory | None, filing: Filing) -> date:
    """The business date a filing step was recorded on (its snapshot's ``today``)."""
    today = (step.snapshot or {}).get("today") if step else None
    if isinstance(today, str):
        return date.fromisoformat(today)
    return (step.at if step else filing.created_at).date()


def build_checked(kind: str, number: str, context: PrintContext) -> Document:
    """The gate, then the document (marked 补打 with its original date when it is a reprint
    of an earlier state's document). The print queue and the command line print through this."""
    record, verdict = check(context.db, kind, number, context.pack_file)
    if verdict.reprint_of is None:
        return build(kind, record, context)
    original = replace(context, today=verdict.reprint_of)
    document = build(kind, record, original)
    mark = Line(f"补打（原件出具日期：{verdict.reprint_of.isoformat()}）", "right")
    return replace(document, blocks=(mark, *document.blocks))


def preview(kind: str, number: str, context: PrintContext) -> Document:
    """The document exactly as ``build_checked`` gives it to the printer now, for a screen to
    show: same record, pack, forms, gate and date; only the printed facts are not recorded."""
    return build_checked(kind, number, replace(context, keep_facts=False))


def build(kind: str, record: Mapping[str, Any], context: PrintContext) -> Document:
    """The document of ``kind`` for a record, signed with the record's office key (no gate:
    ``build_checked`` is the printing path)."""

    def signer(doc_kind: str, number: str, office_code: str, facts: Mapping[str, Any]) -> str:
        key = office_key(context.db, office_code, context.qr_key)
        if key is None:
            raise NotFound(f"本数据库中没有经办机构 {office_code}，无法签发二维码")
        if context.keep_facts:
            code = printed_facts.keep(
                context.db, office_code, doc_kind, number, facts, context.today
            )
        else:
            code = printed_facts.digest(doc_kind, number, facts)
        return sign(key, doc_kind, number, office_code, code)

    if kind in CLAIM_KINDS:
        claim = with_pack(record, office_pack(record["request"]["policy"], context.pack_file))
        claim["request"] = {"today": context.today.isoformat(), **claim["request"]}
        return claim_document(kind, claim, signer, context.forms_dir)
    return filing_document(kind, {**record, "today": context.today}, signer, context.forms_dir)
