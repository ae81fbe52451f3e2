"""Filing rules that stand beside the person category: each returns the reasons it finds.

- 湘办法 第八条: whether a filing is needed at all for the kind of care (``requirements``);
- 湘办法 第十二条: the same disease continued elsewhere is filed directly, without a new referral
  review (``continued_treatment``);
- 补办: a retroactive start is refused beyond the home pool's window (苏规程 第十八条 “参保地规定
  时限”; ``retroactive_window``);
- 京细则 第八至十条: 特殊病 filings — at the counter only, their own materials, at most two
  hospitals per disease, effective from the filing day, costs settled before a stop or change;
- 京细则 第十条: which changes make a new filing (就医地、单位、险种), named in the reason.
"""

from __future__ import annotations

from datetime import date

from counter_app.domain.conditions import matches
from counter_app.domain.dates import term_end
from counter_app.domain.policy import PolicyPack
from counter_app.domain.requests import ExistingFiling, FilingRequest
from counter_app.domain.results import Reason
from counter_app.domain.status import FilingStatus

CHANGE_LABELS = {
    "destination": "就医地",
    "insurance": "险种",
    "category": "人员类别",
    "employer": "单位",
}


def _reason(code: str, message: str, citation: str, severity: str = "error") -> Reason:
    return Reason(code=code, message=message, citation=citation, severity=severity)


def _active(filing: ExistingFiling, today: date) -> bool:
    return filing.status == FilingStatus.ACTIVE.value and (
        filing.valid_until is None or filing.valid_until >= today
    )


def requirement_reasons(pack: PolicyPack, facts: dict[str, object]) -> list[Reason]:
    """Whether direct settlement of this kind of care needs a filing (湘办法 第八条)."""
    for requirement in pack.filing.requirements:
        if matches(requirement.when, facts):
            message = requirement.message
            if requirement.example and "示例" not in message:
                message += "（示例参数，按参保地规定）"
            return [_reason(requirement.code, message, requirement.citation, "info")]
    return []


def continued_treatment_reasons(request: FilingRequest, pack: PolicyPack) -> list[Reason]:
    """The same disease treated on or again elsewhere: filed directly (湘办法 第十二条)."""
    rule = pack.filing.continued_treatment
    if rule is None or not request.continued_treatment or request.category != "referral":
        return []
    message = (
        rule.note or "因同种疾病确需继续治疗或再次转外就医，直接办理备案，不再进行转诊备案审核"
    )
    return [_reason("continued_treatment", message, rule.citation, "info")]


def retroactive_reasons(request: FilingRequest, pack: PolicyPack, valid_from: date) -> list[Reason]:
    """A start before today is a 补办: allowed within the home pool's window, refused beyond it."""
    if valid_from >= request.today:
        return []
    rules = pack.filing
    window = rules.retroactive_window
    if window is not None and request.today > term_end(valid_from, window.months):
        limit = f"{window.months}个月" + ("，示例参数，以参保地规定为准" if window.example else "")
        return [
            _reason(
                "retroactive_too_late",
                f"补办备案的开始日期 {valid_from} 已超过参保地规定的补办时限（{limit}），不予补办",
                window.citation,
            )
        ]
    return [
        _reason(
            "retroactive",
            f"补办备案（自 {valid_from} 起）：{rules.retroactive.note}",
            rules.retroactive.citation,
            "info",
        )
    ]


def special_disease_reasons(
    request: FilingRequest, pack: PolicyPack, target: ExistingFiling | None
) -> list[Reason]:
    """特殊病 filings (京细则 第八至十条); nothing for a pack without them."""
    rules = pack.filing.special_disease
    if rules is None:
        return []
    reasons: list[Reason] = []
    if (
        target is not None
        and target.special_disease
        and request.action in ("change", "cancel")
        and not request.costs_settled
    ):
        what = "终止" if request.action == "cancel" else "变更"
        reasons.append(
            _reason(
                "special_disease_settle_first",
                f"特殊病备案 {target.id}（{target.special_disease}）须先结清当前特殊病医疗费用，"
                f"再办理{what}，原备案效力自动终止",
                rules.settle_first.citation,
            )
        )
    special = request.special_disease
    if special is None:
        return reasons
    if request.channel != "counter":
        reasons.append(
            _reason(
                "special_disease_counter_only",
                "特殊病跨省异地就医备案须到所属参保区医保经办机构窗口办理，不能线上办理",
                rules.counter_only.citation,
            )
        )
    if request.basis == "commitment":
        reasons.append(
            _reason(
                "special_disease_no_commitment",
                "个人承诺书不适用于门诊特殊病跨省异地就医备案，须提供特殊病种诊断证明和备案申报表",
                rules.no_commitment.citation,
            )
        )
    chosen = {h.strip() for h in special.hospitals}
    for existing in request.existing:
        same = existing.special_disease == special.disease
        replaced = target is not None and existing.id == target.id
        if same and not replaced and _active(existing, request.today):
            chosen |= {h.strip() for h in existing.hospitals}
    if len(chosen) > rules.max_hospitals:
        reasons.append(
            _reason(
                "special_disease_hospitals",
                f"一种特殊病原则上可选择{rules.max_hospitals}家定点医疗机构，"
                f"“{special.disease}”共 {len(chosen)} 家：{'、'.join(sorted(chosen))}",
                rules.hospitals.citation,
            )
        )
    return reasons


def special_disease_start(
    request: FilingRequest, pack: PolicyPack, valid_from: date
) -> tuple[date, list[Reason]]:
    """A 特殊病 filing takes effect on the day it is filed (京细则 第十条)."""
    rules = pack.filing.special_disease
    if rules is None or request.special_disease is None or valid_from == request.today:
        return valid_from, []
    reason = _reason(
        "special_disease_effective",
        f"特殊病跨省异地就医备案自办理备案之日（{request.today}）起生效，所选开始日期不予采用",
        rules.effective.citation,
        "warning",
    )
    return request.today, [reason]


def changed_fields(request: FilingRequest, target: ExistingFiling, moved: bool) -> list[str]:
    """What a change request changes among the fields that may force a new filing."""
    employer = request.employer_changed or (
        request.employer is not None
        and target.employer is not None
        and request.employer.strip() != target.employer.strip()
    )
    changed = {
        "destination": moved,
        "insurance": target.insurance is not None and target.insurance != request.insurance,
        "category": target.category != request.category,
        "employer": employer,
    }
    return [name for name, value in changed.items() if value]


def refile_reasons(pack: PolicyPack, target: ExistingFiling, changed: list[str]) -> list[Reason]:
    """京细则 第十条: a change of 就医地、单位 or 险种 is a new filing that voids the old one."""
    rule = pack.filing.supersede
    if rule is None:
        return []
    forcing = [name for name in changed if name in rule.fields]
    if not forcing:
        return []
    what = "、".join(CHANGE_LABELS[name] for name in forcing)
    return [
        _reason(
            "refile",
            f"{what}发生变化，须重新办理备案，不作变更；重新备案后原备案 {target.id} 自动失效",
            rule.citation,
            "info",
        )
    ]
