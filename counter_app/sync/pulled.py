"""What the office pulls from the provincial store, and the review of online applications.

A pulled page is stored with the new cursor in one transaction, so an interrupted pull resumes
where it stopped and nothing is taken twice. Online applications (不见面备案) get the engine's
working-day review deadline; numbered packages are refused when stale or repeated. The review
itself is a use case (``counter_app.workflows.applications``: approval makes the filing at the
counter).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlmodel import col, func, select

from counter_app.domain.engine import RulesEngine
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.domain.workdays import CalendarError
from counter_app.storage.db import Database
from counter_app.storage.sync_models import OnlineApplication, SyncInboxItem, SyncPackage
from counter_app.sync.outbox import get_cursor
from counter_app.sync.protocol import PACKAGES
from counter_app.workflows.applications import (  # noqa: F401  (re-exported for the callers)
    ReviewRefused,
    application_request,
    review,
)


@dataclass
class PullOutcome:
    """What a pull brought in."""

    applications: int = 0
    inbox: int = 0
    packages: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Items taken in."""
        return self.applications + self.inbox + self.packages


def store_page(
    db: Database,
    engine: RulesEngine,
    office_id: int,
    items: list[dict[str, Any]],
    cursor: int,
    today: date,
) -> PullOutcome:
    """Keep a pulled page and advance the cursor, all in one transaction."""
    outcome = PullOutcome()
    with db.write() as session:
        for item in items:
            kind, data = item.get("type"), item.get("data") or {}
            if kind == "online_application":
                refusal = _application_text_problem(data)
                if refusal:
                    outcome.refused.append(refusal)
                elif session.get(OnlineApplication, data["id"]) is None:
                    due, citation = engine.online_review_due(today)
                    session.add(
                        OnlineApplication(
                            id=data["id"],
                            office_id=office_id,
                            received_on=today,
                            due_date=due.date,
                            due_provisional=due.provisional,
                            calendar_version=due.calendar_version,
                            citation=citation,
                            data=data,
                        )
                    )
                    outcome.applications += 1
            elif kind == "package":
                refusal = _take_package(session, data)
                if refusal:
                    outcome.refused.append(refusal)
                else:
                    outcome.packages += 1
            elif session.get(SyncInboxItem, item["cursor"]) is None:
                session.add(SyncInboxItem(cursor=item["cursor"], type=str(kind), data=data))
                outcome.inbox += 1
        row = get_cursor(session)
        row.value = max(row.value, cursor)
        session.add(row)
    return outcome


def _application_text_problem(data: dict[str, Any]) -> str:
    """An online application whose person's free text cannot be stored: the refusal, else ""."""
    person = data.get("person") or {}
    if not isinstance(person, dict):
        return f"线上申请 {data.get('id', '')}：申请人信息格式不对，已拒收"
    for key in ("name", "address", "remote_address", "employer"):
        if key in person:
            try:
                check_text(key, person[key], required=key == "name")
            except TextFieldError as exc:
                return f"线上申请 {data.get('id', '')}：{exc}，已拒收"
    return ""


def _take_package(session: Any, data: dict[str, Any]) -> str:
    """Keep a numbered package; the Chinese refusal if stale, repeated or broken."""
    kind, number = str(data.get("kind")), data.get("number")
    label = PACKAGES.get(kind, kind)
    if not isinstance(number, int):
        return f"{label}缺少编号，已拒收"
    last = session.exec(select(func.max(SyncPackage.number)).where(SyncPackage.kind == kind)).one()
    if last is not None and number == last:
        return f"{label}第 {number} 号已经导入过，重复的包已拒收"
    if last is not None and number < last:
        return f"{label}第 {number} 号早于已导入的第 {last} 号（过期），已拒收"
    content = data.get("content") or {}
    if kind == "holiday_calendar":
        from counter_app.calendar_data import base_calendar

        try:
            base_calendar().merge(content)
        except CalendarError as exc:
            return f"{label}第 {number} 号内容有误，已拒收：{exc}"
    session.add(SyncPackage(kind=kind, number=number, content=content))
    return ""


def applications(db: Database, status: str | None = "pending") -> list[OnlineApplication]:
    """Online applications by deadline (all of them when ``status`` is None)."""
    with db.read() as session:
        query = select(OnlineApplication).order_by(
            col(OnlineApplication.due_date), col(OnlineApplication.received_at)
        )
        if status:
            query = query.where(OnlineApplication.status == status)
        return list(session.exec(query).all())


INBOX_LABELS = {
    "registry_update": "参保登记变更",
    "filing_elsewhere": "其他机构为本机构参保人办理的备案",
}


def inbox_counts(db: Database) -> dict[str, int]:
    """How many pulled items of each kind the office holds."""
    with db.read() as session:
        rows = session.exec(
            select(SyncInboxItem.type, func.count()).group_by(SyncInboxItem.type)
        ).all()
    return dict(rows)


def with_pulled_calendar(engine: RulesEngine, db: Database) -> RulesEngine:
    """The engine with the holiday-calendar packages this office pulled, in number order.

    Each package was checked when it was taken; the app applies them at start-up, so a package
    pulled during the day counts from the next start.
    """
    with db.read() as session:
        contents = session.exec(
            select(SyncPackage.content)
            .where(SyncPackage.kind == "holiday_calendar")
            .order_by(col(SyncPackage.number))
        ).all()
    calendar = engine.calendar
    for content in contents:
        calendar = calendar.merge(content)
    return engine if calendar is engine.calendar else replace(engine, calendar=calendar)
