"""The fund payment of a manual reimbursement claim, under home-pool (参保地) parameters.

Per calendar-year segment: the deductible (起付标准, per admission or per year, less what the
person already paid this year), the ratio (base ratio by hospital level, less the region's
reduction, or a fixed ratio; a 保底 floor where the region keeps one), the pool fund capped by the
annual limit (最高支付限额) less the year-to-date fund payments, and the funds that pay above the
cap. Each fund is rounded half-up to the cent; personal cash is the rest, so both slip identities
(苏 附件9, 京 附件13) hold to the cent by construction and are re-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from counter_app.domain.conditions import matches
from counter_app.domain.money import ZERO, round_money
from counter_app.domain.policy import Adjustment, Fund, PolicyPack
from counter_app.domain.requests import Amounts, YearToDate
from counter_app.domain.results import FundLine, Payment, PaymentLine, Segment

HUNDRED = Decimal(100)
ONE = Decimal(1)


@dataclass(frozen=True)
class Stay:
    """The dates and class of the treatment being paid."""

    treatment_class: str
    level: str
    start: date
    end: date


@dataclass(frozen=True)
class _Part:
    year: int
    days: int
    amounts: Amounts
    ytd: YearToDate


def _deductible_basis(per: str, standard: Decimal, paid: Decimal) -> str:
    """How the region counts the deductible, in words: once a year or for each admission."""
    if per == "year":
        return f"（按年度计：每年 {standard}，本年度已付 {paid}）"
    return f"（按每次住院计：每次 {standard}）"


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * HUNDRED).normalize():f}%"


def _split(amounts: Amounts, stay: Stay, ytd: YearToDate, ytd_previous: YearToDate) -> list[_Part]:
    """Split a stay over 1 January by hospital days (daily average, 京细则 第三十一条)."""
    total_days = (stay.end - stay.start).days
    new_year = date(stay.end.year, 1, 1)
    first_days = (new_year - stay.start).days
    fields = ("total", "in_scope", "class_b_self", "over_limit_self", "self_pay")
    first: dict[str, Decimal] = {}
    second: dict[str, Decimal] = {}
    for name in ("in_scope", "class_b_self", "over_limit_self", "self_pay"):
        value: Decimal = getattr(amounts, name)
        first[name] = round_money(value * first_days / total_days)
        second[name] = value - first[name]
    first["total"] = sum((first[n] for n in fields[1:]), ZERO)
    second["total"] = amounts.total - first["total"]
    return [
        _Part(stay.end.year - 1, first_days, Amounts.model_validate(_texts(first)), ytd_previous),
        _Part(stay.end.year, total_days - first_days, Amounts.model_validate(_texts(second)), ytd),
    ]


def _texts(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: f"{v:.2f}" for k, v in values.items()}


def pick_adjustment(pack: PolicyPack, facts: dict[str, Any]) -> Adjustment:
    """The first row of the ratio table whose condition holds (the last row always does)."""
    return next(row for row in pack.payment.adjustments if matches(row.when, facts))


def _example_label(row: Adjustment) -> str:
    """The row's label; a value no seed gives says so (示例)."""
    if row.example and "示例" not in row.label:
        return f"{row.label}（示例参数）"
    return row.label


def _funds_for(pack: PolicyPack, insurance: str) -> tuple[Fund, list[Fund]]:
    funds = [f for f in pack.payment.funds if insurance in f.insurance]
    basic = next(f for f in funds if f.kind == "basic")
    return basic, [f for f in funds if f.kind == "above_cap"]


