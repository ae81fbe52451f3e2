"""The office side of the sync, in the office database: what to send, what came back.

Pending events are outbox rows with no ``sent_at`` and no unresolved refusal. Answers are recorded
in one transaction per batch: accepted or duplicate sets ``sent_at``; rejected keeps the event
unsent with the store's code and message until a clerk resolves it (retry after the conflict was
cleared elsewhere, or dismiss). A lease row keeps two processes from sending at the same time; a
holder that died on this machine is taken over at once, one elsewhere when its lease expires.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, case, type_coerce
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from counter_app.storage.db import Database
from counter_app.storage.models import Office, OutboxEvent, utcnow
from counter_app.storage.records import audit
from counter_app.storage.sync_models import SyncCursor, SyncEventState, SyncLease, SyncRun
from counter_app.sync import protocol

LEASE = "push"
LEASE_SECONDS = 120


@dataclass(frozen=True)
class Problem:
    """A refused event for a clerk to resolve."""

    event_id: str
    seq: int
    kind: str
    code: str
    message: str
    summary: str


@dataclass(frozen=True)
class SyncStatus:
    """What the sync screen and the header show."""

    pending: int
    problems: int
    last_ok_at: datetime | None
    last_error: str


@dataclass
class Tally:
    """Answers counted over a run."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def add(self, other: Tally) -> None:
        """Add another batch's counts."""
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected


def _unresolved() -> Any:
    # Refused (waiting for a clerk) or dismissed: either way not to be sent by itself.
    return select(SyncEventState.event_id)


def wire(event: OutboxEvent, office_code: str) -> dict[str, Any]:
    """An outbox row as it travels (protocol v1)."""
    return {
        "id": event.id,
        "office": office_code,
        "seq": event.seq,
        "clerk": str(event.clerk_id),
        "kind": event.kind,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


def office_of(db: Database) -> Office:
    """The office whose database this is (the first registered)."""
    with db.read() as session:
        office = session.exec(select(Office).order_by(col(Office.id))).first()
    if office is None:
        raise LookupError("本数据库还没有登记经办机构")
    return office


def pending_batch(db: Database, office: Office, limit: int, after: int = 0) -> list[dict[str, Any]]:
    """The next events to send (above sequence number ``after``), in sequence order, as they
    travel (``wire``)."""
    # Core columns (no ORM objects or ORM statement): a batch is read once per push of up to
    # 500 events. The payload comes as its stored text and is decoded here.
    table, refused = OutboxEvent.__table__, SyncEventState.__table__  # type: ignore[attr-defined]
    with db.read() as session:
        rows: Sequence[Any] = (
            session.connection()
            .execute(
                core_select(*_event_columns(table), table.c.created_at)
                .where(
                    table.c.sent_at.is_(None),
                    table.c.office_id == office.id,
                    table.c.seq > after,
                    table.c.id.not_in(core_select(refused.c.event_id)),
                )
                .order_by(table.c.seq)
                .limit(limit)
            )
            .all()
        )
    code = office.code
    return [
        {
            "id": event_id,
            "office": code,
            "seq": seq,
            "clerk": str(clerk),
            "kind": kind,
            "payload": _payload(payload),
            "created_at": created.isoformat(),
        }
        for event_id, seq, clerk, kind, payload, created in rows
    ]


def record_answers(
    db: Database,
    answers: list[tuple[str, dict[str, Any]]],
    before: Callable[[Session], None] | None = None,
) -> Tally:
    """Mark a batch's answers in one transaction (``before`` runs first, in the same one)."""
    tally = Tally()
    now = utcnow()
    taken = [i for i, a in answers if a.get("status") in (protocol.ACCEPTED, protocol.DUPLICATE)]
    tally.duplicate = sum(1 for _, a in answers if a.get("status") == protocol.DUPLICATE)
    refused = [(i, a) for i, a in answers if a.get("status") == protocol.REJECTED]
    with db.write() as session:
        if before is not None:
            before(session)
        # Core statements on the session's connection (same transaction): nothing of this
        # short session is in memory to keep in step with them.
        conn = session.connection()
        table, states = OutboxEvent.__table__, SyncEventState.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(taken):
            conn.execute(
                table.update()
                .where(table.c.id.in_(chunk), table.c.sent_at.is_(None))
                .values(sent_at=now)
            )
            conn.execute(states.delete().where(states.c.event_id.in_(chunk)))
        for event_id, answer in refused:
            event = session.get(OutboxEvent, event_id)
            if event is None or event.sent_at is not None:
                # An answer for another database, or a refusal of an event the store had already
                # acknowledged: an acknowledged event is never turned into a refusal.
                continue
            state = session.get(SyncEventState, event_id) or SyncEventState(
                event_id=event_id, code="", message=""
            )
            state.status, state.answered_at = "rejected", now
            state.code = str(answer.get("code", "rejected"))
            state.message = str(answer.get("message", ""))
            session.add(state)
            tally.rejected += 1
    tally.accepted = len(taken) - tally.duplicate
    return tally


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def problems(db: Database) -> list[Problem]:
    """Refused events waiting for a clerk, oldest first."""
    with db.read() as session:
        rows = session.exec(
            select(SyncEventState, OutboxEvent)
            .join(OutboxEvent, col(OutboxEvent.id) == SyncEventState.event_id)
            .where(SyncEventState.status == "rejected")
            .order_by(col(OutboxEvent.seq))
        ).all()
    return [
        Problem(e.id, e.seq, e.kind, s.code, s.message, str(e.payload.get("number", "")))
        for s, e in rows
    ]


def resolve(db: Database, clerk_id: int, event_id: str, action: str, note: str = "") -> None:
    """``retry``: send it again at the next sync; ``dismiss``: withdraw it locally with ``note``
    as the reason (``counter_app.workflows.refusals``: the local records follow)."""
    from counter_app.workflows import refusals

    if action == "retry":
        refusals.retry(db, clerk_id, [event_id])
    elif action == "dismiss":
        refusals.withdraw(db, clerk_id, event_id, note)
    else:
        raise ValueError("处理方式应为 retry 或 dismiss")


def pending_count(db: Database) -> int:
    """How many events are waiting to be sent (``status().pending`` alone)."""
    with db.read() as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxEvent)
            .where(col(OutboxEvent.sent_at).is_(None), col(OutboxEvent.id).not_in(_unresolved()))
        ).one()


