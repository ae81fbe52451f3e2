"""The steps of the filing wizard, one Screen each; the engine's verdict stays in view.

人员类别 → 就医地 → 材料 → 日期 → 核对提交 (a cancel: 材料 → 核对提交); ``STEPS`` at the end is the
one place that order is written. Each step edits ``FilingState.values`` and dismisses with
``"next"`` (F10) or ``"back"`` (Esc); the wizard saves the draft between steps. The review step
commits through the wizard's one commit path (``WizardStep.commit``).
"""

from __future__ import annotations

from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, Input, Label, OptionList, Select, SelectionList
from textual.widgets.option_list import Option

from counter_app.domain.engine import RulesEngine
from counter_app.domain.regions import Region
from counter_app.domain.results import FilingResult
from counter_app.pinyin import pinyin_match
from counter_app.storage.filings import Committed
from counter_app.ui.filings.state import FilingState
from counter_app.ui.services import ACTION_LABELS, BASIS_LABELS, INSURANCE_LABELS, SCOPE_LABELS
from counter_app.ui.widgets.form import choice_select, fill_checklist, form_row
from counter_app.ui.wizard.steps import WizardStep
from counter_app.ui.workers import load_in_worker

__all__ = [
    "FLAGS",
    "STEPS",
    "CategoryStep",
    "DatesStep",
    "DestinationStep",
    "FilingStep",
    "MaterialsStep",
    "ReviewStep",
    "region_flags",
]

FLAGS = [
    ("by_agent", "代办"),
    ("multi_place", "多地备案"),
    ("has_employer", "有参保单位"),
    ("retired", "已退休"),
    ("referral_one_stop", "医院一站式转诊"),
]


def region_flags(engine: RulesEngine) -> list[tuple[str, str]]:
    """The circumstances to ask about: the common ones, plus those only some regions' rules use
    (the wizard's category step and the rules screen ask the same)."""
    rules = engine.pack.filing
    flags = list(FLAGS)
    if rules.continued_treatment is not None:
        flags.append(("continued_treatment", "同种疾病继续治疗或再次转外"))  # 湘办法 第十二条
    if rules.supersede is not None and "employer" in rules.supersede.fields:
        flags.append(("employer_changed", "单位变更（须重新备案）"))  # 京细则 第十条
    return flags


class FilingStep(WizardStep[FilingState, FilingResult]):
    """A filing step: the form edits ``FilingState.values``; the verdict is the engine's."""


class CategoryStep(FilingStep):
    """险种、人员类别、范围 and the circumstances that limit eligibility."""

    STEP_TITLE = "人员类别"
    FIELDS = frozenset({"insurance", "category", "scope"})

    def form(self) -> ComposeResult:
        values = self.state.values
        categories = {
            key: rules.label for key, rules in self.services.engine.pack.filing.categories.items()
        }
        yield from form_row(
            "险种",
            choice_select(INSURANCE_LABELS, values["insurance"], "insurance"),
        )
        yield from form_row(
            "人员类别",
            choice_select(categories, values["category"], "category"),
        )
        yield from form_row(
            "范围",
            choice_select(SCOPE_LABELS, values["scope"], "scope"),
        )
        for flag, text in region_flags(self.services.engine):
            yield Checkbox(text, bool(values.get(flag)), id=flag, compact=True)

    def collect(self) -> None:
        values = self.state.values
        for name in ("insurance", "category", "scope"):
            values[name] = self.query_one(f"#{name}", Select).value
        for flag, _ in region_flags(self.services.engine):
            values[flag] = self.query_one(f"#{flag}", Checkbox).value

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()


