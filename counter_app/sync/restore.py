"""An office database restored from a backup: continue above the store, and take back what it lost.

After a restore the database has forgotten the events, filings and claims it made after the
backup, but the provincial store holds them. Left alone, the next events reuse their sequence
numbers (``seq_conflict`` for ever) and the next documents their numbers. ``align`` (every sync,
from ``/v1/hello``) sets a floor under the event sequence and under each day's document numbers,
and renumbers the events written since the restore that collide; ``recover`` (``counter-app sync
recover``) fetches the office's own events the database lacks and rebuilds from them the filings
and claims they describe, each one audited, and lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, delete, func, select

from counter_app.domain.idnumber import mask_id
from counter_app.domain.status import FilingStatus
from counter_app.storage.claims import CLAIM_PREFIX
from counter_app.storage.db import Database
from counter_app.storage.filings import FILING_PREFIX
from counter_app.storage.models import (
    Claim,
    ClaimHistory,
    Clerk,
    Filing,
    FilingHistory,
    NumberSequence,
    Office,
    OutboxEvent,
    Person,
    utcnow,
)
from counter_app.storage.records import SEQ_FLOOR, audit, lock_office
from counter_app.storage.sync_models import SyncCursor, SyncEventState
from counter_app.sync import protocol

#: Document number prefixes and the ``NumberSequence`` kind each belongs to.
PREFIX_KINDS = {FILING_PREFIX: "filing", CLAIM_PREFIX: "claim"}


@dataclass
class Alignment:
    """What ``align`` found and did."""

    lost: int = 0
    renumbered: int = 0
    next_seq: int = 0
    numbers: list[str] = field(default_factory=list)

    @property
    def restored(self) -> bool:
        """Whether the database looks restored from a backup (the store holds more)."""
        return self.lost > 0

    def message(self) -> str:
        """The clerk's explanation (empty when nothing happened)."""
        if not self.restored:
            return ""
        parts = [
            f"省平台有本机构 {self.lost} 个事件是本数据库没有的（数据库可能从备份恢复过）",
            f"新的事件序号从 {self.next_seq} 起接续省平台",
        ]
        if self.numbers:
            parts.append("文书编号接续省平台已有的：" + "、".join(self.numbers))
        if self.renumbered:
            parts.append(f"恢复后新办的 {self.renumbered} 个待上传事件已改用新序号")
        parts.append("运行 counter-app sync recover 可从省平台取回这些备案与报销记录")
        return "；".join(parts)


def _bump_numbers(session: Session, office: Office, numbers: list[dict[str, Any]]) -> list[str]:
    bumped = []
    for entry in numbers:
        kind = PREFIX_KINDS.get(str(entry.get("prefix")))
        try:
            day = datetime.strptime(str(entry.get("day")), "%Y%m%d").date()
            last = int(entry.get("last", 0))
        except (TypeError, ValueError):
            continue
        if kind is None or office.id is None:
            continue
        row = session.get(NumberSequence, (office.id, kind, day)) or NumberSequence(
            office_id=office.id, kind=kind, day=day, last=0
        )
        if row.last < last:
            row.last = last
            session.add(row)
            bumped.append(f"{entry['prefix']}{office.code}{day:%Y%m%d}{last + 1:04d}")
    return bumped


def _floor(session: Session, value: int) -> int:
    cursor = session.get(SyncCursor, SEQ_FLOOR) or SyncCursor(name=SEQ_FLOOR, value=0)
    cursor.value = max(cursor.value, value)
    session.add(cursor)
    return cursor.value