def status(db: Database) -> SyncStatus:
    """Pending and refused counts, and the last successful online or file sync."""
    pending = pending_count(db)
    with db.read() as session:
        refused = session.exec(
            select(func.count())
            .select_from(SyncEventState)
            .where(SyncEventState.status == "rejected")
        ).one()
        last_ok = session.exec(
            select(func.max(SyncRun.finished_at)).where(col(SyncRun.ok).is_(True))
        ).one()
        last = session.exec(select(SyncRun).order_by(col(SyncRun.id).desc())).first()
    error = last.error if last is not None and not last.ok else ""
    return SyncStatus(pending, refused, last_ok, error)


def local_digests(
    db: Database, office: Office, hashes: dict[str, str] | None = None
) -> dict[int, dict[str, Any]]:
    """Per reconcile block: the count and hash of the events the store has accepted.

    ``hashes`` are event hashes already worked out (by the push that sent them); the payloads
    of the other events are read and hashed here.
    """
    known = hashes or {}
    table = OutboxEvent.__table__  # type: ignore[attr-defined]
    sent = (table.c.sent_at.is_not(None), table.c.office_id == office.id)
    # Core columns; the payloads (decoded only here) only of the events whose hash is not known.
    with db.read() as session:
        conn = session.connection()
        rows = conn.execute(core_select(table.c.seq, table.c.id).where(*sent)).all()
        unknown = [event_id for _, event_id in rows if event_id not in known]
        more: dict[str, str] = {}
        for chunk in _chunks(unknown):
            found = conn.execute(
                core_select(*_event_columns(table)).where(*sent, table.c.id.in_(chunk))
            ).all()
            more.update((r[0], _hash(office.code, *r)) for r in found)
    return protocol.block_digests(
        (seq, event_id, known.get(event_id) or more[event_id]) for seq, event_id in rows
    )


def _event_columns(table: Any) -> tuple[Any, ...]:
    """An outbox event's columns as it travels: id, sequence, clerk, kind and the payload as
    stored (read with Core, no ORM objects: a push reads up to 500 at a time)."""
    return (
        table.c.id,
        table.c.seq,
        table.c.clerk_id,
        table.c.kind,
        type_coerce(table.c.payload, Text),
    )


def _payload(stored: Any) -> Any:
    """A payload as read: SQLite gives the stored text, PostgreSQL's driver decodes json."""
    return json.loads(stored) if isinstance(stored, str | bytes) else stored


def _hash(code: str, event_id: str, seq: int, clerk: int, kind: str, payload: Any) -> str:
    """``protocol.event_hash`` of an outbox row as it travels."""
    payload = _payload(payload)
    return protocol.event_hash(
        {
            "id": event_id,
            "office": code,
            "seq": seq,
            "clerk": str(clerk),
            "kind": kind,
            "payload": payload,
        }
    )


# -- runs, lease and cursor -------------------------------------------------------------------


