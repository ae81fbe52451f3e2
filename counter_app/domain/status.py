"""A filing's status as of a day: the one definition every screen, document and report uses.

The database keeps only what a person decided (``active``, ``cancelled``, ``superseded``); what
time does to a filing is derived here, at read time, from its dates and the business date:

- past ``valid_until`` → 已过期 (expired): the filing ended on that day (临时备案 terms:
  苏规程 第十条, 芜细则 四（二）, 湘办法 第十三条; 京细则 第十条 the end date the person chose);
- a 承诺书 filing past its follow-up date without the materials → 逾期未补 (overdue:
  湘办法 第二十二条, 芜细则 三（二）);
- starting after today → 未生效 (upcoming);
- otherwise 有效 (active).

Nobody has to "expire" a filing by hand, and a status never depends on when a screen was opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from counter_app.domain.labels import LabelledEnum


class FilingStatus(LabelledEnum):
    """What a filing is on a given day, with its one Chinese label (screens, documents, reports,
    messages). ``ACTIVE``, ``CANCELLED``, ``SUPERSEDED`` and ``WITHDRAWN`` are also what the
    database stores."""

    ACTIVE = ("active", "有效")
    UPCOMING = ("upcoming", "未生效")
    OVERDUE = ("overdue", "逾期未补")
    EXPIRED = ("expired", "已过期")
    CANCELLED = ("cancelled", "已取消")
    SUPERSEDED = ("superseded", "已失效（重新备案）")
    #: Taken back after the provincial store refused it (see ``workflows.refusals``).
    WITHDRAWN = ("withdrawn", "已撤回（未被省平台接受）")


class FilingAction(LabelledEnum):
    """A step a clerk takes on a filing (the request's ``action``), with its Chinese label."""

    NEW = ("new", "新增")
    CHANGE = ("change", "变更")
    CANCEL = ("cancel", "取消")


#: ``FilingStatus`` labels by value (derived from the enum: not a second definition).
STATUS_LABELS: dict[str, str] = FilingStatus.labels()
#: ``FilingAction`` labels by value (derived from the enum).
ACTION_LABELS: dict[str, str] = FilingAction.labels()

#: Statuses in which the filing still stands (it blocks a duplicate and can be changed or
#: cancelled). An overdue commitment filing still stands: the person completes the materials
#: on it (湘办法 第二十二条); whether it still blocks is the region's (see ``domain.filing``).
STANDING = frozenset({FilingStatus.ACTIVE, FilingStatus.UPCOMING, FilingStatus.OVERDUE})
#: Statuses in which the filing has ended for good.
ENDED = frozenset(
    {
        FilingStatus.EXPIRED,
        FilingStatus.CANCELLED,
        FilingStatus.SUPERSEDED,
        FilingStatus.WITHDRAWN,
    }
)


def filing_status(
    stored: str,
    valid_from: date,
    valid_until: date | None,
    today: date,
    *,
    followup_due: date | None = None,
    followup_done_on: date | None = None,
) -> FilingStatus:
    """The status of a filing on ``today`` from its stored status and its dates.

    ``valid_until`` is the last valid day (inclusive); ``followup_due`` the last day to hand in
    the materials a 承诺书 stood in for, ``followup_done_on`` the day they were handed in.
    """
    if stored == FilingStatus.CANCELLED:
        return FilingStatus.CANCELLED
    if stored == FilingStatus.SUPERSEDED:
        return FilingStatus.SUPERSEDED
    if stored == FilingStatus.WITHDRAWN:
        return FilingStatus.WITHDRAWN
    if stored == FilingStatus.EXPIRED or (valid_until is not None and today > valid_until):
        return FilingStatus.EXPIRED
    if valid_from > today:
        return FilingStatus.UPCOMING
    missing = followup_done_on is None or followup_done_on > today
    if followup_due is not None and today > followup_due and missing:
        return FilingStatus.OVERDUE
    return FilingStatus.ACTIVE


class DatedFiling(Protocol):
    """Any filing record with the fields the status is derived from (a stored ``Filing``, an
    engine request's ``ExistingFiling``)."""

    @property
    def status(self) -> str: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def followup_due(self) -> date | None: ...
    @property
    def followup_done_on(self) -> date | None: ...


def status_of(filing: DatedFiling, today: date) -> FilingStatus:
    """``filing_status`` of a filing record on ``today``."""
    return filing_status(
        filing.status,
        filing.valid_from,
        filing.valid_until,
        today,
        followup_due=filing.followup_due,
        followup_done_on=filing.followup_done_on,
    )


@dataclass(frozen=True)
class StatusText:
    """A status with the dates that explain it, as the clerk and the person read it."""

    status: FilingStatus
    label: str
    detail: str

    def __str__(self) -> str:
        return f"{self.label}（{self.detail}）" if self.detail else self.label


def describe_status(
    status: FilingStatus,
    valid_from: date,
    valid_until: date | None,
    *,
    followup_due: date | None = None,
) -> StatusText:
    """The label and its dates: 已过期（有效期 2025-10-27 至 2026-04-26） and the like."""
    period = f"有效期 {valid_from} 至 {valid_until or '长期'}"
    if status == FilingStatus.EXPIRED:
        detail = f"{period}，已于 {valid_until} 到期" if valid_until else period
    elif status == FilingStatus.CANCELLED:
        detail = f"{valid_until} 取消" if valid_until else ""
    elif status == FilingStatus.OVERDUE:
        detail = f"承诺书补齐材料期限 {followup_due} 已过"
    elif status == FilingStatus.UPCOMING:
        detail = f"自 {valid_from} 起生效"
    elif status == FilingStatus.SUPERSEDED:
        detail = "已由重新办理的备案替代"
    elif status == FilingStatus.WITHDRAWN:
        detail = "省平台未接受，已撤回"
    else:
        detail = period
    return StatusText(status, status.label, detail)
