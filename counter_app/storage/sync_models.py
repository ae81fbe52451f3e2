"""The office database's tables for the end-of-day sync (migration 0004).

The outbox itself is ``OutboxEvent`` (``sent_at`` set once the provincial store accepted an event
or already had it). These tables hold what the sync needs besides: the answer to each rejected
event until a clerk resolves it, the runs, the lease that keeps two processes from sending at
once, the pull cursor, what was pulled (online applications, registry updates, other offices'
filings, numbered packages) and the supervisor's day close.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from counter_app.storage.models import utcnow


class SyncEventState(SQLModel, table=True):
    """The provincial store's refusal of an outbox event, kept for a clerk to resolve."""

    __tablename__ = "sync_event_state"

    event_id: str = Field(primary_key=True, foreign_key="outbox_event.id", max_length=36)
    status: str = Field(default="rejected", index=True)
    code: str
    message: str
    answered_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: int | None = Field(default=None, foreign_key="clerk.id")
    note: str = ""


class SyncRun(SQLModel, table=True):
    """One sync run (online or by file) and its figures."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    mode: str = "online"
    terminal: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ok: bool = False
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pulled: int = 0
    error: str = ""


class SyncLease(SQLModel, table=True):
    """Who may send now: one holder at a time, until ``expires_at`` (renewed per batch)."""

    __tablename__ = "sync_lease"

    name: str = Field(primary_key=True, max_length=20)
    holder: str = ""
    expires_at: datetime | None = None


class SyncCursor(SQLModel, table=True):
    """The last pull cursor the provincial store handed out."""

    __tablename__ = "sync_cursor"

    name: str = Field(primary_key=True, max_length=20)
    value: int = 0


class OnlineApplication(SQLModel, table=True):
    """An online application (不见面备案) pulled for review, with its working-day deadline."""

    __tablename__ = "online_application"

    id: str = Field(primary_key=True, max_length=40)
    office_id: int = Field(foreign_key="office.id")
    received_at: datetime = Field(default_factory=utcnow)
    received_on: date
    due_date: date = Field(index=True)
    due_provisional: bool = False
    calendar_version: str = ""
    citation: str = ""
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)
    reason: str = ""
    reviewed_by: int | None = Field(default=None, foreign_key="clerk.id")
    reviewed_at: datetime | None = None


class SyncInboxItem(SQLModel, table=True):
    """A pulled registry update or another office's filing of one of this office's persons."""

    __tablename__ = "sync_inbox"

    cursor: int = Field(primary_key=True)
    type: str = Field(index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)


class SyncPackage(SQLModel, table=True):
    """A numbered package applied (policy pack, holiday calendar, registry snapshot)."""

    __tablename__ = "sync_package"

    kind: str = Field(primary_key=True, max_length=30)
    number: int = Field(primary_key=True)
    received_at: datetime = Field(default_factory=utcnow)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class DayClose(SQLModel, table=True):
    """日结: the day report of an office, signed off by a supervisor."""

    __tablename__ = "day_close"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    day: date = Field(primary_key=True)
    closed_by: int = Field(foreign_key="clerk.id")
    closed_at: datetime = Field(default_factory=utcnow)
    pending_events: int = 0
    report: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
