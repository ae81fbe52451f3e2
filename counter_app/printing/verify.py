"""Checking a scanned QR payload: is it genuine, what did the paper say, what does the record say.

A genuine signature vouches for the facts as printed (``printing.facts``), not for the record
as it is now: the answer shows both ("打印于 2026-11-02 时为 有效；现为 已取消"), so a record
that moved on since printing is not called a forgery, and the clerk compares the printed facts
with the paper. Given the document's text as well (``paper_text``: a PDF or a typed copy), the
printed facts are checked against it, and an altered figure fails. A filing's answer also
says what the filing is on the business day (``domain.status``: 已过期 / 已取消 … with the
dates), so an old 备案回执 of an ended filing is not taken for a current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlmodel import select

from counter_app.domain.claim_lifecycle import ClaimStatus
from counter_app.domain.status import STANDING
from counter_app.printing import facts as printed_facts
from counter_app.printing.forms import CLAIM_KINDS, DOCUMENT_KINDS, FILING_KINDS, FormError
from counter_app.printing.qr import Payload, genuine, office_key, parse
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing, Person


@dataclass(frozen=True)
class Verification:
    """The answer for the clerk; ``person_id`` opens the record when it is known here.

    ``printed`` are the facts as printed (empty when this database has no record of the print),
    ``current`` the same facts from the record now, ``changes`` how they differ.
    """

    genuine: bool
    message: str
    kind: str = ""
    number: str = ""
    person_id: int | None = None
    printed: dict[str, str] = field(default_factory=dict)
    printed_on: date | None = None
    current: dict[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    #: A filing's status on the business day (``FilingStatus`` value), "" for other records.
    filing_status: str = ""

    @property
    def standing(self) -> bool:
        """Genuine, and (for a filing) the filing still stands today."""
        return self.genuine and self.filing_status in ("", *STANDING)


def _current_facts(
    db: Database,
    payload: Payload,
    key: str | None,
    today: date,
    forms_dir: Path | None,
    pack_file: Path | None = None,
) -> dict[str, str]:
    """The key facts the same document would print now (nothing is recorded)."""
    from counter_app.printing.sources import NotFound, PrintContext, build, load_record

    context = PrintContext(db, today, key, forms_dir, keep_facts=False, pack_file=pack_file)
    try:
        record = load_record(db, payload.kind, payload.number, pack_file)
        document = build(payload.kind, record, context)
    except (NotFound, FormError):
        return {}
    return dict(document.facts.get("values", {}))


def verify_payload(
    db: Database,
    text: str,
    configured_key: str | None = None,
    *,
    today: date | None = None,
    forms_dir: Path | None = None,
    paper_text: str | None = None,
    pack_file: Path | None = None,
) -> Verification:
    """Check the signature with the issuing office's key, then the printed facts and the record;
    with ``today`` (the business day) a filing's answer says its status on that day."""
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
            detail = f"参保人 {person.name}，报销状态 {ClaimStatus.label_of(claim.status)}"
    verdict = "真实有效" if status in ("", *STANDING) else "真实（备案已不在有效期内）"
    head = f"{verdict}：{name}，编号 {payload.number}，经办机构 {payload.office_code}；{detail}"
    if payload.legacy:
        legacy = Verification(
            paper_text is None,
            head + "。旧版二维码只证明编号，不证明纸面内容，请与记录逐项核对"
            if paper_text is None
            else f"旧版二维码不记载打印内容，无法核对此{name}的纸面内容，请与记录逐项核对",
            payload.kind,
            payload.number,
            person_id,
        )
        return replace(legacy, filing_status=status)
    answer = _with_facts(
        db, payload, head, person_id, configured_key, today, forms_dir, paper_text, pack_file
    )
    return replace(answer, filing_status=status)


def _with_facts(
    db: Database,
    payload: Payload,
    head: str,
    person_id: int | None,
    configured_key: str | None,
    today: date | None,
    forms_dir: Path | None,
    paper_text: str | None,
    pack_file: Path | None = None,
) -> Verification:
    """The printed facts beside the record's; against the paper when its text is given."""
    name = DOCUMENT_KINDS[payload.kind]
    kept = printed_facts.find(db, payload.kind, payload.number, payload.digest)
    if kept is None:
        return Verification(
            paper_text is None,
            f"{head}。签名真实，但本数据库没有这次打印的内容记录（可能由其他终端打印），"
            "请与记录逐项核对纸面内容",
            payload.kind,
            payload.number,
            person_id,
        )
    printed = dict(kept.facts["values"])
    on = today or date.today()
    current = _current_facts(db, payload, configured_key, on, forms_dir, pack_file)
    changes = tuple(printed_facts.changes(printed, current)) if current else ()
    status_then = printed.get("status_label", "")
    lines = [head]
    if current:
        status_now = current.get("status_label", "")
        lines.append(f"打印于 {kept.printed_on} 时为 {status_then}；现为 {status_now}")
    else:
        lines.append(f"打印于 {kept.printed_on} 时为 {status_then}；记录现已不在本数据库")
    lines.append(f"打印内容：{printed_facts.describe(printed)}（请与纸面逐项核对）")
    if changes:
        lines.append("打印后记录有变化（不是伪造，以现记录为准）：" + "；".join(changes))
    if paper_text is not None:
        missing = printed_facts.missing_on_paper(kept.facts, paper_text)
        if missing:
            return Verification(
                False,
                f"纸面内容与二维码签名不符：此{name}（编号 {payload.number}）被改动过，"
                f"打印时的 {'、'.join(missing)} 在纸面上找不到",
                payload.kind,
                payload.number,
                None,
                printed,
                kept.printed_on,
                current,
                changes,
            )
        lines.append("纸面内容与打印时一致")
    return Verification(
        True,
        "\n".join(lines),
        payload.kind,
        payload.number,
        person_id,
        printed,
        kept.printed_on,
        current,
        changes,
    )
