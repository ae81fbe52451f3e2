"""The dashboard queues: follow-ups due, temporary filings expiring, today's work, sync backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from counter_app.domain.idnumber import mask_id
from counter_app.storage.db import Database
from counter_app.storage.models import Draft, Filing, FilingHistory, Person
from counter_app.storage.records import pending_events


@dataclass(frozen=True)
class QueueRow:
    """A filing that needs attention, with its person (masked)."""

    filing_number: str
    person_id: int
    person_name: str
    id_masked: str
    category: str
    destination_name: str
    due: date


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    followups: list[QueueRow]
    expiring: list[QueueRow]
    drafts: int
    pending_events: int
    today_new: int
    today_change: int
    today_cancel: int


def _rows(db: Database, due_column, start: date, end: date, limit: int) -> list[QueueRow]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        statement = (
            select(Filing, Person)
            .join(Person, col(Person.id) == col(Filing.person_id))
            .where(Filing.status == "active", due_column >= start, due_column <= end)
            .order_by(due_column)
            .limit(limit)
        )
        return [
            QueueRow(
                filing_number=f.number,
                person_id=p.id,  # type: ignore[arg-type]
                person_name=p.name,
                id_masked=mask_id(p.id_number),
                category=f.category,
                destination_name=f.destination_name,
                due=getattr(f, due_column.key),
            )
            for f, p in session.exec(statement).all()
        ]


def dashboard(db: Database, clerk_id: int, today: date, horizon_days: int = 30) -> Dashboard:
    """The queues for the next ``horizon_days`` days and today's counts."""
    end = today + timedelta(days=horizon_days)
    followups = _rows(db, col(Filing.followup_due), today - timedelta(days=365), end, 50)
    expiring = _rows(db, col(Filing.valid_until), today, end, 50)
    start = datetime.combine(today, time.min).astimezone(UTC)  # the office's local midnight
    with db.read() as session:
        counts = dict(
            session.exec(
                select(FilingHistory.action, func.count())
                .where(FilingHistory.at >= start)
                .group_by(FilingHistory.action)
            ).all()
        )
        drafts = session.exec(
            select(func.count()).select_from(Draft).where(Draft.clerk_id == clerk_id)
        ).one()
        pending = pending_events(session)
    return Dashboard(
        followups=followups,
        expiring=expiring,
        drafts=drafts,
        pending_events=pending,
        today_new=counts.get("new", 0),
        today_change=counts.get("change", 0),
        today_cancel=counts.get("cancel", 0),
    )