def compute_payment(
    pack: PolicyPack,
    *,
    insurance: str,
    stay: Stay,
    facts: dict[str, Any],
    amounts: Amounts,
    ytd: YearToDate,
    ytd_previous: YearToDate,
    cross_year: str | None,
) -> Payment:
    """Compute the fund payment and its explanation."""
    params = pack.payment.params(insurance)
    tc = stay.treatment_class
    base_ratio = params.ratio[tc].by_level[stay.level]  # type: ignore[index]
    row = pick_adjustment(pack, facts)
    if row.fixed_ratio is not None:
        ratio = row.fixed_ratio
        reduction = (base_ratio - ratio) * HUNDRED
    else:
        reduction = row.reduction_pp
        ratio = max(ZERO, base_ratio - reduction / HUNDRED)
    floor_ratio: Decimal | None = None
    floor = pack.payment.floor
    if floor is not None and row.floor != "none" and matches(floor.when, facts):
        floor_ratio = floor.ratio
        if row.floor == "reduced":
            floor_ratio = max(ZERO, floor.ratio - row.floor_reduction_pp / HUNDRED)

    floor_mark = "，示例参数" if floor is not None and floor.example else ""
    spans_years = stay.start.year != stay.end.year and tc == "inpatient"
    mode = (cross_year or pack.payment.cross_year.default) if spans_years else None
    if mode == "split" and (stay.end - stay.start).days > 0:
        parts = _split(amounts, stay, ytd, ytd_previous)
    else:
        parts = [_Part(stay.end.year, (stay.end - stay.start).days, amounts, ytd)]

    deductible_rule = params.deductible[tc]  # type: ignore[index]
    standard = round_money(deductible_rule.by_level[stay.level])  # type: ignore[index]
    basic_fund, upper_funds = _funds_for(pack, insurance)
    lines: list[PaymentLine] = []
    segments: list[Segment] = []
    totals: dict[str, Decimal] = {}
    deductible_total = ZERO
    admission_left = standard
    for part in parts:
        if deductible_rule.per == "year":
            due = max(ZERO, standard - part.ytd.deductible_paid)
        else:
            due = admission_left
        deductible = min(part.amounts.in_scope, due)
        admission_left -= deductible
        deductible_total += deductible
        base = part.amounts.in_scope - deductible
        raw = base * ratio
        if floor_ratio is not None:
            raw = max(raw, min(base, part.amounts.in_scope * floor_ratio))
        cap_left = max(ZERO, params.cap - part.ytd.fund_paid)
        basic = round_money(min(raw, cap_left))
        seg_funds = [FundLine(name=basic_fund.name, amount=basic, citation=basic_fund.citation)]
        label = f"{part.year}年" if len(parts) > 1 else ""
        lines.append(
            PaymentLine(
                item=f"{label}本次起付标准"
                + _deductible_basis(deductible_rule.per, standard, part.ytd.deductible_paid),
                amount=deductible,
                citation=deductible_rule.citation,
            )
        )
        lines.append(
            PaymentLine(
                item=f"{label}{basic_fund.name}：(政策范围内 {part.amounts.in_scope} − 起付 "
                f"{deductible}) × {_percent(ratio)}"
                + (
                    f"（保底 {_percent(floor_ratio)}{floor_mark}）"
                    if floor_ratio is not None
                    else ""
                )
                + ("（比例调整为示例参数）" if row.example else "")
                + (f"，受年度最高支付限额 {params.cap} 限制" if raw > cap_left else ""),
                amount=basic,
                citation=row.citation,
            )
        )
        if raw > cap_left and ratio > 0:
            excess = max(ZERO, base - cap_left / ratio)
            above_paid = part.ytd.above_cap_paid
            for fund in upper_funds:
                assert fund.ratio is not None
                room = (fund.cap - above_paid) if fund.cap is not None else excess
                amount = round_money(max(ZERO, min(excess * fund.ratio, room)))
                above_paid += amount
                seg_funds.append(FundLine(name=fund.name, amount=amount, citation=fund.citation))
                lines.append(
                    PaymentLine(
                        item=f"{label}{fund.name}：超过最高支付限额部分 {round_money(excess)} × "
                        f"{_percent(fund.ratio)}" + ("（示例参数）" if fund.example else ""),
                        amount=amount,
                        citation=fund.citation,
                    )
                )
        seg_total = sum((f.amount for f in seg_funds), ZERO)
        for fund_line in seg_funds:
            totals[fund_line.name] = totals.get(fund_line.name, ZERO) + fund_line.amount
        segments.append(
            Segment(
                year=part.year,
                days=part.days,
                total=part.amounts.total,
                in_scope=part.amounts.in_scope,
                deductible=deductible,
                funds=seg_funds,
                fund_total=seg_total,
                personal_cash=part.amounts.total - seg_total,
            )
        )

    citations = {f.name: f.citation for f in pack.payment.funds}
    funds = [FundLine(name=n, amount=a, citation=citations[n]) for n, a in totals.items()]
    fund_total = sum((f.amount for f in funds), ZERO)
    personal_cash = amounts.total - fund_total
    lines.append(
        PaymentLine(
            item="个人现金支付 = 总费用 − 基金支付合计",
            amount=personal_cash,
            citation=pack.payment.funds[0].citation,
        )
    )
    identities = {
        "总费用 = 统筹基金支付范围内费用 + 乙类先行自付费用 + 超限价自付费用 + 自费费用": (
            amounts.total
            == amounts.in_scope + amounts.class_b_self + amounts.over_limit_self + amounts.self_pay
        ),
        "总费用 = 基金支付合计金额 + 个人现金支付金额": amounts.total == fund_total + personal_cash,
    }
    return Payment(
        deductible=deductible_total,
        deductible_standard=standard,
        base_ratio=base_ratio,
        reduction_pp=reduction,
        ratio=ratio,
        floor_ratio=floor_ratio,
        adjustment=_example_label(row),
        adjustment_citation=row.citation,
        funds=funds,
        fund_total=fund_total,
        personal_cash=personal_cash,
        lines=lines,
        segments=segments if len(segments) > 1 else [],
        cross_year=mode,
        settlement_year=stay.end.year,
        identities=identities,
    )
