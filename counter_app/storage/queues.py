"""The dashboard queues: follow-ups due, temporary filings expiring, today's work, sync backlog.

Which filing is in a queue is decided by its dates against the business day (the status of
``domain.status``), never by a status someone had to set: a 承诺书 follow-up is listed while it
is due within the week or overdue (逾期未补) and the materials have not come in; a temporary
filing is listed until its last valid day and drops out the day after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from counter_app.domain.idnumber import mask_id
from counter_app.domain.status import FilingStatus
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk, Draft, Filing, FilingHistory, Person
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
    status: str = ""


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


#: A follow-up is listed from this many days before its date (this week's).
FOLLOWUP_WEEK_DAYS = 7
#: Overdue follow-ups are listed for this many days after their date.
OVERDUE_LISTED_DAYS = 365


def _rows(db: Database, today: date, due_column, *conditions, limit: int) -> list[QueueRow]:
    with db.read() as session:
        statement = (
            select(Filing, Person)
            .join(Person, col(Person.id) == col(Filing.person_id))
            .where(Filing.status == FilingStatus.ACTIVE, *conditions)
            .order_by(due_column, col(Filing.id))
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
                status=f.status_on(today).label,
            )
            for f, p in session.exec(statement).all()
        ]


def followups_due(db: Database, today: date, limit: int = 50) -> list[QueueRow]:
    """承诺书 filings whose materials are due within the week, and the overdue ones (逾期未补,
    up to a year back), oldest date first; a filing that ended (past ``valid_until``) is not
    listed."""
    due = col(Filing.followup_due)
    return _rows(
        db,
        today,
        due,
        due >= today - timedelta(days=OVERDUE_LISTED_DAYS),
        due <= today + timedelta(days=FOLLOWUP_WEEK_DAYS),
        col(Filing.followup_done_on).is_(None),
        or_(col(Filing.valid_until).is_(None), col(Filing.valid_until) >= today),
        limit=limit,
    )


def expiring(db: Database, today: date, horizon_days: int = 30, limit: int = 50) -> list[QueueRow]:
    """Filings whose last valid day is within ``horizon_days`` (today included)."""
    until = col(Filing.valid_until)
    return _rows(
        db, today, until, until >= today, until <= today + timedelta(days=horizon_days), limit=limit
    )


#: What the dashboard's 今日 and the day report's 备案 section count, in the same words
#: (the dashboard prefixes 今日).
ACTIONS_COUNTED = "备案办理（按经办日期）"


def actions_on(session: Session, day: date, office_id: int | None = None) -> dict[str, int]:
    """Filing steps (新增/变更/取消 → count) whose business date (经办日期, the office's local
    date stored with the step) is ``day``; of one office when ``office_id`` is given. The
    dashboard's 今日 and the day report count the same steps with this query."""
    business_day = FilingHistory.snapshot["today"].as_string()
    query = (
        select(FilingHistory.action, func.count())
        .join(Filing, col(Filing.id) == FilingHistory.filing_id)
        .where(business_day == day.isoformat())
        .group_by(FilingHistory.action)
    )
    if office_id is not None:
        query = query.where(Filing.office_id == office_id)
    return dict(session.exec(query).all())


def dashboard(db: Database, clerk_id: int, today: date, horizon_days: int = 30) -> Dashboard:
    """The queues for the next ``horizon_days`` days and today's counts."""
    followups = followups_due(db, today)
    ending = expiring(db, today, horizon_days)
    with db.read() as session:
        clerk = session.get(Clerk, clerk_id)
        counts = actions_on(session, today, clerk.office_id if clerk else None)
        drafts = session.exec(
            select(func.count()).select_from(Draft).where(Draft.clerk_id == clerk_id)
        ).one()
        pending = pending_events(session)
    return Dashboard(
        followups=followups,
        expiring=ending,
        drafts=drafts,
        pending_events=pending,
        today_new=counts.get("new", 0),
        today_change=counts.get("change", 0),
        today_cancel=counts.get("cancel", 0),
    )
