"""The engine's answer on a claim, rendered for the clerk: verdict, payment lines, citations."""

from __future__ import annotations

from rich.text import Text

from counter_app.domain.claim_lifecycle import ClaimAction
from counter_app.domain.results import ClaimResult, Payment

FILING_LABELS = {
    "long_term": "异地长期居住（已备案）",
    "referral": "异地转诊（已备案）",
    "other_temporary": "其他临时外出就医（已备案）",
    "emergency": "急诊抢救（视同已备案）",
    "none": "未备案",
}
LEVEL_LABELS = {1: "一级", 2: "二级", 3: "三级"}
AMOUNT_LABELS = {
    "total": "总费用",
    "in_scope": "统筹基金支付范围内费用",
    "class_b_self": "乙类先行自付",
    "over_limit_self": "超限价自付",
    "self_pay": "自费",
}
FLAG_LABELS = {
    "rescue": "急诊抢救",
    "died": "抢救无效死亡",
    "injury_no_third_party": "意外伤害，无第三方责任",
    "dual_channel": "“双通道”/单独支付药品",
    "outside_drugs": "院外购药",
    "referred_out": "长期居住人员转诊至备案地外",
}
_MARK = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}


def _percent(ratio: object) -> str:
    return f"{float(str(ratio)) * 100:g}%"


def payment_text(payment: Payment) -> Text:
    """Every line of the computation with its article, the funds by name, the personal cash."""
    text = Text()
    text.append("待遇计算\n", style="bold")
    text.append(
        f" 支付比例{_percent(payment.ratio)}（{payment.adjustment}，"
        f"{payment.adjustment_citation}）\n"
    )
    for line in payment.lines:
        text.append(f" {line.item}：")
        text.append(f"{line.amount}元", style="bold")
        text.append(f"（{line.citation}）\n", style="dim")
    text.append("基金支付\n", style="bold")
    for fund in payment.funds:
        text.append(f" {fund.name}：{fund.amount}元")
        text.append(f"（{fund.citation}）\n", style="dim")
    text.append(f" 基金支付合计：{payment.fund_total}元\n", style="bold green")
    text.append(f" 个人现金支付：{payment.personal_cash}元\n", style="bold")
    if payment.segments:
        text.append("跨年度分段\n", style="bold")
        for seg in payment.segments:
            funds = "、".join(f"{f.name} {f.amount}" for f in seg.funds)
            text.append(
                f" {seg.year}年 {seg.days}天：总费用 {seg.total}，起付 {seg.deductible}，"
                f"{funds}，个人现金 {seg.personal_cash}\n"
            )
    for identity, holds in payment.identities.items():
        text.append(f" [{'对' if holds else '错'}]{identity}\n", style="dim")
    return text


def verdict_text(result: ClaimResult) -> Text:
    """The engine's verdict: eligibility, case, reasons with citations, checklist, due date."""
    text = Text()
    if not result.eligible:
        text.append("不予报销\n", style="bold red")
    elif result.complete:
        text.append("材料齐全，可以受理\n", style="bold green")
    else:
        text.append("材料不全，可存为待补材料\n", style="bold yellow")
    if result.case_label:
        text.append(f"情形：{result.case_label}\n")
    for reason in result.reasons:
        mark, style = _MARK[reason.severity]
        text.append(f" {mark}", style=style)
        text.append(reason.message)
        text.append(f"（{reason.citation}）\n", style="dim")
    if result.checklist:
        text.append("\n材料清单\n", style="bold")
        for item in result.checklist:
            box = "[齐]" if item.satisfied else "[缺]"
            options = " 或 ".join("＋".join(item.labels.get(m, m) for m in o) for o in item.any_of)
            text.append(f" {box}{item.label}：{options}\n")
    if result.due is not None:
        mark = "（暂定）" if result.due.provisional else ""
        text.append(
            f"\n办结时限：{result.due.date}{mark}（{result.due.working_days} 个工作日，"
            f"{result.due.citation}）\n"
        )
    payment = result.payment
    if payment is not None:
        text.append(
            f"\n基金支付 {payment.fund_total} 元，个人现金 {payment.personal_cash} 元\n",
            style="bold",
        )
    return text


def history_label(action: str) -> str:
    """A transition's name."""
    return ClaimAction.label_of(action)
