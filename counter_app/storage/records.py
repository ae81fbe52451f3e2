"""Small helpers every repository uses inside a write transaction: audit, outbox, numbers.

They take the caller's ``Session`` so that the business change, its audit entry and its outbox
event commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, select

from counter_app.storage.models import AuditLog, NumberSequence, Office, OutboxEvent, Person
from counter_app.storage.sync_models import SyncCursor

#: The ``SyncCursor`` row under which the event sequence continues after a restore (sync.restore).
SEQ_FLOOR = "seq_floor"


def lock_person(session: Session, person_id: int) -> Person | None:
    """Serialise writes for one person: the person's row, locked until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE``, so a second transaction for the same person waits here
    and then reads what the first committed. SQLite has no row locks and needs none: a write
    transaction began with ``BEGIN IMMEDIATE`` and holds the whole file's write lock.
    """
    return session.exec(
        select(Person)
        .where(Person.id == person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_key(session: Session, kind: str, key: str) -> None:
    """Serialise writes that look up a row by a unique natural key, then create it if missing.

    Two windows registering the same 身份证号 (or office code, or user name) at once would both
    find nothing and both insert; on PostgreSQL one would then fail on the unique index. A
    transaction-scoped advisory lock on ``kind:key`` makes the second wait and then find the
    first one's row. SQLite needs nothing: the write transaction holds the file's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{kind}:{key}"}
        )


def lock_office(session: Session, office_id: int) -> None:
    """Serialise what is numbered per office: document numbers and the outbox sequence.

    On PostgreSQL two windows' transactions for different persons must not take the same number
    (on SQLite the write lock already orders them): ``SELECT … FOR UPDATE`` on the office's row,
    held until the transaction ends, so numbers are handed out one after another and a rolled
    back transaction gives its number back (no gaps). Taken after any person lock, so the lock
    order is always person → office.
    """
    session.exec(select(Office.id).where(Office.id == office_id).with_for_update()).first()


def audit(
    session: Session,
    clerk_id: int | None,
    action: str,
    entity: str,
    entity_id: object = "",
    **detail: Any,
) -> None:
    """Append an audit entry. ``detail`` must hold masked personal numbers only."""
    session.add(
        AuditLog(
            clerk_id=clerk_id, action=action, entity=entity, entity_id=str(entity_id), detail=detail
        )
    )


def emit(
    session: Session, office_id: int, clerk_id: int, kind: str, payload: dict[str, Any]
) -> str:
    """Write an outbox event with the office's next sequence number; returns its id.

    The number continues above the floor the sync set when the database was restored from a
    backup (the store already holds the numbers issued after the backup).
    """
    lock_office(session, office_id)
    last = session.exec(
        select(func.max(OutboxEvent.seq)).where(OutboxEvent.office_id == office_id)
    ).one()
    floor = session.get(SyncCursor, SEQ_FLOOR)
    last = max(last or 0, floor.value if floor is not None else 0)
    event_id = str(uuid.uuid4())
    session.add(
        OutboxEvent(
            id=event_id,
            office_id=office_id,
            seq=(last or 0) + 1,
            clerk_id=clerk_id,
            kind=kind,
            payload=payload,
        )
    )
    return event_id


def next_number(session: Session, office: Office, kind: str, day: date, prefix: str) -> str:
    """A number unique without asking the server: prefix + office code + date + sequence."""
    assert office.id is not None
    lock_office(session, office.id)
    row = session.get(NumberSequence, (office.id, kind, day))
    if row is None:
        row = NumberSequence(office_id=office.id, kind=kind, day=day, last=0)
    row.last += 1
    session.add(row)
    return f"{prefix}{office.code}{day:%Y%m%d}{row.last:04d}"


def pending_events(session: Session) -> int:
    """How many outbox events have not reached the provincial store."""
    return session.exec(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))  # type: ignore[union-attr]
    ).one()
