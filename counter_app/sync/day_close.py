"""日结: the office's day report and its sign-off by a supervisor.

The report is built from sections, each a small query over the office database: filings by kind
(the business date of each step), the office's filings by their status at the day's end,
online applications reviewed, the office's claims by status,
and the claims settled on the business day with what the fund paid and the persons paid in cash.
Add a section by appending a function to ``SECTIONS``.
The sign-off is one transaction (the day-close row and its audit entry); a day closes once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from counter_app.domain.claim_lifecycle import STATUS_ORDER
from counter_app.domain.errors import CounterError
from counter_app.domain.money import ZERO
from counter_app.domain.status import ACTION_LABELS, FilingStatus, filing_status
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing
from counter_app.storage.queues import ACTIONS_COUNTED, actions_on
from counter_app.storage.records import audit
from counter_app.storage.sync_models import DayClose, OnlineApplication
from counter_app.sync import outbox
from counter_app.sync.transitions import BUSINESS_ZONE

REVIEW_LABELS = {"approved": "通过", "rejected": "不通过"}


class DayCloseRefused(CounterError, ValueError):
    """A day close that cannot be signed; the message is Chinese."""


@dataclass
class Section:
    """One part of the report: a title and rows of (label, count, amount or None)."""

    title: str
    rows: list[tuple[str, int, Decimal | None]] = field(default_factory=list)


@dataclass
class DayReport:
    """The day's figures and the sync state at the time of the report."""

    office_code: str
    office_name: str
    day: date
    sections: list[Section]
    pending_events: int
    problems: int
    #: The backup line (``storage.backup.report_line``); empty when backups are not reported.
    backup: str = ""

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"{self.office_name}（{self.office_code}）日结报表 {self.day.isoformat()}"]
        for section in self.sections:
            out.append(f"【{section.title}】")
            if not section.rows:
                out.append("  无")
            for label, count, amount in section.rows:
                money = f"  金额 ￥{amount:,.2f}" if amount is not None else ""
                out.append(f"  {label}：{count} 笔{money}")
        out.append(f"未上传事件：{self.pending_events}    待处理退回：{self.problems}")
        if self.backup:
            out.append(self.backup)
        return out

    def as_json(self) -> dict[str, Any]:
        """The report as stored with the sign-off."""
        return {
            "day": self.day.isoformat(),
            "sections": [
                {
                    "title": s.title,
                    "rows": [
                        [label, n, str(a) if a is not None else None] for label, n, a in s.rows
                    ],
                }
                for s in self.sections
            ],
            "pending_events": self.pending_events,
            "problems": self.problems,
            "backup": self.backup,
        }


def _filings(session: Session, office_id: int, day: date, zone: tzinfo) -> Section:
    counts = actions_on(session, day, office_id)
    return Section(
        ACTIONS_COUNTED,
        [(label, counts[key], None) for key, label in ACTION_LABELS.items() if key in counts],
    )


def _filing_statuses(session: Session, office_id: int, day: date, zone: tzinfo) -> Section:
    """The office's filings by their status at the end of ``day`` (``domain.status``: a filing
    is 已过期 from the day after its last valid day, 逾期未补 after its follow-up date), and how
    many reached their last valid day that day."""
    rows = session.exec(
        select(  # type: ignore[call-overload]  # sqlmodel types up to four columns
            Filing.status,
            Filing.valid_from,
            Filing.valid_until,
            Filing.followup_due,
            Filing.followup_done_on,
        ).where(Filing.office_id == office_id, Filing.valid_from <= day)
    ).all()
    counts: Counter[FilingStatus] = Counter()
    ending = 0
    for stored, valid_from, valid_until, due, done in rows:
        counts[
            filing_status(
                stored, valid_from, valid_until, day, followup_due=due, followup_done_on=done
            )
        ] += 1
        ending += stored == FilingStatus.ACTIVE and valid_until == day
    section = Section(
        "备案状态（日终）",
        [(s.label, counts[s], None) for s in FilingStatus if counts.get(s)],
    )
    if ending:
        section.rows.append(("当日有效期届满（次日起已过期）", ending, None))
    return section


