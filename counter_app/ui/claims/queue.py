"""报销队列: claims by status and due date; overdue marked, ≥30,000元 stays flagged 费用协查.

Opens on the claims still to be worked (待补材料, 受理, 审核); F shows all, or one status.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label

from counter_app.domain.claim_documents import TREATMENT_LABELS
from counter_app.domain.claim_lifecycle import (
    ACCEPTED,
    PENDING,
    REVIEWING,
    STATUS_LABELS,
    STATUS_ORDER,
)
from counter_app.storage.claims import ClaimRow, claim_queue
from counter_app.ui.messages import OpenClaim
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker


def marks(row: ClaimRow) -> str:
    """The queue's flags for a claim."""
    return " ".join(
        text for text, on_ in (("逾期", row.overdue), ("费用协查", row.cost_check_candidate)) if on_
    )


#: The views F cycles through: (name, statuses). Work still to do comes first.
VIEWS: list[tuple[str, tuple[str, ...]]] = [
    ("待办", (PENDING, ACCEPTED, REVIEWING)),
    ("全部", STATUS_ORDER),
    *((STATUS_LABELS[s], (s,)) for s in STATUS_ORDER),
]


class ClaimsQueueScreen(Screen[None]):
    """The office's claims, work to do first; F switches the view, Enter opens one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="claims_queue.back", tooltip="回到工作台"),
        Binding("f", "next_view", "筛选", id="claims_queue.view", tooltip="待办、全部或某一状态"),
        Binding("f5", "reload", "刷新", id="claims_queue.reload", tooltip="重新读取报销队列"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: list[ClaimRow] = []
        self.view_index = 0

    def action_next_view(self) -> None:
        """Show the next view (待办 → 全部 → each status)."""
        self.view_index = (self.view_index + 1) % len(VIEWS)
        self.action_reload()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("零星报销队列（按状态和办结期限；回车打开）", classes="title")
        yield Label("", id="claims_summary")
        yield CounterTable(id="claims", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("状态", "期限", "姓名", "类别", "总费用", "标记", "编号")
        table.focus()

    def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown (so no load on mount).
        self.action_reload()

    def action_reload(self) -> None:
        """Read the queue again (in a worker)."""
        self.load()

    def load(self) -> None:
        """Query the claims off the UI thread."""

        def read() -> list[ClaimRow]:
            return claim_queue(self.services.db, self.services.today, VIEWS[self.view_index][1])

        load_in_worker(self, read, self._show, group="claims", description="读取报销队列")

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
            f"{VIEWS[self.view_index][0]}：{len(rows)} 件，逾期 {overdue} 件（F 切换）"
        )

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self.post_message(OpenClaim(self.rows[event.cursor_row].number))
