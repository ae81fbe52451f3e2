"""The steps of the claim wizard, one Screen each, with the engine's verdict in view.

情形 → 就医 → 特殊情况 → 材料 → 明细（可选）→ 金额 → 核对. The screens only collect what the
clerk types into ``ClaimState``; the engine validates it (a bad field's message appears under that
field) and decides everything else. The review step saves as 待补材料 (F9) or accepts (F10).
"""

from __future__ import annotations

from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, DataTable, Input, Label, Select, SelectionList, Static

from counter_app.domain.claim_documents import (
    ADMISSION_MODES,
    HOSPITAL_DETAILS,
    TREATMENT_LABELS,
    hospital_errors,
    normalise_hospital,
)
from counter_app.domain.errors import FieldError
from counter_app.domain.money import MoneyError, normalise_typed_amount, parse_money
from counter_app.domain.results import ClaimResult
from counter_app.ui.claims.render import (
    FILING_LABELS,
    FLAG_LABELS,
    LEVEL_LABELS,
    payment_text,
    verdict_text,
)
from counter_app.ui.claims.state import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    FLAG_FIELDS,
    ClaimState,
    CommittedClaim,
)
from counter_app.ui.services import INSURANCE_LABELS, SCOPE_LABELS
from counter_app.ui.widgets.form import (
    choice_select,
    field_with_error,
    fill_checklist,
    form_row,
    show_field_error,
)
from counter_app.ui.widgets.form import (
    error_id as error_id,
)
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.widgets.wrapped import WrappedStatic
from counter_app.ui.wizard.steps import WizardStep
from counter_app.ui.workers import load_in_worker
from counter_app.workflows.claims import shown_year_to_date

AUTO_CASE = "auto"
DATE_LABELS = {"admission_date": "入院日期", "discharge_date": "出院日期", "visit_date": "就诊日期"}
#: The hospital details the settlement slip prints (optional; stored with the claim).
HOSPITAL_FIELDS = tuple((key, label, hint) for key, (label, hint, _) in HOSPITAL_DETAILS.items())
NO_MODE = "（未填）"
#: The slip categories in five cells (the label column); the verdict uses the full names.
SHORT_LABELS = {
    "total": "总费用",
    "in_scope": "范围内费用",
    "class_b_self": "乙类自付",
    "over_limit_self": "超限价自付",
    "self_pay": "自费",
}
CROSS_YEAR_LABELS = {"lump": "整体结算", "split": "按天数分割到两个年度"}


def hospital_lines(hospital: dict[str, str]) -> list[str]:
    """The slip's hospital details as the review step lists them (only those given)."""
    given = [
        f"{label}：{hospital[key]}"
        for key, label in [
            ("admission_mode", "入院方式"),
            *((k, v[0]) for k, v in HOSPITAL_DETAILS.items()),
        ]
        if hospital.get(key)
    ]
    return ["结算单：" + "  ".join(given)] if given else []


class ClaimStep(WizardStep[ClaimState, ClaimResult]):
    """A claim step: its fields on the left (a bad field's message under it), the engine's
    verdict on the right; F10 goes on only once this step's fields are right."""


