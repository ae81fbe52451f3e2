"""查找参保人: by 身份证号 (exact or prefix), name, pinyin initials or filing number.

A barcode/QR scanner types the number and Enter: with exactly one hit the record opens at once.

Each keystroke's search is numbered; only the newest search's answer reaches the table, so a slow
search answering after a faster later one never overwrites it. The key's echo in the box waits
(up to `ECHO_WAITS_S`) for its answer so that both are painted in one frame: Textual paints an
update that follows another no sooner than one frame interval later, usually two (about 17–33 ms
at 60 frames a second), which was most of the time from keystroke to results.
"""

from __future__ import annotations

import asyncio
import contextlib

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label
from textual.widgets.input import Selection
from textual.worker import get_current_worker

from counter_app.printing.qr import looks_like_payload
from counter_app.printing.verify import Verification, verify_payload
from counter_app.storage.persons import PersonRow, classify, search_persons
from counter_app.ui.messages import OpenPerson
from counter_app.ui.services import INSURANCE_LABELS, Services
from counter_app.ui.typeahead import TypeAheadTarget
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable

KIND_LABELS = {
    "id_exact": "身份证号",
    "id_prefix": "身份证号前几位",
    "name": "姓名",
    "initials": "拼音首字母/拼音",
    "pinyin": "拼音",
    "filing_number": "备案编号",
}

#: How long a keystroke's echo is held back for its search's answer (painted together). A slower
#: search paints the echo when this runs out and its results when they come.
ECHO_WAITS_S = 0.1