def _reviews(session: Session, office_id: int, day: date, zone: tzinfo) -> Section:
    start, end = utc_bounds(day, zone)
    rows = session.exec(
        select(OnlineApplication.status, func.count())
        .where(
            OnlineApplication.office_id == office_id,
            col(OnlineApplication.reviewed_at) >= start,
            col(OnlineApplication.reviewed_at) < end,
        )
        .group_by(OnlineApplication.status)
    ).all()
    counts = dict(rows)
    return Section(
        "线上申请审核",
        [(label, counts[key], None) for key, label in REVIEW_LABELS.items() if key in counts],
    )


def _claims(session: Session, office_id: int, day: date, zone: tzinfo) -> Section:
    """The office's claims by status as they stand at the close (the work still open)."""
    counts = dict(
        session.exec(
            select(Claim.status, func.count())
            .where(Claim.office_id == office_id)
            .group_by(Claim.status)
        ).all()
    )
    return Section(
        "零星报销（按状态）",
        [(s.label, counts[s], None) for s in STATUS_ORDER if counts.get(s)],
    )


def _settled(session: Session, office_id: int, day: date, zone: tzinfo) -> Section:
    """Claims settled on the business day: the fund's total and the persons' cash, summed as
    ``Decimal`` (the amounts are stored as exact text, which SQL would sum as floats)."""
    rows = session.exec(
        select(col(Claim.fund_total), col(Claim.personal_cash)).where(
            Claim.office_id == office_id, Claim.settled_on == day
        )
    ).all()
    if not rows:
        return Section("零星报销结算")
    fund = sum((f for f, _ in rows if f is not None), ZERO)
    cash = sum((c for _, c in rows if c is not None), ZERO)
    return Section(
        "零星报销结算", [("基金支付", len(rows), fund), ("个人现金支付", len(rows), cash)]
    )


SECTIONS: list[Callable[[Session, int, date, tzinfo], Section]] = [
    _filings,
    _reviews,
    _claims,
    _settled,
    _filing_statuses,
]


def utc_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants from the office's local midnight of ``day`` to the next one: a moment
    stored in UTC belongs to the office's local date, not the UTC date."""
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def day_report(db: Database, day: date, zone: tzinfo = BUSINESS_ZONE) -> DayReport:
    """The office's report of ``day`` (the office's local date in ``zone``)."""
    office = outbox.office_of(db)
    assert office.id is not None
    with db.read() as session:
        sections = [make(session, office.id, day, zone) for make in SECTIONS]
    state = outbox.status(db)
    return DayReport(office.code, office.name, day, sections, state.pending, state.problems)


def closed(db: Database, day: date) -> DayClose | None:
    """The sign-off of ``day``, if the day is closed."""
    office = outbox.office_of(db)
    with db.read() as session:
        return session.get(DayClose, (office.id, day))


def close_day(db: Database, supervisor: SignedIn, report: DayReport) -> None:
    """Sign the day off (supervisors only; once per day)."""
    if supervisor.role != "supervisor":
        raise DayCloseRefused(
            f"{supervisor.display_name} 不是科长，不能签署日结（日结须由科长签署）"
        )
    try:
        with db.write() as session:
            session.add(
                DayClose(
                    office_id=supervisor.office_id,
                    day=report.day,
                    closed_by=supervisor.clerk_id,
                    pending_events=report.pending_events,
                    report=report.as_json(),
                )
            )
            audit(
                session,
                supervisor.clerk_id,
                "day_close",
                "office",
                supervisor.office_code,
                day=report.day.isoformat(),
                pending_events=report.pending_events,
            )
    except IntegrityError:
        raise DayCloseRefused(f"{report.day.isoformat()} 已经日结过") from None
