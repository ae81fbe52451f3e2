"""更多 (F1): every key that works on the current screen, and what it does; Enter runs one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

from counter_app.ui.widgets.footer import MORE_ACTION, KeyEntry, screen_keys
from counter_app.ui.widgets.table import CounterTable


class KeysDialog(ModalScreen[KeyEntry | None]):
    """The keys of one screen in a table; dismisses with the chosen key (Enter) or None (Esc)."""

    BINDINGS = [
        Binding("escape,f1", "close", "关闭", id="keys.close", tooltip="关闭按键列表"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.entries = [e for e in screen_keys(screen) if e.action != MORE_ACTION]

    def compose(self) -> ComposeResult:
        with Vertical(id="keys_dialog", classes="panel"):
            yield Label("本界面的按键（回车执行所选项，Esc 关闭）", classes="title")
            yield CounterTable(id="key_list", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("按键", "功能", "说明")
        table.add_rows(
            [
                (e.display, e.description + ("" if e.enabled else "（现在不可用）"), e.tooltip)
                for e in self.entries
            ]
        )
        table.focus()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        entry = self.entries[event.cursor_row]
        self.dismiss(entry if entry.enabled else None)

    def action_close(self) -> None:
        """Close without running anything."""
        self.dismiss(None)
