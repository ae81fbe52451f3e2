"""The engine's verdict on a filing or a claim, rendered for the clerk (the one verdict widget)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from counter_app.domain.errors import FieldError
from counter_app.domain.results import ClaimResult, FilingResult
from counter_app.ui.claims.render import verdict_text
from counter_app.ui.widgets.content import show

_MARK = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}
FIELD_LABELS = {
    "person.name": "姓名",
    "person.id_number": "身份证号",
    "destination": "就医地",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "home_pool": "参保统筹区",
    # claims (零星报销)
    "case": "报销情形",
    "admission_date": "入院日期",
    "discharge_date": "出院日期",
    "visit_date": "就诊日期",
    "amounts": "费用金额",
    "amounts.total": "总费用",
    "amounts.in_scope": "统筹基金支付范围内费用",
    "amounts.class_b_self": "乙类先行自付",
    "amounts.over_limit_self": "超限价自付",
    "amounts.self_pay": "自费",
    "ytd.deductible_paid": "本年度已付起付线",
    "ytd.fund_paid": "本年度统筹基金已支付",
    "cross_year": "跨年度结算方式",
}


class Verdict(Static):
    """Shows a ``FilingResult`` or a ``ClaimResult`` (or the bad fields) with reasons and
    citations."""

    def show_errors(self, errors: list[FieldError], pending: set[str] | None = None) -> None:
        """Bad input: each field named in Chinese with its problem.

        Fields in ``pending`` belong to steps still ahead: they are listed as to-do, not errors.
        """
        pending = pending or set()
        todo = [e for e in errors if e.field in pending]
        errors = [e for e in errors if e.field not in pending]
        text = Text()
        if todo:
            text.append("待后续步骤填写：", style="bold cyan")
            text.append("、".join(FIELD_LABELS.get(e.field, e.field) for e in todo) + "\n")
        if errors:
            text.append("请更正以下内容：\n", style="bold red")
        for error in errors:
            label = FIELD_LABELS.get(error.field, error.field)
            message = "请填写" if error.message == "应为非空字符串" else error.message
            text.append(f" •{label}：{message}\n")
        show(self, text)

    def show_result(
        self, result: FilingResult | ClaimResult, labels: dict[str, str], note: str = ""
    ) -> None:
        """A decided filing or claim (``note``: a line above the verdict, e.g. what it assumed)."""
        if isinstance(result, ClaimResult):
            show(self, verdict_text(result))
            return
        text = Text()
        if note:
            text.append(f"{note}\n", style="italic")
        if not result.needs_filing:
            text.append("无需备案\n", style="bold cyan")
        elif result.allowed:
            text.append("可以办理\n", style="bold green")
        else:
            text.append("暂不能办理\n", style="bold red")
        for reason in result.reasons:
            mark, style = _MARK[reason.severity]
            # No space after the mark: Rich would move a long CJK "word" to the next line.
            text.append(f" {mark}", style=style)
            text.append(reason.message)
            text.append(f"（{reason.citation}）\n", style="dim")
        if result.checklist:
            text.append("\n材料清单\n", style="bold")
            for item in result.checklist:
                box = "[齐]" if item.satisfied else "[缺]"
                options = " 或 ".join("＋".join(labels[m] for m in o) for o in item.any_of)
                text.append(f" {box}{item.label}：{options}\n")
        if result.destination:
            text.append(f"\n就医地：{result.destination.full_name}（{result.destination.code}）\n")
        if result.needs_filing and result.valid_from:
            until = result.valid_until.isoformat() if result.valid_until else "长期有效"
            text.append(f"有效期：{result.valid_from} 至 {until}\n")
        if result.locked_until:
            text.append(f"变更/取消限制：{result.locked_until} 前不得变更或取消\n")
        if result.followup_due:
            text.append(f"补齐材料期限：{result.followup_due}\n")
        show(self, text)