def align(
    db: Database,
    office: Office,
    store_max: int,
    theirs: list[dict[str, Any]],
    numbers: list[dict[str, Any]],
) -> Alignment:
    """Continue above what the store holds: ``theirs`` are its events after our last sent one."""
    outcome = Alignment()
    with db.write() as session:
        if office.id is not None:  # no window may number an event or a document meanwhile
            lock_office(session, office.id)
        local = dict(
            session.exec(
                select(OutboxEvent.id, OutboxEvent.seq).where(OutboxEvent.office_id == office.id)
            ).all()
        )
        lost = [e for e in theirs if e.get("id") not in local]
        outcome.lost = len(lost)
        if not lost:
            return outcome
        taken = {e["seq"]: e["id"] for e in theirs}
        top = max(store_max, max(local.values(), default=0))
        _floor(session, store_max)
        refused_conflicts = set(
            session.exec(
                select(SyncEventState.event_id).where(SyncEventState.code == "seq_conflict")
            ).all()
        )
        colliding = session.exec(
            select(OutboxEvent)
            .where(
                OutboxEvent.office_id == office.id,
                col(OutboxEvent.sent_at).is_(None),
                col(OutboxEvent.seq).in_(list(taken)),
            )
            .order_by(col(OutboxEvent.seq))
        ).all()
        for event in colliding:
            if taken[event.seq] == event.id:
                continue
            top += 1
            audit(session, None, "sync_renumber", "outbox_event", event.id, old=event.seq, new=top)
            event.seq = top
            session.add(event)
            outcome.renumbered += 1
        if refused_conflicts:
            # Refused earlier as seq_conflict because of the restore: with a new number they go.
            session.execute(
                delete(SyncEventState).where(
                    col(SyncEventState.event_id).in_(
                        [e.id for e in colliding if e.id in refused_conflicts]
                    )
                )
            )
        outcome.next_seq = top + 1
        outcome.numbers = _bump_numbers(session, office, numbers)
        audit(
            session,
            None,
            "sync_restore_detected",
            "office",
            office.code,
            lost=outcome.lost,
            store_max=store_max,
            renumbered=outcome.renumbered,
        )
    return outcome


# -- recovery ---------------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        return None


def _clerk(session: Session, office: Office, raw: Any) -> int:
    """The event's clerk; one the backup never knew is kept as a disabled placeholder."""
    try:
        clerk_id = int(raw)
    except (TypeError, ValueError):
        clerk_id = 0
    if clerk_id > 0 and session.get(Clerk, clerk_id) is not None:
        return clerk_id
    placeholder = Clerk(
        id=clerk_id if clerk_id > 0 else None,
        office_id=office.id,  # type: ignore[arg-type]
        username=f"restored-{clerk_id}",
        display_name=f"（从省平台恢复的经办人 {clerk_id}）",
        password_hash="!",
        active=False,
    )
    session.add(placeholder)
    session.flush()
    assert placeholder.id is not None
    return placeholder.id


def _person(session: Session, data: Any, insurance: str) -> Person:
    from counter_app.pinyin import pinyin_keys

    data = data if isinstance(data, dict) else {}
    id_number, name = str(data.get("id_number", "")), str(data.get("name", ""))
    person = session.exec(select(Person).where(Person.id_number == id_number)).first()
    if person is None:
        full, initials = pinyin_keys(name)
        person = Person(
            id_number=id_number,
            name=name,
            name_pinyin=full,
            name_initials=initials,
            insurance=insurance or "employee",
        )
        session.add(person)
        session.flush()
    return person


def _filing(session: Session, office: Office, clerk_id: int, event: dict[str, Any]) -> str:
    from counter_app.regions_data import load_region_table

    p = event["payload"]
    person = _person(session, p.get("person"), str(p.get("insurance", "")))
    filing = session.exec(select(Filing).where(Filing.number == p.get("number"))).first()
    destination = str(p.get("destination", ""))[:6]
    region = load_region_table().get(destination)
    values: dict[str, Any] = {
        "category": str(p.get("category", "")),
        "scope": str(p.get("scope", "")),
        "insurance": str(p.get("insurance", "")),
        "destination_code": destination,
        "destination_name": region.full_name if region else destination,
        "basis": str(p.get("basis", "materials")),
        "valid_from": _day(p.get("valid_from")) or utcnow().date(),
        "valid_until": _day(p.get("valid_until")),
        "status": str(p.get("status", FilingStatus.ACTIVE)),
        "version": int(p.get("version", 1)) if isinstance(p.get("version"), int) else 1,
    }
    if filing is None:
        filing = Filing(
            number=str(p.get("number")),
            person_id=person.id,  # type: ignore[arg-type]
            office_id=office.id,  # type: ignore[arg-type]
            policy=office.policy,
            created_by=clerk_id,
            **values,
        )
    else:
        for key, value in values.items():
            setattr(filing, key, value)
    session.add(filing)
    session.flush()
    for number in p.get("supersedes") or []:
        old = session.exec(select(Filing).where(Filing.number == number)).first()
        if old is not None and old.status == FilingStatus.ACTIVE:
            old.status = FilingStatus.SUPERSEDED
            session.add(old)
    session.add(
        FilingHistory(
            filing_id=filing.id,  # type: ignore[arg-type]
            action=str(p.get("action", event["kind"].split(".")[-1])),
            snapshot={**p, "restored_from_store": True},
            clerk_id=clerk_id,
        )
    )
    return f"备案 {filing.number} {person.name} {mask_id(person.id_number)} {filing.status}"


