"""草稿: unfinished work of this clerk; Enter resumes it where it stopped, Del throws it away."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label

from counter_app.storage.drafts import discard_draft, list_drafts
from counter_app.storage.models import Draft
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.messages import ResumeDraft
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker


class DraftsScreen(Screen[None]):
    """The clerk's drafts, newest first."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="drafts.back", tooltip="回到工作台"),
        Binding("delete", "discard", "删除草稿", id="drafts.discard", tooltip="删除光标所在的草稿"),
        Binding(
            "home", "first", "第一份", id="drafts.first", tooltip="光标到最新的草稿", priority=True
        ),
        Binding(
            "end", "last", "最后一份", id="drafts.last", tooltip="光标到最早的草稿", priority=True
        ),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.drafts: list[Draft] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("未完成的办理（回车继续）", classes="title")
        yield CounterTable(id="drafts", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("保存时间", "办理", "步骤")
        self.query_one(DataTable).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def load(self) -> None:
        """Read this clerk's drafts."""

        def read() -> list[Draft]:
            return list_drafts(self.services.db, self.services.clerk.clerk_id)

        load_in_worker(self, read, self._show, group="drafts", description="读取草稿")

    def _show(self, drafts: list[Draft]) -> None:
        self.drafts = drafts
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                (self.services.show_time(d.updated_at), d.title, f"第 {int(d.step or 0) + 1} 步")
                for d in drafts
            ]
        )

    @on(DataTable.RowSelected)
    def _resume(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.drafts):
            self.post_message(ResumeDraft(self.drafts[event.cursor_row]))

    def action_first(self) -> None:
        """Home: the newest draft."""
        table = self.query_one(DataTable)
        table.focus()
        table.move_cursor(row=0)

    def action_last(self) -> None:
        """End: the oldest draft."""
        table = self.query_one(DataTable)
        table.focus()
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_discard(self) -> None:
        """Ask, then delete the draft under the cursor."""
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.drafts):
            return
        draft = self.drafts[row]

        def answer(yes: bool | None) -> None:
            if yes:
                discard_draft(self.services.db, draft.id)  # type: ignore[arg-type]
                self.load()

        self.app.push_screen(ConfirmDialog(f"删除草稿“{draft.title}”？"), callback=answer)
