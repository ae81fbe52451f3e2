"""工作台: today's work, the queues that need attention, drafts and the sync backlog."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label

from counter_app.storage.claims import claim_counts
from counter_app.storage.queues import ACTIONS_COUNTED, Dashboard, QueueRow, dashboard
from counter_app.ui.messages import OpenPerson
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker


class DashboardScreen(Screen[None]):
    """The clerk's home screen after sign-in."""

    BINDINGS = [
        Binding(
            "slash,f2",
            "app.search",
            "查找",
            id="dashboard.search",
            tooltip="按身份证号、姓名、拼音首字母或备案编号查找",
        ),
        Binding("d", "app.drafts", "草稿", id="dashboard.drafts", tooltip="继续未完成的办理"),
        Binding(
            "r",
            "app.rules",
            "规则",
            id="dashboard.rules",
            tooltip="规则查询：试算一笔备案的规则判断",
        ),
        # Hidden to keep every key of the day in an 80-column footer; F5 refreshes as everywhere.
        Binding("f5", "reload", "刷新", id="dashboard.reload", tooltip="重新读取队列", show=False),
        Binding(
            "l",
            "app.claims",
            "报销队列",
            id="dashboard.claims",
            tooltip="零星报销：待补、受理、审核",
        ),
        Binding(
            "b",
            "app.new_claim",
            "报销",
            id="dashboard.new_claim",
            tooltip="查找参保人后办理报销",
        ),
        Binding("s", "app.sync", "同步", id="dashboard.sync", tooltip="与省平台日终同步"),
        Binding("o", "app.applications", "线上申请", id="dashboard.applications", tooltip="审核"),
        Binding("j", "app.day_close", "日结", id="dashboard.day_close", tooltip="日结报表与签署"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        clerk = self.services.clerk
        yield Header()
        yield Label(
            f"{clerk.office_name} · 经办人 {clerk.display_name} · {self.services.today}",
            classes="title",
        )
        yield Label("", id="counts")
        with Horizontal(id="queues"):
            with Vertical():
                yield Label("承诺书补材料：本周到期与逾期", classes="section")
                yield CounterTable(id="followups", cursor_type="row", zebra_stripes=True)
            with Vertical():
                yield Label("临时备案即将到期", classes="section")
                yield CounterTable(id="expiring", cursor_type="row", zebra_stripes=True)
        yield KeysFooter(compact=True)  # every key of the day fits in 80 columns

    def on_mount(self) -> None:
        self.query_one("#followups", DataTable).add_columns(
            "期限", "状态", "姓名", "身份证号", "就医地"
        )
        self.query_one("#expiring", DataTable).add_columns("有效至", "姓名", "身份证号", "就医地")

    def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown: loading on mount as well would start a
        # second exclusive worker that cancels the first.
        self.action_reload()

    def action_reload(self) -> None:
        """Read the queues again (in a worker)."""
        self.load()

    def load(self) -> None:
        """Query the queues off the UI thread."""

        def read() -> tuple[Dashboard, dict[str, int]]:
            services = self.services
            data = dashboard(services.db, services.clerk.clerk_id, services.today)
            claims = claim_counts(services.db, services.today)
            return data, claims

        load_in_worker(
            self,
            read,
            lambda loaded: self._show(*loaded),
            group="dashboard",
            description="读取工作台",
        )

    def _show(self, data: Dashboard, claims: dict[str, int]) -> None:
        self.query_one("#counts", Label).update(
            f"今日{ACTIONS_COUNTED}：新增 {data.today_new} · 变更 {data.today_change}"
            f" · 取消 {data.today_cancel}"
            f"    草稿 {data.drafts}    未同步事件 {data.pending_events}\n"
            f"报销：待补材料 {claims['pending_materials']} · 受理 {claims['accepted']} · "
            f"审核 {claims['reviewing']} · 逾期 {claims['overdue']}"
        )
        self._fill("#followups", data.followups)
        self._fill("#expiring", data.expiring)
        self._warn_supervisor()

    def _warn_supervisor(self) -> None:
        """Once per sign-in: a supervisor is told that an example deadline is in use."""
        from counter_app.domain.claim_documents import deadline_warning

        deadline = self.services.engine.pack.claim.deadline
        warning = deadline_warning(deadline.example, deadline.citation)
        if warning and self.services.clerk.role == "supervisor" and not getattr(self, "_warned", 0):
            self._warned = 1
            self.notify(warning, title="示例参数", severity="warning", timeout=20)

    def _fill(self, table_id: str, rows: list[QueueRow]) -> None:
        table = self.query_one(table_id, DataTable)
        table.clear()
        if table_id == "#followups":
            table.add_rows(
                [
                    (str(r.due), r.status, r.person_name, r.id_masked, r.destination_name)
                    for r in rows
                ]
            )
        else:
            table.add_rows(
                [(str(r.due), r.person_name, r.id_masked, r.destination_name) for r in rows]
            )
        self._rows = getattr(self, "_rows", {})
        self._rows[table_id] = rows

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        rows: list[QueueRow] = self._rows.get(f"#{event.data_table.id}", [])
        if 0 <= event.cursor_row < len(rows):
            self.post_message(OpenPerson(rows[event.cursor_row].person_id))
