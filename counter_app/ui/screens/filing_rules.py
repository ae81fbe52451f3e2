"""备案规则查询: try a filing against the region's rules and see the engine's verdict live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Header, Input, Label, Select, SelectionList

from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import InvalidInput
from counter_app.domain.idnumber import check_digit
from counter_app.domain.regions import RegionError
from counter_app.domain.status import STATUS_LABELS
from counter_app.pinyin import pinyin_match
from counter_app.storage.filings import as_existing
from counter_app.storage.models import Filing
from counter_app.ui.widgets.chinese import ChoiceSelect
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.verdict import Verdict

INSURANCE = [("职工医保", "employee"), ("居民医保", "resident")]
SCOPES = [("跨省异地", "cross_province"), ("省内异地", "in_province")]
BASES = [("提供认定材料", "materials"), ("签署个人承诺书", "commitment")]
FLAGS = [
    ("by_agent", "代办"),
    ("multi_place", "多地备案"),
    ("has_employer", "有参保单位"),
    ("retired", "已退休"),
]


def _row(label: str, widget: Widget) -> ComposeResult:
    with Horizontal(classes="row"):
        yield Label(label, classes="field-label")
        yield widget


def _select(
    options: list[tuple[str, str]], widget_id: str, value: str | None = None
) -> Select[str]:
    first = value or options[0][1]
    return ChoiceSelect(options, value=first, allow_blank=False, id=widget_id, compact=True)


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

    def __init__(
        self,
        engine: RulesEngine,
        today: date,
        lookup: Callable[[str], list[Filing]] | None = None,
    ) -> None:
        """``today`` is the business date; ``lookup`` finds the filings of a 身份证号, which the
        verdict then weighs as the person's existing filings (with their status on ``today``)."""
        super().__init__()
        self.engine = engine
        self.today = today
        self.lookup = lookup
        self.existing: list[Filing] = []
        self.without_person = False

    def compose(self) -> ComposeResult:
        pack = self.engine.pack
        categories = [(c.label, key) for key, c in pack.filing.categories.items()]
        labels = pack.material_labels
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                yield Label(f"{pack.pack.name} · 新增备案规则查询", classes="title")
                yield from _row(
                    "姓名", Input(placeholder="可不填（电话咨询）", id="name", compact=True)
                )
                yield from _row(
                    "身份证号",
                    Input(placeholder="可不填；与年龄有关时填写", id="id_number", compact=True),
                )
                yield Label("", id="existing")
                yield from _row("险种", _select(INSURANCE, "insurance"))
                yield from _row("人员类别", _select(categories, "category", categories[1][1]))
                yield from _row("范围", _select(SCOPES, "scope"))
                yield from _row(
                    "就医地",
                    Input(placeholder="名称、拼音或代码", id="destination", compact=True),
                )
                yield Label("", id="destination_hint")
                yield from _row("备案依据", _select(BASES, "basis"))
                yield from _row(
                    "结束日期", Input(placeholder="年-月-日，可不填", id="end_date", compact=True)
                )
                with Horizontal(classes="flags"):
                    for flag, text in FLAGS:
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
        for flag, _ in FLAGS:
            request[flag] = self.query_one(f"#{flag}", Checkbox).value
        return request

    @on(Input.Changed, "#id_number")
    def _id_changed(self, event: Input.Changed) -> None:
        number = event.value.strip()
        if self.lookup is not None and len(number) == 18:
            self._find_existing(number)
        elif self.existing:
            self._show_existing(number, [])

    @work(thread=True, exclusive=True, exit_on_error=False, group="rules", description="读取备案")
    def _find_existing(self, number: str) -> None:
        assert self.lookup is not None
        filings = self.lookup(number)
        self.app.call_from_thread(self._show_existing, number, filings)

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
