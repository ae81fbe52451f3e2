"""Resolving what the provincial store refused, so that both sides agree again.

A refused event stays with the store's code and Chinese reason (``SyncEventState``); until a
clerk resolves it, the filing it carried shows 未被省平台接受 and the reason. The clerk either
retries it (the conflict was cleared elsewhere, say the other office cancelled its filing: the
event goes out again at the next sync and the store decides afresh) or withdraws it locally
with a reason: the filing the store never had is withdrawn (and what it superseded is active
again), a refused change or cancellation is taken back to what the store holds, a refused
approval of an online application puts the application back to 待审核. Everything is audited;
the later unsent events about a withdrawn filing are withdrawn with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from counter_app.domain.errors import CounterError
from counter_app.storage.db import Database
from counter_app.storage.filings import undo_refused_step
from counter_app.storage.models import Filing, OutboxEvent, utcnow
from counter_app.storage.records import audit, lock_person
from counter_app.storage.sync_models import OnlineApplication, SyncEventState

REFUSED_LABEL = "未被省平台接受"
FILING_KINDS = ("filing.new", "filing.change", "filing.cancel")
#: The outbox kind of an online application's review (``counter_app.sync.protocol``).
REVIEW_KIND = "application.review"
REJECTED, DISMISSED = "rejected", "dismissed"


class ResolveRefused(CounterError, LookupError):
    """The refusal cannot be resolved that way; the message is Chinese; nothing was written."""


@dataclass(frozen=True)
class Refusal:
    """A refused event waiting for a clerk: what it carried and why the store refused it."""

    event_id: str
    seq: int
    kind: str
    subject: str
    code: str
    message: str


def subject_of(event: OutboxEvent) -> str:
    """The record an event is about: a filing or claim number, or an application id."""
    payload = event.payload
    return str(payload.get("number") or payload.get("application_id") or "")


def _filing_number(event: OutboxEvent) -> str | None:
    """The local filing an event carried (an approval carries the filing it made)."""
    if event.kind in FILING_KINDS:
        return subject_of(event)
    if event.kind == REVIEW_KIND and event.payload.get("decision") == "approved":
        return subject_of(event)
    return None


def _waiting(session: Session) -> list[tuple[SyncEventState, OutboxEvent]]:
    rows = session.exec(
        select(SyncEventState, OutboxEvent)
        .join(OutboxEvent, col(OutboxEvent.id) == SyncEventState.event_id)
        .where(SyncEventState.status == REJECTED)
        .order_by(col(OutboxEvent.seq))
    ).all()
    return list(rows)


def refusals(db: Database) -> list[Refusal]:
    """Every refusal waiting for a clerk, oldest first."""
    with db.read() as session:
        rows = _waiting(session)
    return [Refusal(e.id, e.seq, e.kind, subject_of(e), s.code, s.message) for s, e in rows]


def refused_filings(db: Database, numbers: Iterable[str] | None = None) -> dict[str, str]:
    """Filing number → the store's reason, for filings whose latest refusal is unresolved."""
    wanted = set(numbers) if numbers is not None else None
    with db.read() as session:
        rows = _waiting(session)
    found: dict[str, str] = {}
    for state, event in rows:
        number = _filing_number(event)
        if number and (wanted is None or number in wanted):
            found[number] = state.message
    return found


def find(db: Database, key: str) -> Refusal:
    """A waiting refusal by event id, sequence number (``12`` or ``#12``) or filing number."""
    key = key.strip().removeprefix("#")
    matches = [
        r
        for r in refusals(db)
        if key in (r.event_id, r.subject) or (key.isdigit() and int(key) == r.seq)
    ]
    if not matches:
        raise ResolveRefused(f"没有待处理的退回：{key}")
    if len(matches) > 1:
        raise ResolveRefused(f"{key} 对应多个被退回的事件，请用事件编号（sync problems 列出）")
    return matches[0]