class DestinationStep(FilingStep):
    """就医地: type a name, code or pinyin; pick from the list with ↑↓ and Enter."""

    STEP_TITLE = "就医地"
    FIELDS = frozenset({"destination"})

    def form(self) -> ComposeResult:
        yield from form_row(
            "就医地",
            Input(
                placeholder="名称、代码或拼音，如 海南 / 460100 / hn", id="dest_query", compact=True
            ),
        )
        yield Label("", id="chosen")
        yield OptionList(id="dest_options")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_chosen()

    def _show_chosen(self) -> None:
        code = self.state.values.get("destination")
        region = self.services.engine.regions.get(code) if code else None
        self.query_one("#chosen", Label).update(
            f"已选：{region.full_name}（{region.code}）" if region else "尚未选择就医地"
        )

    @on(Input.Changed, "#dest_query")
    def _search(self, event: Input.Changed) -> None:
        text = event.value.strip()
        regions = self.services.engine.regions
        options = self.query_one(OptionList)
        options.clear_options()
        if not text:
            return
        if text.isdigit() and len(text) == 6:
            try:
                found = [regions.normalise(text)]
            except ValueError as exc:
                self.query_one("#chosen", Label).update(str(exc))
                return
        else:
            found = regions.destinations_matching(text, lambda name: pinyin_match(text, name))
        found = found[:30]
        options.add_options([Option(f"{r.full_name}  {r.code}", id=r.code) for r in found])
        if found:
            options.highlighted = 0

    @on(Input.Submitted, "#dest_query")
    def _take_first(self) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.state.values["destination"] = event.option.id
        self._show_chosen()
        self.refresh_verdict()


class MaterialsStep(FilingStep):
    """备案依据 and the checklist: space toggles a material; groups show the alternatives."""

    STEP_TITLE = "材料"

    def form(self) -> ComposeResult:
        values = self.state.values
        if self.state.action != "cancel":  # a cancel needs no basis, only its materials
            yield from form_row(
                "备案依据",
                choice_select(BASIS_LABELS, values["basis"], "basis"),
            )
        yield Label("已收材料（空格勾选）", classes="section")
        yield SelectionList[str](id="materials")

    def on_mount(self) -> None:
        self._fill()
        super().on_mount()

    def _fill(self) -> None:
        """List the materials of the checklist the engine gives for the current choices."""
        outcome = self.state.evaluate(self.services)
        fill_checklist(
            self.query_one(SelectionList),
            [] if isinstance(outcome, list) else outcome.checklist,
            self.state.values["materials"],
            self.services.engine.pack.material_labels,
        )

    def collect(self) -> None:
        if self.state.action != "cancel":
            self.state.values["basis"] = self.query_one("#basis", Select).value
        self.state.values["materials"] = list(self.query_one(SelectionList).selected)

    @on(Select.Changed, "#basis")
    def _basis(self) -> None:
        self.collect()
        self._fill()
        self.refresh_verdict()

    @on(SelectionList.SelectedChanged)
    def _ticked(self) -> None:
        self.collect()
        self.refresh_verdict()


class DatesStep(FilingStep):
    """开始和结束日期 (the end only where the person may choose it)."""

    STEP_TITLE = "日期"
    FIELDS = frozenset({"start_date", "end_date"})

    def form(self) -> ComposeResult:
        values = self.state.values
        yield from form_row(
            "开始日期",
            Input(
                values.get("start_date") or "",
                placeholder="年-月-日，不填为今天",
                id="start_date",
                compact=True,
            ),
        )
        yield from form_row(
            "结束日期",
            Input(
                values.get("end_date") or "",
                placeholder="年-月-日，按规定可不填",
                id="end_date",
                compact=True,
            ),
        )
        yield Label("", id="date_error", classes="error")

    date_problem = ""

    def collect(self) -> None:
        error = ""
        for name, label in (("start_date", "开始日期"), ("end_date", "结束日期")):
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text:
                self.state.values[name] = None
                continue
            try:
                self.state.values[name] = date.fromisoformat(text).isoformat()
            except ValueError:
                error = f"{label}：“{text}”不是有效日期，应写作 年-月-日，如 2026-01-31"
        self.date_problem = error
        self.query_one("#date_error", Label).update(error)

    @on(Input.Changed)
    def _changed(self) -> None:
        self.collect()
        self.refresh_verdict()

    def action_next(self) -> None:
        self.collect()
        if self.date_problem:
            self.notify("请先更正日期", severity="error")
            return
        self.dismiss("next")


