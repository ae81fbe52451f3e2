"""The person's existing filings as the engine weighs them: their status on the request's day.

``domain.status`` derives the status from the dates; here that status decides whether an
existing filing still stands in the way of a new one (an expired or cancelled filing blocks
nothing) and whether a change or cancel may target it (not once ended: a new filing is needed),
with the region's rule for an overdue 承诺书 (芜细则 三（二）: used up; 湘办法 第二十二条: it
stands).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from counter_app.domain.policy import PolicyPack
from counter_app.domain.requests import ExistingFiling, FilingRequest
from counter_app.domain.status import (
    STANDING,
    FilingAction,
    FilingStatus,
    describe_status,
    status_of,
)

Add = Callable[..., None]
"""(code, message, citation[, severity]) → records a reason."""


def existing_status(filing: ExistingFiling, today: date) -> FilingStatus:
    """An existing filing's status on ``today`` (``domain.status``: from its dates)."""
    return status_of(filing, today)


def used_up(pack: PolicyPack, status: FilingStatus) -> bool:
    """An overdue commitment that gave its benefit once only (芜细则 三（二）): it no longer
    stands in the way of a new filing and cannot be changed."""
    followup = pack.filing.followup
    return (
        status == FilingStatus.OVERDUE and followup is not None and followup.overdue == "once_only"
    )


def stands(filing: ExistingFiling, pack: PolicyPack, today: date) -> bool:
    """Whether an existing filing still stands in the way of (or is open to) a step on ``today``."""
    status = existing_status(filing, today)
    return status in STANDING and not used_up(pack, status)


def check_target(
    request: FilingRequest, pack: PolicyPack, target: ExistingFiling, add: Add
) -> None:
    """A change or cancel needs a filing that still stands on the business day."""
    rules = pack.filing
    action = FilingAction(request.action).label
    status = existing_status(target, request.today)
    text = describe_status(
        status, target.valid_from, target.valid_until, followup_due=target.followup_due
    )
    if status == FilingStatus.EXPIRED:
        validity = rules.categories[target.category].validity
        add(
            "target_expired",
            f"原备案 {target.id} 已过期（{text.detail}），不能{action}；"
            "需要继续异地就医的，请办理新增备案",
            validity.citation if validity else rules.active_conflict.citation,
        )
    elif status not in STANDING:
        add(
            "target_not_active",
            f"原备案 {target.id} {text}，不能{action}；需要异地就医的，请办理新增备案",
            rules.active_conflict.citation,
        )
    elif request.action == "change" and used_up(pack, status):
        assert rules.followup is not None
        add(
            "target_used_up",
            f"原备案 {target.id} 以个人承诺书办理，未在 {target.followup_due} 前补齐材料，"
            f"{rules.followup.consequence}；不能变更，请以认定材料办理新增备案",
            rules.followup.citation,
        )
