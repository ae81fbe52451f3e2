"""同步: the last sync, the pending events, a run with a progress bar, refused events to resolve."""

from __future__ import annotations

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, ProgressBar
from textual.worker import get_current_worker

from counter_app.sync import outbox
from counter_app.sync.client import SyncReport
from counter_app.sync.pulled import INBOX_LABELS, inbox_counts
from counter_app.ui.dialogs.reason import ReasonDialog
from counter_app.ui.services import Services
from counter_app.ui.sync_header import since_text
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker

KIND_LABELS = {
    "filing.new": "新增备案",
    "filing.change": "变更备案",
    "filing.cancel": "取消备案",
    "application.review": "线上审核",
}


class SyncScreen(Screen[None]):
    """The office's sync with the provincial store; the run happens in a worker."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="sync.back", tooltip="回到上一界面"),
        Binding("f9", "run", "开始同步", id="sync.run", tooltip="上传待上传事件、下载线上申请"),
        Binding("r", "retry", "重新上传", id="sync.retry", tooltip="冲突已解决，下次同步重新上传"),
        Binding(
            "x",
            "dismiss_problem",
            "撤回",
            id="sync.dismiss",
            tooltip="不再上传，并在本机构撤回该办理（填写原因，记入审计）",
        ),
        Binding("o", "app.applications", "线上申请", id="sync.applications", tooltip="待审核"),
        Binding("j", "app.day_close", "日结", id="sync.day_close", tooltip="日结报表与签署"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.problems: list[outbox.Problem] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("日终同步（省平台）", classes="title")
        yield Label("", id="summary")
        yield ProgressBar(id="progress", show_eta=False)
        yield Label("", id="stage")
        yield Label("被省平台退回、需要处理的事件", classes="section")
        yield CounterTable(id="problems", cursor_type="row", zebra_stripes=True)
        yield Label("", id="problem_detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("序号", "类型", "编号", "原因")
        self.query_one(DataTable).focus()
        self.query_one(ProgressBar).display = False  # shown once a run starts: no idle animation
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def load(self) -> None:
        """Read the sync state and the refused events."""

        def read() -> tuple[outbox.SyncStatus, list[outbox.Problem], dict[str, int]]:
            db = self.services.db
            state, problems, inbox = outbox.status(db), outbox.problems(db), inbox_counts(db)
            return state, problems, inbox

        load_in_worker(
            self,
            read,
            lambda loaded: self._show(*loaded),
            group="sync_view",
            description="读取同步状态",
        )

    def _show(
        self, state: outbox.SyncStatus, problems: list[outbox.Problem], inbox: dict[str, int]
    ) -> None:
        url = self.services.settings.sync.url or "（未配置省平台地址）"
        last = since_text(state.last_ok_at)
        error = f"\n上次同步未完成：{state.last_error}" if state.last_error else ""
        pulled = "、".join(
            f"{label} {inbox[k]} 条" for k, label in INBOX_LABELS.items() if k in inbox
        )
        self.query_one("#summary", Label).update(
            f"上次成功同步：{last}    待上传 {state.pending}    待处理退回 {state.problems}"
            f"\n省平台：{url}{error}" + (f"\n已下载：{pulled}" if pulled else "")
        )
        self.problems = problems
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [(str(p.seq), KIND_LABELS.get(p.kind, p.kind), p.summary, p.message) for p in problems]
        )
        self.query_one("#problem_detail", Label).update(problems[0].message if problems else "")

    @on(DataTable.RowHighlighted)
    def _detail(self, event: DataTable.RowHighlighted) -> None:
        """The full reason of the refused event under the cursor (the column is cut short)."""
        if 0 <= event.cursor_row < len(self.problems):
            self.query_one("#problem_detail", Label).update(self.problems[event.cursor_row].message)

    def action_run(self) -> None:
        """Start a sync (one at a time)."""
        if any(w.group == "sync_run" and not w.is_finished for w in self.app.workers):
            self.notify("正在同步，请稍候", title="同步")
            return
        self.query_one("#stage", Label).update("正在连接省平台…")
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.run_sync()

    def run_sync(self) -> None:
        """Start the run in an app-owned worker: leaving the screen does not cancel it, and its
        end still reaches the header (the screen's own workers die with the screen)."""
        app = self.app  # a popped screen no longer finds its app from a thread
        app.run_worker(
            lambda: self._sync_job(app),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="sync_run",
            description="同步",
        )

    def _sync_job(self, app: App[object]) -> None:
        """Push, pull and reconcile off the UI thread; progress comes back by call_from_thread."""
        from counter_app.sync.client import ClientConfig, SyncError, run_sync

        services = self.services
        worker = get_current_worker()

        def progress(done: int, total: int, stage: str) -> None:
            app.call_from_thread(self._progress, done, total, stage)

        try:
            report = run_sync(
                services.db,
                services.engine,
                ClientConfig.from_settings(services.settings.sync),
                services.today,
                progress,
                lambda: worker.is_cancelled,
            )
        except SyncError as exc:
            app.call_from_thread(self._failed, app, str(exc))
            return
        app.call_from_thread(self._done, app, report)

    def _progress(self, done: int, total: int, stage: str) -> None:
        if not self._shown():  # the clerk left the screen: the run goes on, unseen
            return
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=done)
            self.query_one("#stage", Label).update(f"{stage}：{done}/{total}")
        else:
            self.query_one("#stage", Label).update(f"{stage}…")

    def _failed(self, app: App[object], message: str) -> None:
        app.notify(message, title="同步未完成", severity="error", timeout=10)
        if self._shown():
            self.query_one("#stage", Label).update(f"同步未完成：{message}")
            self._after_run()
        else:
            self._refresh_header(app)

    def _done(self, app: App[object], report: SyncReport) -> None:
        if not self._shown():  # the clerk left during the sync: the header still updates
            self._refresh_header(app)
            return
        tally, pulled = report.tally, report.pulled
        self.query_one(ProgressBar).update(total=1, progress=1)
        text = (
            f"完成：上传接收 {tally.accepted}，已有 {tally.duplicate}，退回 {tally.rejected}；"
            f"线上申请 {pulled.applications}，其他 {pulled.inbox}，更新包 {pulled.packages}；"
            + ("对账一致" if report.reconciled else "对账不符，请联系省平台")
            + (f"（补传省平台缺少的 {report.resent} 个）" if report.resent else "")
        )
        self.app.clear_notifications()  # the "not synced for days" reminder is out of date now
        for refusal in pulled.refused:
            self.notify(refusal, title="更新包未导入", severity="warning", timeout=10)
        if report.alignment.restored:
            self.notify(
                report.alignment.message(), title="数据库比省平台旧", severity="warning", timeout=30
            )
        self.query_one("#stage", Label).update(text)
        self._after_run()

    def _after_run(self) -> None:
        self.load()
        self._refresh_header(self.app)

    def _shown(self) -> bool:
        """Whether this screen's widgets are still there to update (not popped or popping)."""
        if not self.is_mounted or not self.is_attached:
            return False
        try:
            self.query_one("#stage", Label)
        except NoMatches:
            return False
        return True

    @staticmethod
    def _refresh_header(app: App[object]) -> None:
        refresh = getattr(app, "refresh_sync_header", None)
        if refresh:
            refresh()

    def _selected(self) -> outbox.Problem | None:
        row = self.query_one(DataTable).cursor_row
        return self.problems[row] if 0 <= row < len(self.problems) else None

    def action_retry(self) -> None:
        """The conflict was cleared (e.g. the other office cancelled): send it again next time."""
        problem = self._selected()
        if problem:
            self.resolve(problem.event_id, "retry")

    def action_dismiss_problem(self) -> None:
        """Withdraw the refused step locally (never sent): asks for the reason, audited."""
        problem = self._selected()
        if problem is None:
            return

        def answer(reason: str | None) -> None:
            if reason:
                self.resolve(problem.event_id, "withdraw", reason)

        self.app.push_screen(
            ReasonDialog(
                f"撤回事件 {problem.seq}（{problem.summary}）：不再上传，本机构的办理随之撤回。"
                "原因？",
                "如：参保人已在其他机构备案",
            ),
            callback=answer,
        )

    @work(thread=True, exit_on_error=False, group="sync_resolve", description="处理退回")
    def resolve(self, event_id: str, action: str, reason: str = "") -> None:
        """Record the clerk's decision (audited); the local records follow a withdrawal."""
        from counter_app.workflows import refusals

        clerk_id = self.services.clerk.clerk_id
        try:
            if action == "retry":
                refusals.retry(self.services.db, clerk_id, [event_id])
                done = "已重新排队，下次同步时由省平台重新判断"
            else:
                done = refusals.withdraw(self.services.db, clerk_id, event_id, reason)
        except refusals.ResolveRefused as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
        else:
            self.app.call_from_thread(self.notify, done, title="已处理")
        self.app.call_from_thread(self.load)
