"""备案规则查询: try a filing against the region's rules and see the engine's verdict live.

The form asks what the filing wizard asks (its option lists and circumstances, ``region_flags``)
and decides on the office's business date (``Services.today``), as the wizard does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input, Label, Select, SelectionList

from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import InvalidInput
from counter_app.domain.idnumber import check_digit
from counter_app.domain.regions import RegionError
from counter_app.domain.status import STATUS_LABELS
from counter_app.pinyin import pinyin_match
from counter_app.storage.filings import as_existing, filings_of_id_number
from counter_app.storage.models import Filing
from counter_app.ui.filings.steps import region_flags
from counter_app.ui.services import BASIS_LABELS, INSURANCE_LABELS, SCOPE_LABELS, Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import choice_select, form_row
from counter_app.ui.widgets.verdict import Verdict
from counter_app.ui.workers import load_in_worker


def filing_material_ids(engine: RulesEngine) -> list[str]:
    """The materials a filing of this region can ask for, in catalogue order."""
    rules = engine.pack.filing
    groups = [rules.identity, *rules.common]
    for category in rules.categories.values():
        groups.extend(category.materials)
    used = {m for g in groups for option in g.any_of for m in option} | {"commitment_letter"}
    return [m.id for m in engine.pack.materials if m.id in used]


#: The birth date (YYYYMMDD) of the stand-in person of a phone enquiry.
ENQUIRY_BIRTH = "19700101"


class FilingRulesScreen(Screen[None]):
    """A form on the left, the engine's verdict on the right, updated as the clerk types."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="rules.back", tooltip="回到工作台"),
        Binding("ctrl+r", "clear", "清空", id="clear", tooltip="清空表单重新开始"),
    ]

    def __init__(self, services: Services) -> None:
        """A 身份证号 typed in finds that person's filings, which the verdict then weighs as the
        existing filings (with their status on the business date)."""
        super().__init__()
        self.services = services
        self.engine: RulesEngine = services.engine
        self.flags = region_flags(self.engine)
        self.existing: list[Filing] = []
        self.without_person = False

    @property
    def today(self) -> date:
        """The office's business date (the app's, fixed in tests and training)."""
        return self.services.today

    def compose(self) -> ComposeResult:
        pack = self.engine.pack
        categories = {key: c.label for key, c in pack.filing.categories.items()}
        labels = pack.material_labels
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                yield Label(f"{pack.pack.name} · 新增备案规则查询", classes="title")
                yield from form_row(
                    "姓名", Input(placeholder="可不填（电话咨询）", id="name", compact=True)
                )
                yield from form_row(
                    "身份证号",
                    Input(placeholder="可不填；与年龄有关时填写", id="id_number", compact=True),
                )
                yield Label("", id="existing")
                yield from form_row(
                    "险种", choice_select(INSURANCE_LABELS, "employee", "insurance")
                )
                yield from form_row(
                    "人员类别", choice_select(categories, list(categories)[1], "category")
                )
                yield from form_row("范围", choice_select(SCOPE_LABELS, "cross_province", "scope"))
                yield from form_row(
                    "就医地",
                    Input(placeholder="名称、拼音或代码", id="destination", compact=True),
                )
                yield Label("", id="destination_hint")
                yield from form_row("备案依据", choice_select(BASIS_LABELS, "materials", "basis"))
                yield from form_row(
                    "结束日期", Input(placeholder="年-月-日，可不填", id="end_date", compact=True)
                )
                for flag, text in self.flags:  # one a line, as the wizard asks them
                    yield Checkbox(text, id=flag, compact=True)
                yield Label("已收材料（空格勾选）", classes="section")
                yield SelectionList[str](
                    *[(labels[m], m) for m in filing_material_ids(self.engine)], id="materials"
                )
            with VerticalScroll(id="verdict_pane"):
                yield Verdict(id="verdict")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self.refresh_verdict()

    def _destination(self) -> str | None:
        text = self.query_one("#destination", Input).value.strip()
        hint = self.query_one("#destination_hint", Label)
        if not text:
            hint.update("")
            return None
        if text.isdigit():
            try:
                region = self.engine.regions.normalise(text)
            except RegionError as exc:
                hint.update(str(exc))
                return text
        else:
            found = self.engine.regions.destinations_matching(
                text, lambda name: pinyin_match(text, name)
            )
            if not found:
                hint.update(f"没有找到“{text}”")
                return None
            region = found[0]
        hint.update(f"→ {region.full_name}（{region.code}）")
        return region.code

    def _request(self) -> dict[str, Any]:
        def value(widget_id: str) -> Any:
            return self.query_one(f"#{widget_id}", Select).value

        end = self.query_one("#end_date", Input).value.strip()
        name = self.query_one("#name", Input).value.strip()
        id_number = self.query_one("#id_number", Input).value.strip()
        self.without_person = not name and not id_number
        if self.without_person:  # a phone enquiry: the general case of an adult of this pool
            pool = self.engine.pack.pack.home_pool_code
            first17 = f"{pool}{ENQUIRY_BIRTH}001"
            name, id_number = "咨询", first17 + check_digit(first17)
        request: dict[str, Any] = {
            "policy": self.engine.pack.pack.id,
            "action": "new",
            "today": self.today.isoformat(),
            "person": {"name": name, "id_number": id_number},
            "insurance": value("insurance"),
            "category": value("category"),
            "scope": value("scope"),
            "destination": self._destination(),
            "basis": value("basis"),
            "materials": list(self.query_one("#materials", SelectionList).selected),
        }
        if end:
            request["end_date"] = end
        if self.existing:
            request["existing"] = as_existing(self.existing)
        for flag, _ in self.flags:
            request[flag] = self.query_one(f"#{flag}", Checkbox).value
        return request

    @on(Input.Changed, "#id_number")
    def _id_changed(self, event: Input.Changed) -> None:
        number = event.value.strip()
        if len(number) == 18:
            self._find_existing(number)
        elif self.existing:
            self._show_existing(number, [])

    def _find_existing(self, number: str) -> None:

        def read() -> tuple[str, list[Filing]]:
            filings = filings_of_id_number(self.services.db, number)
            return number, filings

        load_in_worker(
            self,
            read,
            lambda loaded: self._show_existing(*loaded),
            group="rules",
            description="读取备案",
        )

    def _show_existing(self, number: str, filings: list[Filing]) -> None:
        if number != self.query_one("#id_number", Input).value.strip():
            return  # typed on meanwhile
        self.existing = filings
        self.query_one("#existing", Label).update(
            "\n".join(
                f"已有备案 {f.number} {f.destination_name} 至 {f.valid_until or '长期'}："
                f"{STATUS_LABELS[f.status_on(self.today)]}"
                for f in filings
            )
        )
        self.refresh_verdict()

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(SelectionList.SelectedChanged)
    def refresh_verdict(self) -> None:
        """Ask the engine again; it is pure and fast, so no worker is needed here."""
        verdict = self.query_one(Verdict)
        try:
            result = self.engine.filing(self._request())
        except InvalidInput as exc:
            verdict.show_errors(exc.errors)
            return
        note = (
            "未填参保人：按一般情况（1970 年出生）判断；与年龄有关的条件请填写身份证号"
            if self.without_person
            else ""
        )
        verdict.show_result(result, self.engine.pack.material_labels, note)

    def action_clear(self) -> None:
        """Start again with an empty form."""
        for widget in self.query(Input):
            widget.value = ""
        self.existing = []
        self.query_one("#existing", Label).update("")
        for box in self.query(Checkbox):
            box.value = False
        self.query_one("#materials", SelectionList).deselect_all()
        self.query_one("#name", Input).focus()
