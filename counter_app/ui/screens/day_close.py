"""日结: the day report, a warning while events are unsent, and the supervisor's sign-off."""

from __future__ import annotations

from sqlmodel import select
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label, Static

from counter_app.storage.clerks import ClerkError, sign_in
from counter_app.storage.models import Clerk
from counter_app.storage.sync_models import DayClose
from counter_app.sync.day_close import DayCloseRefused, DayReport, close_day, closed, day_report
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.dialogs.text_input import SupervisorDialog
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.workers import load_in_worker


class DayCloseScreen(Screen[None]):
    """Today's report; F10 asks a supervisor to sign it off."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="day_close.back", tooltip="回到上一界面"),
        Binding("f10", "sign", "科长签署日结", id="day_close.sign", tooltip="科长输入密码签署"),
        Binding("s", "app.sync", "同步", id="day_close.sync", tooltip="先上传未上传的事件"),
        Binding("f5", "reload", "刷新", id="day_close.reload", tooltip="重新统计"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.report: DayReport | None = None
        self.supervisors: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(f"日结 {self.services.today.isoformat()}", classes="title")
        yield Label("", id="warning")
        with VerticalScroll():
            yield Static("正在统计…", id="report")
        yield Label("", id="signed")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        """Build the report again."""
        self.load()

    def load(self) -> None:
        """Build the report off the UI thread."""

        def read() -> tuple[DayReport, DayClose | None, list[str], str]:
            db, today = self.services.db, self.services.today
            settings = self.services.settings
            report = day_report(db, today, settings.zone())
            if settings.backups_automatic():
                from counter_app.storage.backup import report_line

                report.backup = report_line(
                    settings.database_path(), settings.backup_places(), settings.zone()
                )
            sign_off = closed(db, today)
            office = self.services.clerk.office_id
            with db.read() as session:
                supervisors = list(
                    session.exec(
                        select(Clerk.display_name).where(
                            Clerk.office_id == office, Clerk.role == "supervisor", Clerk.active
                        )
                    )
                )
                signer = session.get(Clerk, sign_off.closed_by) if sign_off else None
            return report, sign_off, supervisors, signer.display_name if signer else ""

        load_in_worker(
            self,
            read,
            lambda loaded: self._show(*loaded),
            group="day_close",
            description="日结统计",
        )

    def _show(
        self,
        report: DayReport,
        sign_off: DayClose | None,
        supervisors: list[str],
        signer: str,
    ) -> None:
        self.report = report
        self.supervisors = supervisors
        warning = self.query_one("#warning", Label)
        if report.pending_events or report.problems:
            warning.update(
                f"⚠ 还有 {report.pending_events} 个事件未上传、{report.problems} 个退回未处理："
                "按 S 先同步"
            )
            warning.add_class("warning")
        else:
            warning.update("全部事件已上传省平台")
            warning.remove_class("warning")
        self.query_one("#report", Static).update("\n".join(report.lines()))
        self.query_one("#signed", Label).update(
            f"已日结：{self.services.show_time(sign_off.closed_at)} 由科长 {signer} 签署"
            if sign_off
            else "尚未日结（须由科长签署）"
        )

    def action_sign(self) -> None:
        """Warn while events are unsent, then ask for a supervisor's password."""
        report = self.report
        if report is None:
            return

        def ask_supervisor(go_on: bool | None = True) -> None:
            if go_on:
                names = "、".join(self.supervisors) or "（本机构尚未登记科长）"
                self.app.push_screen(
                    SupervisorDialog(
                        f"签署 {report.day.isoformat()} 的日结",
                        lambda username, password: self.sign(report, username, password),
                        who=f"由科长签署：{names}",
                    ),
                    callback=lambda signed: self._signed() if signed else None,
                )

        if report.pending_events:
            self.app.push_screen(
                ConfirmDialog(
                    f"还有 {report.pending_events} 个事件未上传，仍要日结？",
                    "日结后这些事件仍会在下次同步时上传",
                ),
                callback=ask_supervisor,
            )
        else:
            ask_supervisor()

    def sign(self, report: DayReport, username: str, password: str) -> str:
        """Check the supervisor (audited) and record the sign-off; "" or why it was refused.

        Runs in the dialog's worker thread.
        """
        try:
            supervisor = sign_in(
                self.services.db, username, password, self.services.settings.lockout()
            )
        except ClerkError as exc:  # locked out: wrong passwords count here as at sign-in
            return str(exc)
        if supervisor is None:
            return "用户名或密码不正确，请重新输入"
        if supervisor.office_id != self.services.clerk.office_id:
            return f"{supervisor.display_name} 不是本机构的科长"
        try:
            close_day(self.services.db, supervisor, report)
        except DayCloseRefused as exc:
            return str(exc)
        from counter_app.personal_files import prune_personal_files

        prune_personal_files(self.services.settings)  # printed files past their keeping time
        return ""

    def _signed(self) -> None:
        self.notify("日结已签署", title="日结")
        if self.services.settings.backup.at_day_close:
            from counter_app.ui.backups import back_up

            back_up(self.app, "day_close")  # type: ignore[arg-type]
        self.load()