def _claim(session: Session, office: Office, clerk_id: int, event: dict[str, Any]) -> str:
    p = event["payload"]
    person = _person(session, p.get("person"), "")
    claim = session.exec(select(Claim).where(Claim.number == p.get("number"))).first()
    from_status = claim.status if claim else ""
    if claim is None:
        claim = Claim(
            number=str(p.get("number")),
            person_id=person.id,  # type: ignore[arg-type]
            office_id=office.id,  # type: ignore[arg-type]
            policy=office.policy,
            treatment=str(p.get("treatment", "")),
            request={"restored_from_store": True},
            result={},
            created_by=clerk_id,
        )
    claim.status = str(p.get("status", claim.status))
    claim.case, claim.treatment = p.get("case"), str(p.get("treatment", claim.treatment))
    claim.return_reason = str(p.get("return_reason") or "")
    claim.accepted_on, claim.due_date = _day(p.get("accepted_on")), _day(p.get("due_date"))
    claim.total, claim.fund_total = _money(p.get("total")), _money(p.get("fund_total"))
    claim.personal_cash = _money(p.get("personal_cash"))
    claim.result = {
        **claim.result,
        "missing": p.get("missing", []),
        "payment": {"funds": p.get("funds", [])},
    }
    if isinstance(p.get("version"), int):
        claim.version = p["version"]
    session.add(claim)
    session.flush()
    session.add(
        ClaimHistory(
            claim_id=claim.id,  # type: ignore[arg-type]
            action=str(p.get("action", "restore")),
            from_status=from_status,
            to_status=claim.status,
            note="从省平台恢复",
            clerk_id=clerk_id,
        )
    )
    return f"报销 {claim.number} {person.name} {mask_id(person.id_number)} {claim.status}"


def take_back(db: Database, office: Office, lost: list[dict[str, Any]]) -> list[str]:
    """Put the office's own events the database lacks back, with the records they describe.

    One transaction: the events (marked sent, as the store holds them), the filings and claims
    rebuilt from them in sequence order, the numbering floors, an audit entry per record. Returns
    one line per restored record (and per event of another kind).
    """
    lines: list[str] = []
    now = utcnow()
    with db.write() as session:
        local = set(
            session.exec(select(OutboxEvent.id).where(OutboxEvent.office_id == office.id)).all()
        )
        used = set(
            session.exec(select(OutboxEvent.seq).where(OutboxEvent.office_id == office.id)).all()
        )
        numbers: dict[tuple[str, str], int] = {}
        for event in sorted(lost, key=lambda e: e["seq"]):
            if event["id"] in local:
                continue
            if event["seq"] in used:  # cannot happen after align; said rather than dropped
                lines.append(f"事件 #{event['seq']} {event['kind']} 未恢复：序号已被本数据库占用")
                continue
            clerk_id = _clerk(session, office, event.get("clerk"))
            session.add(
                OutboxEvent(
                    id=event["id"],
                    office_id=office.id,  # type: ignore[arg-type]
                    seq=event["seq"],
                    clerk_id=clerk_id,
                    kind=event["kind"],
                    payload=event["payload"],
                    sent_at=now,
                )
            )
            kind = event["kind"]
            if kind in protocol.FILING_KINDS:
                line = _filing(session, office, clerk_id, event)
            elif kind.startswith("claim.") and event["payload"].get("number"):
                line = _claim(session, office, clerk_id, event)
            else:
                line = f"事件 #{event['seq']} {kind}"
            audit(session, None, "sync_recover", "outbox_event", event["id"], line=line)
            lines.append(line)
            number = str(event["payload"].get("number", ""))
            for prefix in PREFIX_KINDS:
                rest = number.removeprefix(prefix + office.code)
                if number.startswith(prefix) and rest != number and rest[:8].isdigit():
                    key = (prefix, rest[:8])
                    numbers[key] = max(numbers.get(key, 0), int(rest[8:] or 0))
        top = session.exec(
            select(func.max(OutboxEvent.seq)).where(OutboxEvent.office_id == office.id)
        ).one()
        _floor(session, top or 0)
        _bump_numbers(
            session,
            office,
            [{"prefix": p, "day": d, "last": n} for (p, d), n in numbers.items()],
        )
    return lines