def start_run(db: Database, mode: str, terminal: str) -> int:
    """A new run row; returns its id."""
    with db.write() as session:
        run = SyncRun(mode=mode, terminal=terminal)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def finish_run(db: Database, run_id: int, tally: Tally, pulled: int, error: str = "") -> None:
    """Close a run with its figures; ``ok`` when it ended without error."""
    with db.write() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.finished_at, run.ok, run.error = utcnow(), not error, error
        run.accepted, run.duplicate, run.rejected, run.pulled = (
            tally.accepted,
            tally.duplicate,
            tally.rejected,
            pulled,
        )
        session.add(run)
        audit(
            session,
            None,
            "sync",
            "sync_run",
            run_id,
            mode=run.mode,
            ok=run.ok,
            accepted=tally.accepted,
            duplicate=tally.duplicate,
            rejected=tally.rejected,
        )


def new_holder() -> str:
    """This process's lease identity: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_dead(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_lease(db: Database, holder: str, seconds: int = LEASE_SECONDS) -> bool:
    """Take (or renew) the sending lease; False while another live process holds it."""
    now = utcnow()
    with db.write() as session:
        lease = session.get(SyncLease, LEASE) or SyncLease(name=LEASE)
        expires = lease.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=now.tzinfo)  # SQLite returns naive UTC
        free = (
            not lease.holder
            or lease.holder == holder
            or expires is None
            or expires < now
            or _holder_dead(lease.holder)
        )
        if free:
            lease.holder, lease.expires_at = holder, now + timedelta(seconds=seconds)
            session.add(lease)
        return free


def release_lease(db: Database, holder: str) -> None:
    """Give the lease back (only if still ours)."""
    with db.write() as session:
        lease = session.get(SyncLease, LEASE)
        if lease is not None and lease.holder == holder:
            lease.holder, lease.expires_at = "", None
            session.add(lease)


def get_cursor(session: Session, name: str = "pull") -> SyncCursor:
    """The pull cursor row (created at 0)."""
    return session.get(SyncCursor, name) or SyncCursor(name=name, value=0)


def missing_from_store(
    db: Database, office: Office, server_blocks: dict[int, list[str]]
) -> list[dict[str, Any]]:
    """Events acknowledged earlier that the store no longer holds (it was restored from an older
    backup, say), as they travel: they are sent again while staying marked sent, so a refusal
    of one of them never turns it into a problem for a clerk."""
    missing: list[OutboxEvent] = []
    with db.read() as session:
        for block, held in server_blocks.items():
            low, high = block * protocol.BATCH_MAX + 1, (block + 1) * protocol.BATCH_MAX
            rows = session.exec(
                select(OutboxEvent).where(
                    OutboxEvent.office_id == office.id,
                    col(OutboxEvent.sent_at).is_not(None),
                    col(OutboxEvent.seq).between(low, high),
                )
            ).all()
            missing.extend(e for e in rows if e.id not in set(held))
    missing.sort(key=lambda e: e.seq)
    return [wire(e, office.code) for e in missing]


def count_unknown(db: Database, event_ids: list[str]) -> int:
    """How many of these event ids this database does not hold."""
    known: set[str] = set()
    with db.read() as session:
        for chunk in _chunks(event_ids):
            known.update(
                session.exec(select(OutboxEvent.id).where(col(OutboxEvent.id).in_(chunk))).all()
            )
    return len(set(event_ids) - known)


def max_seqs(db: Database, office: Office) -> tuple[int, int]:
    """The highest sequence number of the office's events: all of them, and those sent."""
    table = OutboxEvent.__table__  # type: ignore[attr-defined]
    with db.read() as session:
        every, sent = (
            session.connection()
            .execute(
                core_select(
                    func.max(table.c.seq),
                    func.max(case((table.c.sent_at.is_not(None), table.c.seq))),
                ).where(table.c.office_id == office.id)
            )
            .one()
        )
    return every or 0, sent or 0


def close_interrupted(db: Database) -> int:
    """Runs that never finished (the process was killed midway) closed as interrupted."""
    unfinished = select(SyncRun).where(col(SyncRun.finished_at).is_(None))
    with db.read() as session:
        if session.exec(unfinished.limit(1)).first() is None:
            return 0  # the usual case: no write transaction for nothing
    with db.write() as session:
        runs = session.exec(unfinished).all()
        for run in runs:
            run.finished_at, run.ok = utcnow(), False
            run.error = "同步中断：上次同步没有正常结束（程序被关闭或断电）；已上传的都已记下"
            session.add(run)
            audit(session, None, "sync_interrupted", "sync_run", run.id)
    return len(runs)
