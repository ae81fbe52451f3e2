"""Manual reimbursement (零星报销) rules: eligibility, checklist, due date and payment.

``decide_claim`` checks the request's values (dates in order and not in the future, amounts that
add up, known material ids), then decides: which case of the region it is, whether the fund may
pay (designated institutions, except emergencies), the checklist by kind of treatment with the
conditional extras, the due date in Chinese working days once the materials are complete, the
费用协查 flag, and the payment.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from counter_app.domain.checklist import applicable, describe_missing, evaluate
from counter_app.domain.conditions import matches
from counter_app.domain.errors import FieldError, InvalidInput
from counter_app.domain.money import fmt_money
from counter_app.domain.payment import Stay, compute_payment
from counter_app.domain.policy import Followup, PolicyPack
from counter_app.domain.requests import ClaimRequest, FilingRecord
from counter_app.domain.results import Catalogue, ClaimResult, DueDate, Reason
from counter_app.domain.workdays import WorkCalendar

ROUTE_LABELS = {
    "long_term": "异地长期居住人员",
    "emergency": "急诊抢救",
    "referral": "转诊",
    "filed_other": "其他临时外出就医（已备案）",
    "unfiled": "未备案",
}


def _future(field: str, value: date | None, today: date, errors: list[FieldError]) -> None:
    if value is not None and value > today:
        errors.append(FieldError(field, f"日期 {value} 晚于今天（{today}），不能是将来的日期"))


def _validate(request: ClaimRequest, pack: PolicyPack) -> None:
    errors: list[FieldError] = []
    known = {m.id for m in pack.materials}
    for index, material in enumerate(request.materials):
        if material not in known:
            errors.append(FieldError(f"materials[{index}]", f"未知的材料代码“{material}”"))
    admission, discharge = request.admission_date, request.discharge_date
    if request.treatment == "inpatient":
        if admission is None:
            errors.append(FieldError("admission_date", "住院费用须填写入院日期"))
        if discharge is None:
            errors.append(FieldError("discharge_date", "住院费用须填写出院日期"))
    elif admission is None and discharge is None and request.visit_date is None:
        errors.append(FieldError("visit_date", "须填写就诊日期（或入院、出院日期）"))
    if (admission is None) != (discharge is None) and request.treatment != "inpatient":
        missing = "discharge_date" if discharge is None else "admission_date"
        errors.append(FieldError(missing, "入院日期和出院日期须同时填写"))
    if admission and discharge and discharge < admission:
        errors.append(
            FieldError("discharge_date", f"出院日期 {discharge} 早于入院日期 {admission}")
        )
    _future("admission_date", admission, request.today, errors)
    _future("discharge_date", discharge, request.today, errors)
    _future("visit_date", request.visit_date, request.today, errors)
    amounts = request.amounts
    if amounts is not None:
        parts = amounts.in_scope + amounts.class_b_self + amounts.over_limit_self + amounts.self_pay
        if amounts.total <= 0:
            errors.append(FieldError("amounts.total", "总费用必须大于零"))
        elif parts != amounts.total:
            errors.append(
                FieldError(
                    "amounts.total",
                    f"总费用 {amounts.total} 不等于统筹基金支付范围内费用、乙类先行自付、"
                    f"超限价自付、自费之和 {parts}（相差 {amounts.total - parts}）",
                )
            )
    if request.cross_year and request.cross_year not in pack.payment.cross_year.modes:
        errors.append(
            FieldError(
                "cross_year",
                f"{pack.pack.name}跨年度住院只能按“"
                + "、".join(pack.payment.cross_year.modes)
                + f"”结算（{pack.payment.cross_year.citation}）",
            )
        )
    if errors:
        raise InvalidInput(errors)


def _lapsed_commitment(record: FilingRecord, followup: Followup, care: date) -> bool:
    """Whether a 承诺书 filing no longer covers care on ``care`` for want of the materials."""
    due = record.followup_due
    if record.basis != "commitment" or due is None or care <= due:
        return False
    done = record.followup_done_on
    if followup.overdue == "once_only":
        # 芜细则 三（二）: the commitment gave the benefit that once; only materials handed in
        # within the month make the filing long-term.
        return done is None or done > due
    # 湘办法 第二十二条: treated as not filed until the materials are handed in.
    return done is None or done > care


def covered_filing(request: ClaimRequest, pack: PolicyPack) -> tuple[str, list[Reason]]:
    """The filing kind the care actually falls under, judged on the filing's dates.

    Without ``filing_record`` the stated kind stands. With it: care that began before the
    filing did (and a stay discharged before it was filed) counts as not filed — a filing made
    before discharge covers the stay (补办, ``retroactive``); a stay admitted while the filing
    was valid is settled under it even past its end (``admission_in_validity``: 苏规程 第十三条,
    芜规程 第十二条, 湘办法 第十四条); care after the end, or after a 承诺书's follow-up date
    without the materials (``followup``: 湘办法 第二十二条, 芜细则 三（二）), counts as not filed.
    """
    record = request.filing_record
    if record is None or request.filing in ("none", "emergency"):
        return request.filing, []
    start = request.admission_date or request.visit_date or request.discharge_date
    if start is None:
        return request.filing, []
    end = request.discharge_date or request.visit_date or start
    stay = request.admission_date is not None
    rules = pack.filing
    in_validity = rules.admission_in_validity or rules.active_conflict
    reasons: list[Reason] = []

    def note(code: str, message: str, citation: str, severity: str = "warning") -> None:
        reasons.append(Reason(code=code, message=message, citation=citation, severity=severity))

    if start < record.valid_from:
        if stay and end >= record.valid_from:
            note(
                "filed_before_discharge",
                f"入院 {start} 后、出院 {end} 前补办备案（自 {record.valid_from} 起），"
                "视为有效备案",
                rules.retroactive.citation,
                "info",
            )
        else:
            note(
                "care_before_filing",
                f"{'入院' if stay else '就诊'}日期 {start} 早于备案开始日期 {record.valid_from}，"
                f"该次就医不在备案有效期内，按未备案处理（{rules.retroactive.note}）",
                rules.retroactive.citation,
            )
            return "none", reasons
    until = record.valid_until
    if until is not None and start > until:
        note(
            "care_after_filing",
            f"{'入院' if stay else '就诊'}日期 {start} 晚于备案结束日期 {until}（已过期），"
            "该次就医不在备案有效期内，按未备案处理",
            in_validity.citation,
        )
        return "none", reasons
    if until is not None and stay and end > until:
        note(
            "admission_in_validity",
            f"入院日期 {start} 在备案有效期内（至 {until}），出院 {end} 虽在有效期之后，"
            f"{in_validity.note or '仍按备案待遇结算'}",
            in_validity.citation,
            "info",
        )
    followup = rules.followup
    if followup is not None and _lapsed_commitment(record, followup, start):
        note(
            "commitment_overdue",
            f"以个人承诺书办理的备案未在 {record.followup_due} 前补齐材料，{followup.consequence}："
            f"本次就医（{start}）按未备案处理",
            followup.citation,
        )
        return "none", reasons
    return request.filing, reasons


def filing_for_care(records: list[FilingRecord], care: date) -> int | None:
    """Which of a person's filings a claim for care beginning on ``care`` is made under: the
    one valid that day, else the latest that began by then (care after it ended), else the
    earliest (care before any filing began); the index, or ``None`` without filings."""
    if not records:
        return None
    covering = [
        i
        for i, r in enumerate(records)
        if r.valid_from <= care and (r.valid_until is None or care <= r.valid_until)
    ]
    if covering:
        return max(covering, key=lambda i: records[i].valid_from)
    began = [i for i, r in enumerate(records) if r.valid_from <= care]
    if began:
        return max(began, key=lambda i: records[i].valid_from)
    return min(range(len(records)), key=lambda i: records[i].valid_from)


def claim_facts(request: ClaimRequest, filing: str | None = None) -> dict[str, Any]:
    """The facts that the pack's conditions test (route, treatment class, flags …).

    ``filing`` is the kind the care falls under when it differs from the stated one (see
    ``covered_filing``).
    """
    flags = request.flags
    filing = filing or request.filing
    emergency = filing == "emergency" or request.treatment == "emergency" or flags.rescue
    # a long-term person referred out of the filed place follows the home referral policy
    # (苏规程 第十七条 second sentence, 湘办法 第二十一条, 芜细则 三（二）)
    referred_out = filing == "long_term" and flags.referred_out
    if filing == "long_term" and not referred_out:
        route = "long_term"
    elif emergency:
        route = "emergency"
    elif filing == "referral" or referred_out:
        route = "referral"
    elif filing == "other_temporary":
        route = "filed_other"
    else:
        route = "unfiled"
    stayed = request.treatment == "inpatient" or request.admission_date is not None
    return {
        "insurance": request.insurance,
        "scope": request.scope,
        "filing": filing,
        "route": route,
        "treatment": request.treatment,
        "treatment_class": "inpatient" if stayed else "outpatient",
        "hospital_level": request.hospital_level,
        "designated": request.designated,
        "special": request.special,
        "injury_no_third_party": flags.injury_no_third_party,
        "rescue": flags.rescue,
        "died": flags.died,
        "dual_channel": flags.dual_channel,
        "outside_drugs": flags.outside_drugs,
        "emergency": emergency,
        "case": request.case or "",
        "referred_out": referred_out,
    }


def claim_catalogue(pack: PolicyPack, facts: dict[str, Any], scope: str) -> Catalogue:
    """The catalogue and policy a claim is paid under: the pack's first matching rule, else the
    scope's (e.g. 湘办法 第五十三条: a 跨省 claim after a fault uses the home catalogue)."""
    rule = next((r for r in pack.claim.catalogue_rules if matches(r.when, facts)), None)
    chosen = rule or pack.payment.catalogue[scope]  # type: ignore[index]
    return Catalogue(note=chosen.note, citation=chosen.citation)


