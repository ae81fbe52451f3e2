"""The provincial store's filing statuses and the transitions each kind of event may make.

The store decides a filing's status itself; an office only asks. Statuses are exact lower-case
values (``FilingStatus``); ``expired`` is never stored, it is what an ``active`` or ``pending``
filing is once its ``valid_until`` has passed (counted by the business date in China).

Transition table (current standing → results the event may ask for; anything else is refused):

============================  =====================  ===========================================
event                          from                   to
============================  =====================  ===========================================
``filing.new``                 (number not held)      ``active``, ``pending``
``filing.change``              ``pending``            ``pending``, ``active`` (activation)
``filing.change``              ``active``             ``active``
``filing.cancel``              ``pending``/``active`` ``cancelled``
``supersedes`` of a new one    ``pending``/``active`` ``superseded`` (already ended: left as is)
``application.review``         (number not held)      ``active``
============================  =====================  ===========================================

A pending filing becomes active only through a ``filing.change`` of its own office asking for
``active``; like every result ``active``, that runs the conflict check (the engine's rule,
``counter_app.domain.filing.filing_conflicts``). Only the filing's own office may change, cancel
or supersede it, and only for the same person; ``cancelled``, ``superseded`` and ``expired``
filings take no event at all (an ended filing needs a new one).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

#: The business day of the store is China's (UTC+8), not the server clock's UTC date.
BUSINESS_ZONE = ZoneInfo("Asia/Shanghai")


class FilingStatus(StrEnum):
    """A filing's status at the store (``EXPIRED`` is derived from the dates, never stored)."""

    PENDING = "pending"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


#: What the store writes: every status but the derived one.
STORED = (
    FilingStatus.PENDING,
    FilingStatus.ACTIVE,
    FilingStatus.CANCELLED,
    FilingStatus.SUPERSEDED,
)

LABELS = {
    FilingStatus.PENDING: "待生效",
    FilingStatus.ACTIVE: "有效",
    FilingStatus.CANCELLED: "已取消",
    FilingStatus.SUPERSEDED: "已被新备案替代",
    FilingStatus.EXPIRED: "已过期",
}

_P, _A, _C, _S = (
    FilingStatus.PENDING,
    FilingStatus.ACTIVE,
    FilingStatus.CANCELLED,
    FilingStatus.SUPERSEDED,
)
SUPERSEDE = "supersede"

#: ``TRANSITIONS[event][current]`` → the statuses the event may lead to; ``None`` = not held.
TRANSITIONS: dict[str, dict[FilingStatus | None, frozenset[FilingStatus]]] = {
    "filing.new": {None: frozenset({_A, _P})},
    "filing.change": {_P: frozenset({_P, _A}), _A: frozenset({_A})},
    "filing.cancel": {_P: frozenset({_C}), _A: frozenset({_C})},
    SUPERSEDE: {_P: frozenset({_S}), _A: frozenset({_S})},
    "application.review": {None: frozenset({_A})},
}

_ACTIONS = {
    "filing.new": "新增",
    "filing.change": "变更",
    "filing.cancel": "取消",
    SUPERSEDE: "替代",
    "application.review": "审核通过",
}


def business_today() -> date:
    """Today in China (the date that decides expiry at the store)."""
    return datetime.now(BUSINESS_ZONE).date()


def standing(status: str, valid_until: str | None, today: date) -> FilingStatus:
    """The status that counts today: a stored status, or ``expired`` once the end has passed.

    An unknown stored value (a row from before statuses were checked) counts as ended.
    """
    try:
        stored = FilingStatus(status)
    except ValueError:
        return FilingStatus.CANCELLED
    if stored in (_A, _P) and valid_until:
        try:
            if date.fromisoformat(valid_until) < today:
                return FilingStatus.EXPIRED
        except ValueError:
            return FilingStatus.EXPIRED
    return stored


def refusal(event: str, current: FilingStatus | None, wanted: FilingStatus) -> str:
    """Why the transition is not allowed (Chinese), or ``""`` when the table allows it."""
    allowed = TRANSITIONS[event].get(current)
    if allowed is not None and wanted in allowed:
        return ""
    action = _ACTIONS[event]
    if current is None:
        return f"省平台没有该备案，不能{action}"
    if allowed is None:
        if current is FilingStatus.EXPIRED:
            return f"备案已过期，不能{action}；须新办备案"
        return f"备案{LABELS[current]}（{current}），不能{action}"
    return f"备案{LABELS[current]}（{current}），不能{action}为{LABELS[wanted]}（{wanted}）"