class SearchScreen(TypeAheadTarget, Screen[None]):
    """A search box over a result table.

    Scanner-safe: whenever the screen shows again (Esc from a person) the box has focus with its
    old text selected, so the next scan replaces it; printable keys typed on the results go to the
    box too; ``/`` and F2 always put focus in the box.
    """

    # The result line spans the screen, so a new count repaints it without a layout of the
    # whole screen (the table keeps its size too): only the table and this line are painted.
    DEFAULT_CSS = """
    SearchScreen #kind {
        width: 1fr;
    }
    """

    AUTO_FOCUS = "#query"
    TYPE_INTO = "#query"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="search.back", tooltip="回到上一页"),
        Binding("f3", "app.new_person", "新建参保人", id="search.new", tooltip="登记新的参保人"),
        Binding("down", "focus_results", "结果", show=False, id="search.results"),
        Binding(
            "slash,f2",
            "focus_query",
            "查找框",
            id="search.query",
            tooltip="光标回到查找框，选中原内容（扫码即替换）",
            priority=True,
        ),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: list[PersonRow] = []
        self.open_when_single = False
        self._said_short = False
        self._asked = 0  # number of the newest search; older answers are dropped
        self._answered = asyncio.Event()  # set when the newest search's rows are shown

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("查找参保人：身份证号、姓名、拼音首字母（如 zs）或备案编号", classes="title")
        yield Input(placeholder="输入或扫码后回车", id="query")
        yield Label("", id="kind")
        yield CounterTable(id="results", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("姓名", "身份证号", "性别", "险种", "备案", "电话")

    def on_screen_resume(self) -> None:
        """Back from a person: the box, its old text selected (the next scan replaces it)."""
        self.action_focus_query()

    def action_focus_query(self) -> None:
        """Focus the box and select what it holds."""
        box = self.query_one("#query", Input)
        self.set_focus(box)
        box.selection = Selection(0, len(box.value))

    def on_key(self, event: events.Key) -> None:
        """A scan or typing while the results have focus goes into the box, replacing it."""
        if event.is_printable and isinstance(self.focused, DataTable):
            event.stop()
            event.prevent_default()
            self.action_focus_query()
            # After the box's focus event (which selects all): the key replaces the old text.
            self.query_one("#query", Input).post_message(events.Key(event.key, event.character))

    @on(Input.Changed, "#query")
    async def _changed(self, event: Input.Changed) -> None:
        self.open_when_single = False
        if event.value != event.input.value:
            return  # typed or scanned on since: that newer text's own message follows
        if not looks_like_payload(event.value):
            self._search(event.value)
            # Held here, this screen paints nothing (the box's echo included) until the rows
            # are in the table, or the wait runs out: one frame for both.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), ECHO_WAITS_S)

    def _search(self, query: str) -> None:
        """Start a search that supersedes every earlier one."""
        self._asked += 1
        self._answered = asyncio.Event()
        self.run_search(query, self._asked)

    @on(Input.Submitted, "#query")
    def _submitted(self, event: Input.Submitted) -> None:
        if looks_like_payload(event.value):
            scanned = getattr(self, "_scanned", None)
            if scanned is not None and scanned[0] == event.value:
                self.post_message(OpenPerson(scanned[1]))
                return
            self.verify_scan(event.value)
            return
        self.open_when_single = True
        self._search(event.value)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="search", description="核验二维码"
    )
    def verify_scan(self, payload: str) -> None:
        """A scanned document QR code: check its signature, then open the person it names."""
        settings = self.services.settings
        key = settings.qr_key.get_secret_value() if settings.qr_key else None
        result = verify_payload(
            self.services.db,
            payload,
            key,
            today=self.services.today,
            forms_dir=settings.forms_dir,
            pack_file=settings.pack_file,
        )
        self.app.call_from_thread(self._verified, result)

    def _verified(self, result: Verification) -> None:
        self._say(result.message, short=False)
        self.notify(
            result.message,
            title="二维码核验："
            + (
                "真实有效"
                if result.standing
                else "真实，备案已失效"
                if result.genuine
                else "不通过"
            ),
            severity=(
                "information" if result.standing else "warning" if result.genuine else "error"
            ),
            timeout=30,
        )
        # A record that moved on since printing: the clerk reads printed against now here first.
        self._scanned: tuple[str, int] | None = None
        if result.genuine and result.person_id is not None and not result.changes:
            self.post_message(OpenPerson(result.person_id))
        elif result.genuine and result.person_id is not None:
            self._scanned = (self.query_one("#query", Input).value, result.person_id)
            self._say(result.message + "\n再按 Enter 打开此人页面", short=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search", description="查找")
    def run_search(self, query: str, number: int) -> None:
        """Query the database off the UI thread; only search `number` if it is still the newest
        is shown (a newer one cancels this worker, but its thread runs to the end)."""
        services = self.services
        rows = search_persons(services.db, query, today=services.today) if query.strip() else []
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, number, query, rows)

    def _show(self, number: int, query: str, rows: list[PersonRow]) -> None:
        if number != self._asked or query != self.query_one("#query", Input).value:
            return  # a newer search is on its way, or the box holds a scan
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                (
                    r.name,
                    r.id_masked,
                    r.sex,
                    INSURANCE_LABELS.get(r.insurance, r.insurance),
                    r.filing_status,
                    r.phone_masked,
                )
                for r in rows
            ]
        )
        kind = KIND_LABELS[classify(query)] if query.strip() else ""
        found = f"按{kind}查找：{len(rows)} 人" if query.strip() else ""
        self._say(found, short=True)
        if self.open_when_single and len(rows) == 1:
            self.open_when_single = False
            self.post_message(OpenPerson(rows[0].id))
        elif self.open_when_single and rows:
            table.focus()
        self._answered.set()

    def _say(self, text: str, *, short: bool) -> None:
        """The line under the box. A short one-line text after another needs no layout of the
        screen (the line spans it); a scan's message may wrap, so it is laid out."""
        label = self.query_one("#kind", Label)
        label.update(text, layout=not (short and self._said_short))
        self._said_short = short

    def action_focus_results(self) -> None:
        """Move from the box to the results."""
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self.post_message(OpenPerson(self.rows[event.cursor_row].id))