def _due(
    request: ClaimRequest, pack: PolicyPack, facts: dict[str, Any], calendar: WorkCalendar
) -> DueDate:
    deadline = pack.claim.deadline
    small = (
        facts["treatment_class"] == "outpatient"
        and request.amounts is not None
        and request.amounts.total < deadline.small_outpatient_limit
    )
    if request.special:
        days = deadline.special_days
    elif small:
        days = deadline.small_outpatient_days
    else:
        days = deadline.normal_days
    due = calendar.add_working_days(request.today, days)
    return DueDate(
        date=due.date,
        working_days=days,
        provisional=due.provisional,
        calendar_version=due.calendar_version,
        citation=deadline.citation,
    )


def decide_claim(request: ClaimRequest, pack: PolicyPack, calendar: WorkCalendar) -> ClaimResult:
    """Decide a claim under ``pack``; raises ``InvalidInput`` for bad values."""
    _validate(request, pack)
    covered, reasons = covered_filing(request, pack)
    facts = claim_facts(request, covered)

    def add(code: str, message: str, citation: str, severity: str = "error") -> None:
        reasons.append(Reason(code=code, message=message, citation=citation, severity=severity))

    case = next((c for c in pack.claim.cases if matches(c.when, facts)), None)
    if request.case and (case is None or case.id != request.case):
        stated = next((c for c in pack.claim.cases if c.id == request.case), None)
        if stated is None or not matches(stated.when, facts):
            add(
                "case_mismatch",
                f"所选情形“{stated.label if stated else request.case}”与备案及就医情况不符",
                stated.citation if stated else pack.claim.cases[0].citation,
            )
        else:
            case = stated
    if case is None:
        add("not_claimable", "不属于可以零星报销的情形", pack.claim.cases[0].citation)
    scope_rule = pack.filing.in_province_not_applicable
    if request.scope == "in_province" and scope_rule is not None:
        # e.g. 京细则 第一条: only 跨省 is 异地就医 for a single-pool municipality
        add(
            "scope_not_applicable",
            scope_rule.note or "本地区不办理省内异地就医",
            scope_rule.citation,
        )
    if not request.designated and not matches(pack.claim.designated_exempt, facts):
        add(
            "not_designated",
            pack.claim.not_designated.note or "非定点医疗机构发生的费用医保基金不予支付",
            pack.claim.not_designated.citation,
        )
    for notice in pack.claim.notices:
        if matches(notice.when, facts):
            add(notice.code, notice.message, notice.citation, "info")
    referral_rule = pack.claim.long_term_referral
    if facts["referred_out"] and referral_rule is not None:
        add(
            "long_term_referred",
            referral_rule.note or "长期异地居住人员转诊至备案地外就医，执行参保地转诊转院待遇政策",
            referral_rule.citation,
            "info",
        )
    catalogue = claim_catalogue(pack, facts, request.scope)
    if catalogue.citation != pack.payment.catalogue[request.scope].citation:
        add("catalogue", catalogue.note, catalogue.citation, "info")

    groups = applicable(pack.claim.materials, facts)
    labels = pack.material_labels
    checklist, missing = evaluate(groups, request.materials, labels)
    eligible = not any(r.severity == "error" for r in reasons)
    if missing:
        add(
            "materials_missing",
            "材料不全，请一次性告知补齐：" + describe_missing(checklist, request.materials, labels),
            next(item.citation for item in checklist if not item.satisfied),
            "warning",
        )

    due = _due(request, pack, facts, calendar) if eligible and not missing else None
    if due is not None and due.provisional:
        add(
            "due_provisional",
            f"办结时限 {due.date} 超出节假日数据范围（{due.calendar_version}），按周一至周五推算，"
            "待新年度放假安排公布后核对",
            due.citation,
            "warning",
        )

    amounts = request.amounts
    cost_check = bool(
        pack.claim.cost_check
        and amounts is not None
        and facts["treatment_class"] == "inpatient"
        and amounts.total >= pack.claim.cost_check_threshold
    )
    if cost_check and pack.claim.cost_check and amounts is not None:
        threshold = fmt_money(pack.claim.cost_check_threshold)
        add(
            "cost_check_candidate",
            f"一次性住院总费用 {amounts.total} 元达到 {threshold} 元（含），"
            "如有疑似违规费用，可通过国家异地就医系统提出费用协查申请",
            pack.claim.cost_check.citation,
            "info",
        )

    payment = None
    if eligible and amounts is not None:
        start = request.admission_date or request.visit_date or request.discharge_date
        end = request.discharge_date or request.visit_date or start
        assert start is not None and end is not None
        payment = compute_payment(
            pack,
            insurance=request.insurance,
            stay=Stay(facts["treatment_class"], str(request.hospital_level), start, end),
            facts=facts,
            amounts=amounts,
            ytd=request.ytd,
            ytd_previous=request.ytd_previous,
            cross_year=request.cross_year,
        )

    return ClaimResult(
        eligible=eligible,
        complete=not missing,
        case=case.id if case else None,
        case_label=case.label if case else None,
        reasons=reasons,
        checklist=checklist,
        missing=missing,
        missing_labels=[labels[m] for m in missing],
        due_date=due.date if due else None,
        due=due,
        cost_check_candidate=cost_check,
        payment=payment,
        catalogue=catalogue,
    )