def retry(db: Database, clerk_id: int, event_ids: Iterable[str] | None = None) -> list[str]:
    """Send refused events again at the next sync (all of them when ``event_ids`` is None).

    For when the conflict was cleared elsewhere (the other office cancelled its filing): the
    store decides afresh. Returns the events put back in the queue; audited one by one.
    """
    wanted = None if event_ids is None else set(event_ids)
    with db.write() as session:
        rows = [(s, e) for s, e in _waiting(session) if wanted is None or e.id in wanted]
        if wanted is not None and len(rows) != len(wanted):
            missing = wanted - {e.id for _, e in rows}
            raise ResolveRefused("没有待处理的退回：" + "、".join(sorted(missing)))
        for state, event in rows:
            session.delete(state)
            audit(
                session,
                clerk_id,
                "sync_retry",
                "outbox_event",
                event.id,
                code=state.code,
                subject=subject_of(event),
            )
        return [e.id for _, e in rows]


def _dismiss(
    session: Session, clerk_id: int, state: SyncEventState, reason: str, message: str = ""
) -> None:
    state.status, state.note = DISMISSED, reason
    if message:
        state.message = message
    state.resolved_at, state.resolved_by = utcnow(), clerk_id
    session.add(state)


def withdraw(db: Database, clerk_id: int, event_id: str, reason: str) -> str:
    """Withdraw a refused event locally, with the clerk's reason; returns what was done (Chinese).

    Never sent again. A filing the store never had is withdrawn (its superseded filings are
    active again); a refused change or cancellation is taken back to the step before; a refused
    approval puts the online application back to 待审核. One transaction, under the person's lock.
    """
    reason = reason.strip()
    if not reason:
        raise ResolveRefused("撤回原因：请填写撤回的原因（记入审计）")
    with db.write() as session:
        state = session.get(SyncEventState, event_id)
        event = session.get(OutboxEvent, event_id)
        if state is None or event is None or state.status != REJECTED:
            raise ResolveRefused(f"事件 {event_id} 没有待处理的退回")
        done = "已不再上传"
        number = _filing_number(event)
        filing = (
            session.exec(select(Filing).where(Filing.number == number)).first() if number else None
        )
        if filing is not None:
            lock_person(session, filing.person_id)
            outcome = undo_refused_step(
                session,
                clerk_id,
                filing.number,
                list(event.payload.get("supersedes") or []),
                reason,
                state.message,
            )
            done = (
                f"备案 {filing.number} 已撤回"
                if outcome == "withdrawn"
                else f"备案 {filing.number} 已恢复为省平台上的状态"
            )
            if outcome == "withdrawn":
                done += _withdraw_later(session, clerk_id, event, filing.number, reason)
        if event.kind == REVIEW_KIND:
            done = _reopen_application(session, event) or done
        _dismiss(session, clerk_id, state, reason)
        audit(
            session,
            clerk_id,
            "sync_dismiss",
            "outbox_event",
            event.id,
            code=state.code,
            subject=subject_of(event),
            reason=reason,
        )
        return done


def _withdraw_later(
    session: Session, clerk_id: int, event: OutboxEvent, number: str, reason: str
) -> str:
    """Later unsent events about a withdrawn filing go with it (the store never had it)."""
    later = session.exec(
        select(OutboxEvent).where(
            col(OutboxEvent.sent_at).is_(None),
            OutboxEvent.office_id == event.office_id,
            col(OutboxEvent.seq) > event.seq,
        )
    ).all()
    count = 0
    for other in later:
        if _filing_number(other) != number:
            continue
        state = session.get(SyncEventState, other.id) or SyncEventState(
            event_id=other.id, code="withdrawn", message=""
        )
        _dismiss(session, clerk_id, state, reason, f"备案 {number} 已撤回，随之不再上传")
        audit(session, clerk_id, "sync_dismiss", "outbox_event", other.id, subject=number)
        count += 1
    return f"（其后 {count} 个相关事件随之不再上传）" if count else ""


def _reopen_application(session: Session, event: OutboxEvent) -> str:
    app = session.get(OnlineApplication, subject_of(event))
    if app is None or app.status == "pending":
        return ""
    app.status, app.reason, app.reviewed_by, app.reviewed_at = "pending", "", None, None
    session.add(app)
    return f"线上申请 {app.id} 已回到待审核，可重新审核"
