"""The tables of the office database (SQLModel).

Persons, filings with their full history and the materials presented, offices and clerks, drafts
that survive a crash, an append-only audit log and the outbox of events for the end-of-day sync.
Dates are ``date``; times are UTC ``datetime``; JSON columns hold plain dicts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Dialect, Index, String, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from counter_app.domain.status import FilingStatus, StatusText, describe_status, status_of


class Money(TypeDecorator[Decimal]):
    """An amount in 元 kept exactly as its canonical text ("1234.50"), never as a float.

    SQLite has no decimal type: ``Numeric`` would round-trip through a float.
    """

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else f"{Decimal(value):.2f}"

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Office(SQLModel, table=True):
    """A county/district office (经办机构): its code prefixes the numbers it issues offline."""

    __tablename__ = "office"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=12)
    name: str
    policy: str
    pool_code: str = Field(max_length=6)
    phone: str = ""
    #: Printed on every form with the phone (set with ``counter-app office set`` or in the UI).
    address: str = ""
    hours: str = ""


class Clerk(SQLModel, table=True):
    """A clerk (经办人) who signs in; passwords are argon2 hashes."""

    __tablename__ = "clerk"

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    username: str = Field(unique=True, max_length=40)
    display_name: str
    password_hash: str
    role: str = "clerk"
    active: bool = True
    #: Wrong passwords in a row (sign-in, lock screen, supervisor sign-off); reset by a right one.
    failed_logins: int = 0
    #: Set when ``failed_logins`` reached the office's limit: no password is checked before it.
    locked_until: datetime | None = None
    #: Set by a supervisor's password reset: the clerk chooses a new password at the next sign-in.
    must_change_password: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Person(SQLModel, table=True):
    """An insured person (参保人员) of the home pool."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_name", "name"),
        Index("ix_person_initials", "name_initials"),
        Index("ix_person_pinyin", "name_pinyin"),
    )

    id: int | None = Field(default=None, primary_key=True)
    id_number: str = Field(unique=True, max_length=18)
    name: str = Field(max_length=50)
    name_pinyin: str = Field(default="", max_length=200)
    name_initials: str = Field(default="", max_length=50)
    sex: str = ""
    birth_date: date | None = None
    phone: str = ""
    #: 联系电话2 of the forms (optional).
    phone2: str = Field(default="", max_length=20)
    address: str = ""
    #: 异地联系地址: where the person lives or stays in the other place (登记备案表; 湘办法 第九条
    #: names 居住地 as core content of a filing).
    remote_address: str = Field(default="", max_length=120)
    #: 社会保障卡卡号 (optional on the 备案表 and the 结算单).
    card_number: str = Field(default="", max_length=20)
    insurance: str = "employee"
    has_employer: bool = False
    retired: bool = False
    employer: str = ""
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Filing(SQLModel, table=True):
    """A filing (备案) as it stands now; its history is in ``FilingHistory``."""

    __tablename__ = "filing"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=40)
    person_id: int = Field(foreign_key="person.id", index=True)
    office_id: int = Field(foreign_key="office.id")
    policy: str
    category: str
    scope: str
    insurance: str
    destination_code: str = Field(max_length=6)
    destination_name: str
    basis: str = "materials"
    by_agent: bool = False
    multi_place: bool = False
    valid_from: date
    valid_until: date | None = Field(default=None, index=True)
    locked_until: date | None = None
    followup_due: date | None = Field(default=None, index=True)
    #: The day the materials a 承诺书 stood in for were handed in (the follow-up is done).
    followup_done_on: date | None = None
    #: What a person decided: active, cancelled or superseded. What time did to the filing
    #: (已过期, 逾期未补) is derived at read time: ``Filing.status_on`` / ``domain.status``.
    status: str = Field(default=FilingStatus.ACTIVE.value, index=True)
    version: int = 1
    created_by: int = Field(foreign_key="clerk.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def status_on(self, today: date) -> FilingStatus:
        """The filing's status on ``today`` (``domain.status.filing_status``)."""
        return status_of(self, today)

    def status_text(self, today: date) -> StatusText:
        """The status on ``today`` with the dates that explain it."""
        return describe_status(
            self.status_on(today), self.valid_from, self.valid_until, followup_due=self.followup_due
        )


class FilingHistory(SQLModel, table=True):
    """One step in a filing's life: new, change or cancel, with the engine's verdict."""

    __tablename__ = "filing_history"

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filing.id", index=True)
    action: str
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    clerk_id: int = Field(foreign_key="clerk.id")
    at: datetime = Field(default_factory=utcnow)


class FilingMaterial(SQLModel, table=True):
    """A material presented at a step of a filing."""

    __tablename__ = "filing_material"
    __table_args__ = (UniqueConstraint("history_id", "material_id"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filing.id", index=True)
    history_id: int = Field(foreign_key="filing_history.id")
    material_id: str
    label: str


class NumberSequence(SQLModel, table=True):
    """The last number an office issued on a day for a kind of document."""

    __tablename__ = "number_sequence"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    kind: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    last: int = 0


class Draft(SQLModel, table=True):
    """Work in progress of a wizard, saved at each step so nothing typed is lost."""

    __tablename__ = "draft"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    clerk_id: int = Field(foreign_key="clerk.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    title: str = ""
    step: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Who viewed or changed what, when; append-only (a trigger refuses updates and deletes)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    clerk_id: int | None = Field(default=None, foreign_key="clerk.id")
    action: str
    entity: str
    entity_id: str = ""
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutboxEvent(SQLModel, table=True):
    """An event for the provincial store, written in the same transaction as the change."""

    __tablename__ = "outbox_event"
    __table_args__ = (UniqueConstraint("office_id", "seq"),)

    id: str = Field(primary_key=True, max_length=36)
    office_id: int = Field(foreign_key="office.id")
    seq: int
    clerk_id: int = Field(foreign_key="clerk.id")
    kind: str
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = Field(default=None, index=True)


class Claim(SQLModel, table=True):
    """A manual reimbursement claim (零星报销) as it stands now; its steps are in ``ClaimHistory``.

    ``request`` is the engine request as sent and ``result`` the engine's latest answer to it
    (``ClaimResult`` as JSON); the columns beside them repeat what queues and sums need.
    Amounts are ``Decimal`` stored exactly (``Money``: canonical text, never a float).
    """

    __tablename__ = "claim"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=40)
    person_id: int = Field(foreign_key="person.id", index=True)
    office_id: int = Field(foreign_key="office.id")
    policy: str
    case: str | None = None
    treatment: str
    status: str = Field(default="pending_materials", index=True)
    return_reason: str = ""
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    ytd_override: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    due_date: date | None = Field(default=None, index=True)
    calendar_version: str = ""
    materials_complete_on: date | None = None
    accepted_on: date | None = None
    settled_at: datetime | None = None
    #: The office's business date of the settlement (the day report counts by it).
    settled_on: date | None = Field(default=None, index=True)
    settlement_year: int | None = None
    #: Hospital details the clerk typed for the slip (name, place); not part of the engine request.
    hospital: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    total: Decimal | None = Field(default=None, sa_column=Column(Money()))
    fund_total: Decimal | None = Field(default=None, sa_column=Column(Money()))
    personal_cash: Decimal | None = Field(default=None, sa_column=Column(Money()))
    cost_check_candidate: bool = False
    version: int = 1
    created_by: int = Field(foreign_key="clerk.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PrintJob(SQLModel, table=True):
    """A print job in the queue: which document, how many copies, where, by whom, and how it went.

    ``status``: queued (waiting or failed, can be retried, see ``error``), done. A reprint is a
    new job pointing at the one it repeats.
    """

    __tablename__ = "print_job"

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id")
    kind: str
    number: str = Field(index=True, max_length=40)
    copies: int = 1
    printer: str
    clerk_id: int = Field(foreign_key="clerk.id")
    status: str = Field(default="queued", index=True)
    attempts: int = 0
    error: str = ""
    reprint_of: int | None = Field(default=None, foreign_key="print_job.id")
    #: The digest (``PrintedFacts.digest``) of the key facts this job printed under its QR.
    facts_digest: str = Field(default="", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimHistory(SQLModel, table=True):
    """One transition of a claim (save, update, accept, review, settle, return)."""

    __tablename__ = "claim_history"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    action: str
    from_status: str = ""
    to_status: str
    note: str = ""
    missing: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    clerk_id: int = Field(foreign_key="clerk.id")
    at: datetime = Field(default_factory=utcnow)


class ClaimLine(SQLModel, table=True):
    """An itemised line of a claim (date, item, amount, slip category); lines sum into amounts."""

    __tablename__ = "claim_line"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    position: int
    day: date | None = None
    item: str
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    category: str


class PrintedFacts(SQLModel, table=True):
    """A document's key facts as printed, under the digest its QR code signs.

    ``facts`` holds ``values`` (name, masked 身份证号 and its digest, status, dates, amounts) and
    ``on_paper`` (which of them the document shows); one row per distinct content of a document.
    """

    __tablename__ = "printed_facts"
    __table_args__ = (UniqueConstraint("kind", "number", "digest"),)

    id: int | None = Field(default=None, primary_key=True)
    office_code: str = Field(max_length=12)
    kind: str = Field(max_length=40)
    number: str = Field(index=True, max_length=40)
    digest: str = Field(max_length=32)
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    printed_on: date
    created_at: datetime = Field(default_factory=utcnow)


class OfficeKey(SQLModel, table=True):
    """The office's secret for signing the QR codes on its documents (generated once)."""

    __tablename__ = "office_key"

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    key_hex: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


# The sync tables live in their own module; importing it here registers them with the metadata
# wherever the models are loaded (migrations, tests).
from counter_app.storage import sync_models as _sync_models  # noqa: E402, F401