class CaseStep(ClaimStep):
    """报销情形, 险种, 范围 and the filing the person has (prefilled from their filings)."""

    STEP_TITLE = "情形"
    FIELDS = frozenset({"case", "insurance", "scope", "filing"})

    def form(self) -> ComposeResult:
        values = self.state.values
        cases = {AUTO_CASE: "按备案和就医情况自动判断"} | {
            c.id: c.label for c in self.services.engine.pack.claim.cases
        }
        yield from field_with_error(
            "报销情形", choice_select(cases, values.get("case") or AUTO_CASE, "case"), "case"
        )
        yield from form_row(
            "险种", choice_select(INSURANCE_LABELS, values["insurance"], "insurance")
        )
        yield from form_row("范围", choice_select(SCOPE_LABELS, values["scope"], "scope"))
        yield from form_row("备案情况", choice_select(FILING_LABELS, values["filing"], "filing"))
        yield Label("备案情况已按此人现有备案预填，可修改", classes="hint")

    def collect(self) -> None:
        values = self.state.values
        case = self.query_one("#case", Select).value
        values["case"] = None if case == AUTO_CASE else case
        for name in ("insurance", "scope", "filing"):
            values[name] = self.query_one(f"#{name}", Select).value

    @on(Select.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()


class TreatmentStep(ClaimStep):
    """就医类别, 医院等级, 定点, the dates of the treatment, and the hospital for the slip."""

    STEP_TITLE = "就医"
    FIELDS = frozenset({"treatment", "hospital_level", "designated", "special", *DATE_FIELDS})

    def form(self) -> ComposeResult:
        values = self.state.values
        yield from form_row(
            "就医类别", choice_select(TREATMENT_LABELS, values["treatment"], "treatment")
        )
        yield from form_row(
            "医院等级", choice_select(LEVEL_LABELS, values["hospital_level"], "hospital_level")
        )
        for name, label in DATE_LABELS.items():
            yield from field_with_error(
                label,
                Input(values.get(name) or "", placeholder="年-月-日", id=name, compact=True),
                name,
            )
        hospital = self.state.hospital
        modes = {NO_MODE: NO_MODE} | {m: m for m in ADMISSION_MODES}
        mode = hospital.get("admission_mode") or NO_MODE
        yield from form_row("入院方式", choice_select(modes, mode, "hospital_admission_mode"))
        for name, label, hint in HOSPITAL_FIELDS:
            yield from field_with_error(
                label,
                Input(
                    hospital.get(name, ""),
                    placeholder=hint,
                    id=f"hospital_{name}",
                    max_length=HOSPITAL_DETAILS[name][2],
                    compact=True,
                ),
                f"hospital.{name}",
            )
        yield Label("", id="hospital_errors", classes="error")
        cross_modes = self.services.engine.pack.payment.cross_year.modes
        if len(cross_modes) > 1:
            current = (
                values.get("cross_year") or self.services.engine.pack.payment.cross_year.default
            )
            yield from form_row(
                "跨年度",
                choice_select(
                    {m: CROSS_YEAR_LABELS[m] for m in cross_modes}, current, "cross_year"
                ),
            )
        yield Checkbox("定点医疗机构", bool(values["designated"]), id="designated", compact=True)
        yield Checkbox(
            "特殊情况（办结时限按特殊情形）", bool(values["special"]), id="special", compact=True
        )

    def collect(self) -> None:
        values = self.state.values
        values["treatment"] = self.query_one("#treatment", Select).value
        values["hospital_level"] = self.query_one("#hospital_level", Select).value
        for name in DATE_FIELDS:
            values[name] = self.query_one(f"#{name}", Input).value.strip() or None
        if self.query("#cross_year"):
            values["cross_year"] = self.query_one("#cross_year", Select).value
        values["designated"] = self.query_one("#designated", Checkbox).value
        values["special"] = self.query_one("#special", Checkbox).value
        hospital = {
            name: self.query_one(f"#hospital_{name}", Input).value for name, _, _ in HOSPITAL_FIELDS
        }
        mode = self.query_one("#hospital_admission_mode", Select).value
        hospital["admission_mode"] = "" if mode == NO_MODE else str(mode)
        self.state.hospital = normalise_hospital(hospital)

    def action_next(self) -> None:
        """The slip's details are checked here (住院号, ICD-10 codes); the rest by the engine."""
        self.collect()
        errors = hospital_errors(self.state.hospital)
        self.query_one("#hospital_errors", Label).update("\n".join(errors.values()))
        if errors:
            self.query_one(f"#hospital_{next(iter(errors))}").focus()
            self.notify("请先按字段下方的提示更正", severity="error")
            return
        super().action_next()

    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(Input.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()


class FlagsStep(ClaimStep):
    """Circumstances that add materials or change the ratio (space toggles)."""

    STEP_TITLE = "特殊情况"

    def form(self) -> ComposeResult:
        flags = self.state.values["flags"]
        yield Label("有以下情况的请勾选（空格切换，Tab 下一项）", classes="hint")
        for name in FLAG_FIELDS:
            yield Checkbox(FLAG_LABELS[name], bool(flags.get(name)), id=name, compact=True)

    def collect(self) -> None:
        self.state.values["flags"] = {
            name: self.query_one(f"#{name}", Checkbox).value for name in FLAG_FIELDS
        }

    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()


class ClaimMaterialsStep(ClaimStep):
    """The engine's checklist for this claim: space ticks a material presented.

    For a claim taken up again (补材料), F10 with the materials now complete accepts it at once
    (the review step opens and accepts); otherwise F10 goes on to the next step.
    """

    STEP_TITLE = "材料"
    BINDINGS = [
        Binding(
            "f10",
            "next",
            "下一步（补材料齐全即受理）",
            id="claim.materials.next",
            tooltip="补材料的报销：材料齐全时直接受理并出具回执；否则进入下一步",
        ),
    ]

    def action_next(self) -> None:
        self.collect()
        outcome = self.state.evaluate(self.services)
        if (
            self.state.claim_number
            and not isinstance(outcome, list)
            and outcome.eligible
            and outcome.complete
        ):
            self.state.accept_on_arrival = True
            self.state.step = STEPS.index(ClaimReviewStep) - 1  # the wizard adds one
        super().action_next()

    def form(self) -> ComposeResult:
        yield Label("已收材料（空格勾选；可替代的材料都列出）", classes="section")
        yield SelectionList[str](id="materials")

    def on_mount(self) -> None:
        outcome = self.state.evaluate(self.services)
        fill_checklist(
            self.query_one(SelectionList),
            [] if isinstance(outcome, list) else outcome.checklist,
            self.state.values["materials"],
            self.services.engine.pack.material_labels,
        )
        super().on_mount()

    def collect(self) -> None:
        self.state.values["materials"] = list(self.query_one(SelectionList).selected)

    @on(SelectionList.SelectedChanged)
    def _ticked(self) -> None:
        self.collect()
        self.refresh_verdict()


class LinesStep(ClaimStep):
    """费用明细 (optional): lines of date, item, amount and category that sum into the slip."""

    STEP_TITLE = "明细"
    BINDINGS = [
        Binding("f3", "add_line", "加入明细", id="claim.lines.add", tooltip="把填写的一行加入明细"),
        Binding("delete", "remove_line", "删除明细", id="claim.lines.remove",
                tooltip="删除光标所在的明细"),
    ]  # fmt: skip

    def form(self) -> ComposeResult:
        yield Label("可选；有明细时金额按明细汇总", classes="hint")
        yield from field_with_error(
            "日期", Input(placeholder="年-月-日，可不填", id="line_day", compact=True), "line.day"
        )
        yield from field_with_error(
            "项目", Input(placeholder="如 床位费", id="line_item", compact=True), "line.item"
        )
        yield from field_with_error(
            "金额", Input(placeholder="元", id="line_amount", compact=True), "line.amount"
        )
        yield from form_row(
            "类别", choice_select(dict(list(SHORT_LABELS.items())[1:]), "in_scope", "line_category")
        )
        yield CounterTable(id="lines", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("日期", "项目", "金额", "类别")
        self._show_lines()
        super().on_mount()

    def _show_lines(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            (line["day"] or "—", line["item"], line["amount"], SHORT_LABELS[line["category"]])
            for line in self.state.lines
        )

    def action_add_line(self) -> None:
        """Check the typed line (each bad field named) and add it."""
        day = self.query_one("#line_day", Input).value.strip()
        item = self.query_one("#line_item", Input).value.strip()
        amount = self.query_one("#line_amount", Input).value.strip()
        problems = {"line.day": "", "line.item": "", "line.amount": ""}
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                problems["line.day"] = f"日期“{day}”无效，应写作 年-月-日，如 2026-01-31"
        if not item:
            problems["line.item"] = "请填写项目名称"
        try:
            value = parse_money(normalise_typed_amount(amount), allow_zero=False)
        except MoneyError as exc:
            problems["line.amount"] = str(exc)
        for field, message in problems.items():
            show_field_error(self, field, message)
        if any(problems.values()):
            return
        category = self.query_one("#line_category", Select).value
        self.state.lines.append(
            {"day": day or None, "item": item, "amount": f"{value:.2f}", "category": category}
        )
        for name in ("line_item", "line_amount"):
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#line_item", Input).focus()
        self._show_lines()

    def action_remove_line(self) -> None:
        """Remove the line under the cursor."""
        table = self.query_one(DataTable)
        if self.state.lines and 0 <= table.cursor_row < len(self.state.lines):
            del self.state.lines[table.cursor_row]
            self._show_lines()

    def errors_here(self) -> list[FieldError]:
        return []  # the lines are checked as they are added

    @on(Input.Submitted, "#line_amount")
    def _enter_adds(self) -> None:
        self.action_add_line()


class AmountsStep(ClaimStep):
    """The slip categories (总费用 = the four parts, checked by the engine as typed) and YTD."""

    STEP_TITLE = "金额"
    FIELDS = frozenset({"amounts", *(f"amounts.{name}" for name in AMOUNT_FIELDS)})

    def form(self) -> ComposeResult:
        amounts = self.state.amounts
        for name in AMOUNT_FIELDS:
            yield from field_with_error(
                SHORT_LABELS[name],
                Input(amounts.get(name, ""), placeholder="元，两位小数", id=name, compact=True),
                f"amounts.{name}",
            )
        yield Label("本年度累计（可修改，记入审计）", classes="section")
        ytd = self.state.ytd
        yield from field_with_error(
            "已付起付线",
            Input(ytd.get("deductible_paid", ""), id="deductible_paid", compact=True),
            "ytd.deductible_paid",
        )
        yield from field_with_error(
            "基金已支付",
            Input(ytd.get("fund_paid", ""), id="fund_paid", compact=True),
            "ytd.fund_paid",
        )

    def on_mount(self) -> None:
        if self.state.lines:
            # The slip is the sum of the itemised lines: shown, not typed.
            for name, value in self.state.line_sums().items():
                field = self.query_one(f"#{name}", Input)
                field.value, field.disabled = value, True
            self.collect()
        super().on_mount()
        self.load_ytd()

    def load_ytd(self) -> None:
        """The year's accumulators from this office's settled claims (off the UI thread)."""

        def read() -> tuple[dict[str, str], dict[str, str]]:
            services = self.services
            current, previous = shown_year_to_date(
                services.db,
                services.engine,
                services.clerk.office_id,
                self.state.person_id,
                self.state.values,
                services.today,
            )
            return current, previous

        load_in_worker(
            self,
            read,
            lambda loaded: self._show_ytd(*loaded),
            group="ytd",
            description="读取本年度累计",
        )

    def _show_ytd(self, current: dict[str, str], previous: dict[str, str]) -> None:
        self.state.ytd_computed, self.state.ytd_previous = current, previous
        for name in ("deductible_paid", "fund_paid"):
            field = self.query_one(f"#{name}", Input)
            if not field.value:
                field.value = current[name]
        self.refresh_verdict()

    def collect(self) -> None:
        self.state.amounts = {
            name: self.query_one(f"#{name}", Input).value.strip() for name in AMOUNT_FIELDS
        }
        self.state.ytd = {
            name: self.query_one(f"#{name}", Input).value.strip()
            for name in ("deductible_paid", "fund_paid")
        }

    @on(Input.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()


class ClaimReviewStep(ClaimStep):
    """核对: the request and the engine's payment line by line; F10 受理, F9 存为待补材料."""

    STEP_TITLE = "核对"
    COMMIT_DESCRIPTION = "保存报销"
    BINDINGS = [
        Binding("escape", "back", "上一步", id="claim.back", tooltip="回到上一步修改"),
        Binding(
            "f9",
            "save_pending",
            "存为待补材料",
            id="claim.pending",
            tooltip="材料不全：保存并出具一次性告知书",
        ),
        Binding("f10", "next", "受理", id="claim.accept", tooltip="材料齐全：受理并出具回执"),
    ]

    def form(self) -> ComposeResult:
        values = self.state.values
        flags = "、".join(FLAG_LABELS[f] for f, on_ in values["flags"].items() if on_) or "无"
        dates = "～".join(
            values[name] for name in ("admission_date", "discharge_date") if values.get(name)
        ) or (values.get("visit_date") or "—")
        lines = (
            f"参保人：{self.state.person_name}"
            + (f"（补材料 {self.state.claim_number}）" if self.state.claim_number else ""),
            f"险种：{INSURANCE_LABELS[values['insurance']]}  {SCOPE_LABELS[values['scope']]}  "
            f"{FILING_LABELS[values['filing']]}",
            f"就医：{TREATMENT_LABELS[values['treatment']]}  "
            f"{LEVEL_LABELS[int(values['hospital_level'])]}医院  "
            f"{'定点' if values['designated'] else '非定点'}  {dates}",
            f"特殊情况：{flags}",
            *hospital_lines(self.state.hospital),
        )
        yield WrappedStatic("\n".join(lines), id="review_request")
        yield Label("", id="commit_message", classes="error")
        yield WrappedStatic("", id="payment")
        yield WrappedStatic("", id="review_verdict")

    def on_mount(self) -> None:
        super().on_mount()
        if self.state.accept_on_arrival:  # F10 at the materials step of a completed claim
            self.state.accept_on_arrival = False
            self.call_after_refresh(self.action_next)

    def refresh_verdict(self) -> ClaimResult | None:
        result = super().refresh_verdict()
        # The review is read at full width: the verdict pane is hidden, its text shown here.
        self.query_one("#review_verdict", Static).update(
            verdict_text(result) if result is not None else "请返回上一步更正（见各字段提示）"
        )
        payment = self.query_one("#payment", Static)
        if result is not None and result.payment is not None:
            payment.update(payment_text(result.payment))
        else:
            payment.update("未填写费用金额，暂无待遇计算" if result is not None else "")
        return result

    def action_next(self) -> None:
        """受理: only with complete materials."""
        result = self.refresh_verdict()
        message = self.query_one("#commit_message", Label)
        if result is None or not result.eligible:
            message.update("规则判断不予报销，请按右侧提示返回修改")
        elif not result.complete:
            message.update("材料不全，不能受理：按 F9 存为待补材料并出具一次性告知书")
        else:
            message.update("正在受理…")
            self.commit(result)

    def action_save_pending(self) -> None:
        """存为待补材料 (with complete materials the claim is accepted instead)."""
        result = self.refresh_verdict()
        message = self.query_one("#commit_message", Label)
        if result is None or not result.eligible:
            message.update("规则判断不予报销，请按右侧提示返回修改")
        elif result.complete:
            message.update("材料已齐全，请按 F10 受理")
        else:
            message.update("正在保存…")
            self.commit(result)

    def committed(self, committed: CommittedClaim) -> None:
        from counter_app.ui.claims.documents import DocumentScreen

        _, source = committed
        self.dismiss("done")
        self.app.push_screen(DocumentScreen(self.services, source))


#: The one order of the steps.
STEPS: list[type[ClaimStep]] = [
    CaseStep,
    TreatmentStep,
    FlagsStep,
    ClaimMaterialsStep,
    LinesStep,
    AmountsStep,
    ClaimReviewStep,
]
MATERIALS_STEP = STEPS.index(ClaimMaterialsStep)
