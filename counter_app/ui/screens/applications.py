"""线上申请: online applications (不见面备案) to review, by working-day deadline."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static

from counter_app.domain.idnumber import mask_id
from counter_app.domain.regions import RegionError
from counter_app.storage.sync_models import OnlineApplication
from counter_app.sync.pulled import applications
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.dialogs.text_input import ReasonDialog
from counter_app.ui.services import BASIS_LABELS, INSURANCE_LABELS, SCOPE_LABELS, Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.widgets.verdict import Verdict
from counter_app.ui.workers import load_in_worker
from counter_app.workflows.applications import (
    ApplicationView,
    ReviewRefused,
    open_application,
    review,
)


class ApplicationsScreen(Screen[None]):
    """Pending online applications; Y approves (if the rules allow), N refuses with a reason."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="applications.back", tooltip="回到上一界面"),
        Binding(
            "y", "approve", "通过", id="applications.approve", tooltip="审核通过（规则须允许）"
        ),
        Binding("n", "refuse", "不通过", id="applications.refuse", tooltip="填写原因，不予通过"),
        Binding(
            "enter",
            "open",
            "查看",
            id="applications.open",
            tooltip="查看申请材料与规则判断（记入审计）",
        ),
        Binding("f5", "reload", "刷新", id="applications.reload", tooltip="重新读取"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: list[OnlineApplication] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("线上申请（不见面备案）待审核", classes="title")
        yield Label("", id="rule")
        yield CounterTable(id="applications", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("审核期限", "姓名", "身份证号", "人员类别", "就医地")
        self.query_one(DataTable).focus()
        rules = self.services.engine.pack.filing
        days, citation = rules.online_review_working_days, rules.online_review.citation
        self.query_one("#rule", Label).update(f"审核时限：{days} 个工作日（{citation}）")
        self.action_reload()

    def action_reload(self) -> None:
        """Read the queue again."""
        self.load()

    def load(self) -> None:
        """Query the pending applications off the UI thread."""

        def read() -> list[OnlineApplication]:
            return applications(self.services.db)

        load_in_worker(self, read, self._show, group="applications", description="读取线上申请")

    def _show(self, rows: list[OnlineApplication]) -> None:
        self.rows = rows
        today = self.services.today
        regions = self.services.engine.regions
        table = self.query_one(DataTable)
        table.clear()
        for app in rows:
            person = app.data.get("person") or {}
            due = app.due_date.isoformat() + ("（暂定）" if app.due_provisional else "")
            if app.due_date < today:
                due += " 已超期"
            destination = str(app.data.get("destination", ""))
            try:
                place = regions.normalise(destination).full_name
            except RegionError:
                place = destination
            table.add_row(
                due,
                str(person.get("name", "")),
                mask_id(str(person.get("id_number", ""))),
                self.services.category_label(str(app.data.get("category", ""))),
                place,
            )

    def _selected(self) -> OnlineApplication | None:
        row = self.query_one(DataTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        """Enter on a row (the table takes the key first) opens it."""
        self.action_open()

    def action_open(self) -> None:
        """The application under the cursor: its materials and the engine's verdict now."""
        app = self._selected()
        if app is not None:
            self.open_one(app.id)

    @work(thread=True, exit_on_error=False, group="application", description="读取线上申请")
    def open_one(self, app_id: str) -> None:
        """Read and decide off the UI thread (the view is audited)."""
        services = self.services
        view = open_application(
            services.db, services.engine, app_id, services.today, services.clerk.clerk_id
        )
        if view is not None:
            self.app.call_from_thread(self.app.push_screen, ApplicationScreen(services, view))

    def action_approve(self) -> None:
        """Ask, then approve the application under the cursor."""
        app = self._selected()
        if app is None:
            return
        name = (app.data.get("person") or {}).get("name", "")
        chosen = app.id

        def answer(yes: bool | None) -> None:
            if yes:
                self.decide(chosen, "approved", "")

        self.app.push_screen(
            ConfirmDialog(f"通过 {name} 的线上备案申请？", "通过前按规则重新判断"), callback=answer
        )

    def action_refuse(self) -> None:
        """Refuse the application under the cursor, with a reason told to the applicant."""
        app = self._selected()
        if app is None:
            return
        chosen = app.id

        def answer(reason: str | None) -> None:
            if reason:
                self.decide(chosen, "rejected", reason)

        self.app.push_screen(ReasonDialog("不通过的原因（将告知申请人）"), callback=answer)

    @work(thread=True, exit_on_error=False, group="review", description="审核")
    def decide(self, app_id: str, decision: str, reason: str) -> None:
        """Record the review and queue the answer for the provincial store."""
        services = self.services
        try:
            review(
                services.db,
                services.engine,
                services.clerk,
                app_id,
                decision,
                reason,
                services.today,
            )
        except ReviewRefused as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title="未审核", severity="error", timeout=10
            )
            return
        done = "已通过" if decision == "approved" else "已不予通过"
        self.app.call_from_thread(self.notify, f"{done}，下次同步时告知省平台", title="审核")
        self.app.call_from_thread(self.load)


class ApplicationScreen(Screen[None]):
    """One online application before the decision: what was applied for, the materials sent,
    and the engine's verdict with its citations on the person's filings as the office holds
    them. Y/N are taken on the list, after Esc."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="application.back", tooltip="回到申请列表"),
    ]

    def __init__(self, services: Services, view: ApplicationView) -> None:
        super().__init__()
        self.services = services
        self.view = view

    def compose(self) -> ComposeResult:
        data = self.view.application.data
        person = data.get("person") or {}
        services = self.services
        destination = str(data.get("destination", ""))
        try:
            place = services.engine.regions.normalise(destination).full_name
        except RegionError:
            place = destination
        lines = [
            f"申请编号：{self.view.application.id}    提交日期：{data.get('submitted_on', '—')}",
            f"申请人：{person.get('name', '')}  {mask_id(str(person.get('id_number', '')))}",
            f"险种：{INSURANCE_LABELS.get(str(data.get('insurance')), data.get('insurance'))}  "
            f"{SCOPE_LABELS.get(str(data.get('scope')), data.get('scope'))}  "
            f"人员类别：{services.category_label(str(data.get('category', '')))}",
            f"就医地：{place}    备案依据："
            f"{BASIS_LABELS.get(str(data.get('basis', 'commitment')), data.get('basis'))}",
            "提交的材料：" + ("、".join(self.view.materials) or "无"),
        ]
        yield Header()
        yield Label("线上申请（不见面备案）", classes="title")
        with VerticalScroll():
            yield Static("\n".join(lines), id="application_detail")
            yield Verdict(id="application_verdict")
        yield KeysFooter()

    def on_mount(self) -> None:
        verdict = self.query_one(Verdict)
        if self.view.verdict is not None:
            verdict.show_result(self.view.verdict, self.services.engine.pack.material_labels)
        else:
            verdict.update("申请内容有误，不能通过：" + "；".join(self.view.errors))
