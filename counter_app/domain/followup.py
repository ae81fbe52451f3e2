"""Completing a 承诺书 filing: the materials the commitment stood in for, handed in later.

A long-term filing made on a 个人承诺书 owes the category's proof (居住证明, 派出证明 …) by its
follow-up date (``pack.filing.followup``). Handing it in ends the follow-up. Past the date the
region decides: 湘办法 第二十二条 — treated as not filed *until* completed, so a late completion
restores the filing; 芜细则 三（二） — only completion within the month makes the filing
long-term, so a late one is refused and a new filing on the materials is the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from counter_app.domain.checklist import describe_missing, evaluate
from counter_app.domain.policy import PolicyPack
from counter_app.domain.results import ChecklistItem, Reason
from counter_app.domain.status import STANDING, FilingStatus


@dataclass(frozen=True)
class FollowupDecision:
    """Whether the materials complete the filing now, and why (each reason cited)."""

    allowed: bool
    reasons: list[Reason]
    checklist: list[ChecklistItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def followup_materials(pack: PolicyPack, category: str) -> list[str]:
    """The material ids that can complete a filing of ``category`` (its groups' options)."""
    rules = pack.filing.categories.get(category)  # type: ignore[call-overload]
    if rules is None:
        return []
    return list(
        dict.fromkeys(m for group in rules.materials for option in group.any_of for m in option)
    )


def decide_followup(
    pack: PolicyPack,
    *,
    number: str,
    category: str,
    basis: str,
    status: FilingStatus,
    followup_due: date | None,
    followup_done_on: date | None,
    materials: list[str],
    today: date,
) -> FollowupDecision:
    """Decide whether ``materials`` handed in on ``today`` complete the 承诺书 filing."""
    rules = pack.filing
    followup = rules.followup
    reasons: list[Reason] = []

    def add(code: str, message: str, citation: str, severity: str = "error") -> None:
        reasons.append(Reason(code=code, message=message, citation=citation, severity=severity))

    if followup is None or basis != "commitment" or followup_due is None:
        citation = followup.citation if followup else rules.identity.citation
        add("no_followup", f"备案 {number} 无须补齐承诺材料", citation)
        return FollowupDecision(False, reasons)
    if followup_done_on is not None:
        add("followup_done", f"备案 {number} 已于 {followup_done_on} 补齐材料", followup.citation)
        return FollowupDecision(False, reasons)
    if status not in STANDING:
        add("target_not_active", f"备案 {number} 已不在有效期内，不能补齐材料", followup.citation)
        return FollowupDecision(False, reasons)
    late = today > followup_due
    if late and followup.overdue == "once_only":
        add(
            "followup_late",
            f"补齐材料期限 {followup_due} 已过，{followup.consequence}；请以认定材料办理新增备案",
            followup.citation,
        )
        return FollowupDecision(False, reasons)
    category_rules = rules.categories[category]  # type: ignore[index]
    labels = pack.material_labels
    checklist, missing = evaluate(category_rules.materials, materials, labels)
    if missing:
        add(
            "materials_missing",
            "材料不全，还需：" + describe_missing(checklist, materials, labels),
            next(item.citation for item in checklist if not item.satisfied),
        )
    elif late:
        add(
            "followup_late",
            f"逾期补齐（期限 {followup_due}）：自 {today} 起恢复备案待遇，"
            f"此前逾期期间 {followup.consequence}",
            followup.citation,
            "info",
        )
    return FollowupDecision(not missing, reasons, checklist, missing)
