"""A manual reimbursement claim's (零星报销) life: its statuses, the steps between them, labels.

A claim moves 待补材料 (pending_materials) → 受理 (accepted) → 审核 (reviewing) → 已结算 (settled),
or to 退回 (returned) with a reason. The statuses and the clerk's actions are ``LabelledEnum``
members: the stored string and the one Chinese label every screen, document and report shows.
Pure: the repository (``storage.claims``) writes what is decided here.
"""

from __future__ import annotations

from datetime import date

from counter_app.domain.labels import LabelledEnum


class ClaimStatus(LabelledEnum):
    """Where a claim stands (the value is what the database keeps)."""

    PENDING = ("pending_materials", "待补材料")
    ACCEPTED = ("accepted", "受理")
    REVIEWING = ("reviewing", "审核")
    SETTLED = ("settled", "已结算")
    RETURNED = ("returned", "退回")


class ClaimAction(LabelledEnum):
    """A step on a claim, as its history, audit trail and outbox event (``claim.<action>``)
    name it."""

    SAVE = ("save", "存为待补材料")
    UPDATE = ("update", "补充材料")
    ACCEPT = ("accept", "受理")
    REVIEW = ("review", "审核")
    SETTLE = ("settle", "结算")
    RETURN = ("return", "退回")
    RECALCULATE = ("recalculate", "重新计算")


PENDING = ClaimStatus.PENDING
ACCEPTED = ClaimStatus.ACCEPTED
REVIEWING = ClaimStatus.REVIEWING
SETTLED = ClaimStatus.SETTLED
RETURNED = ClaimStatus.RETURNED

#: The order the queue lists statuses in (work still to do first).
STATUS_ORDER: tuple[ClaimStatus, ...] = (PENDING, ACCEPTED, REVIEWING, RETURNED, SETTLED)
#: action → (the statuses it may start from, the status it leads to): the clerk's transitions
#: on a claim already taken (saving and accepting are the intake, ``intake_step``).
TRANSITIONS: dict[str, tuple[frozenset[ClaimStatus], ClaimStatus]] = {
    ClaimAction.REVIEW: (frozenset({ACCEPTED}), REVIEWING),
    ClaimAction.SETTLE: (frozenset({REVIEWING}), SETTLED),
    ClaimAction.RETURN: (frozenset({PENDING, ACCEPTED, REVIEWING}), RETURNED),
}
#: Statuses whose due date is still a promise to keep (overdue is marked in the queue).
OPEN_STATUSES = frozenset({ACCEPTED, REVIEWING})


def may(action: str, status: str) -> bool:
    """Whether ``action`` (a transition) may start from ``status``."""
    return action in TRANSITIONS and status in TRANSITIONS[action][0]


def intake_step(complete: bool, resumed: bool) -> tuple[ClaimStatus, ClaimAction]:
    """The status and action of an intake: complete materials are accepted; otherwise the claim
    is saved as 待补材料 (first time) or updated (resumed)."""
    if complete:
        return ACCEPTED, ClaimAction.ACCEPT
    return PENDING, ClaimAction.UPDATE if resumed else ClaimAction.SAVE


def is_overdue(status: str, due_date: date | None, today: date) -> bool:
    """An open claim past its due date."""
    return status in OPEN_STATUSES and due_date is not None and due_date < today


#: ``ClaimStatus`` labels by value (derived from the enum: not a second definition).
STATUS_LABELS: dict[str, str] = ClaimStatus.labels()
#: ``ClaimAction`` labels by value (derived from the enum).
ACTION_LABELS: dict[str, str] = ClaimAction.labels()
