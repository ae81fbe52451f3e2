"""报销队列: claims by status and due date; overdue marked, ≥30,000元 stays flagged 费用协查."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from counter_app.domain.claim_documents import TREATMENT_LABELS
from counter_app.storage.claims import STATUS_LABELS, ClaimRow, claim_queue
from counter_app.ui.services import Services


def marks(row: ClaimRow) -> str:
    """The queue's flags for a claim."""
    return " ".join(
        text for text, on_ in (("逾期", row.overdue), ("费用协查", row.cost_check_candidate)) if on_
    )


class ClaimsQueueScreen(Screen[None]):
    """All claims of the office, work to do first; Enter opens one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="claims_queue.back", tooltip="回到工作台"),
        Binding("f5", "reload", "刷新", id="claims_queue.reload", tooltip="重新读取报销队列"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: list[ClaimRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("零星报销队列（按状态和办结期限；回车打开）", classes="title")
        yield Label("", id="claims_summary")
        yield DataTable(id="claims", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("状态", "期限", "姓名", "类别", "总费用", "标记", "编号")
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        """Read the queue again (in a worker)."""
        self.load()

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="claims", description="读取报销队列"
    )
    def load(self) -> None:
        """Query the claims off the UI thread."""
        rows = claim_queue(self.services.db, self.services.today)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[ClaimRow]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(
            [
                (
                    STATUS_LABELS[r.status],
                    str(r.due_date or "—"),
                    r.person_name,
                    TREATMENT_LABELS.get(r.treatment, r.treatment),
                    f"{r.total:.2f}" if r.total is not None else "—",
                    marks(r),
                    r.number,
                )
                for r in rows
            ]
        )
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        overdue = sum(r.overdue for r in rows)
        self.query_one("#claims_summary", Label).update(
            f"共 {len(rows)} 件，逾期 {overdue} 件" if rows else "暂无报销"
        )

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self.app.open_claim(self.rows[event.cursor_row].number)  # type: ignore[attr-defined]