class ReviewStep(FilingStep):
    """核对并提交: the whole request and the verdict; F10 commits when the engine allows it."""

    STEP_TITLE = "核对提交"
    COMMIT_DESCRIPTION = "提交备案"
    BINDINGS = [
        Binding("escape", "back", "上一步", id="wizard.back", tooltip="回到上一步修改"),
        Binding("f10", "next", "提交", id="wizard.commit", tooltip="提交办理（一次事务写入）"),
    ]

    def form(self) -> ComposeResult:
        values = self.state.values
        services = self.services
        region = (
            services.engine.regions.get(values["destination"])
            if values.get("destination")
            else None
        )
        lines = [
            f"参保人：{self.state.person_name}",
            f"办理：{ACTION_LABELS[self.state.action]}"
            + (f"（原备案 {self.state.target}）" if self.state.target else ""),
        ]
        if self.state.action == "cancel":  # what a cancel records: the filing and its papers
            lines.append(f"就医地：{region.full_name if region else '—'}")
        else:
            lines += self._filing_lines(region)
        labels = services.engine.pack.material_labels
        ticked = [labels.get(m, m) for m in values.get("materials") or []]
        lines.append(f"已收材料：{'、'.join(ticked) if ticked else '无'}")
        for line in lines:
            yield Label(line, classes="review-line")
        yield Label("", id="review_contact")
        yield Label("", id="commit_message", classes="error")

    def _filing_lines(self, region: Region | None) -> list[str]:
        values, services = self.state.values, self.services
        return [
            f"险种：{INSURANCE_LABELS[values['insurance']]}",
            f"人员类别：{services.category_label(values['category'])}",
            f"范围：{SCOPE_LABELS[values['scope']]}",
            f"就医地：{region.full_name if region else '—'}",
            f"备案依据：{BASIS_LABELS[values['basis']]}",
            f"开始日期：{values.get('start_date') or services.today}",
            f"结束日期：{values.get('end_date') or '按规定（见右侧有效期）'}",
        ]

    def on_mount(self) -> None:
        super().on_mount()
        self._load_contact()

    def _load_contact(self) -> None:
        """The person's details the 备案表 prints beside the filing (from the person form)."""

        def read() -> str:
            from counter_app.storage.models import Person

            with self.services.db.read() as session:
                person = session.get(Person, self.state.person_id)
            if person is None:
                return ""
            return (
                f"异地联系地址：{person.remote_address or '—'}\n"
                f"联系电话2：{person.phone2 or '—'}  社保卡卡号：{person.card_number or '—'}"
                "（备案表打印；按 E 在参保人页面修改）"
            )

        load_in_worker(
            self,
            read,
            self.query_one("#review_contact", Label).update,
            group="review",
            description="读取参保人",
            exclusive=False,
        )

    def action_next(self) -> None:
        """Commit if the engine allows it."""
        result = self.refresh_verdict()
        message = self.query_one("#commit_message", Label)
        if result is not None and not result.needs_filing:
            plain = next((r.message for r in result.reasons if r.severity == "info"), "")
            message.update(f"此人无需办理备案，不用提交。{plain}")
            return
        if result is not None and not result.allowed:
            why = "；".join(r.message for r in result.reasons if r.severity == "error")
            message.update(f"暂不能办理：{why}" if why else "暂不能办理，请按右侧提示修改")
            return
        if result is None:
            message.update("还有内容未填或有误，请按右侧提示返回修改")
            return
        message.update("正在提交…")
        self.commit(result)

    def committed(self, committed: Committed) -> None:
        self.notify(
            f"已{ACTION_LABELS[self.state.action]}备案，编号 {committed.number}。"
            "在参保人页面选中该备案按 F8 打印备案表和回执",
            title="办理完成",
            timeout=8,
        )
        self.dismiss("done")


#: The one order of the steps, per action.
STEPS: dict[str, list[type[FilingStep]]] = {
    "new": [CategoryStep, DestinationStep, MaterialsStep, DatesStep, ReviewStep],
    "change": [CategoryStep, DestinationStep, MaterialsStep, DatesStep, ReviewStep],
    "cancel": [MaterialsStep, ReviewStep],
}
