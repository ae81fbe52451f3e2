"""系统检查: the health check of ``counter-app doctor`` on a screen, for the supervisor.

The checks read files, probe printers and call the provincial store, so they run in a worker;
the screen shows one line per check (OK/⚠/✘ and what to do), F5 runs them again.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label, Static

from counter_app.doctor import Check, run_checks, worst
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter

#: Names longer than this (cells) go on a line of their own.
NAME_ROOM = 24
STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}
SUMMARY = {"ok": "全部正常", "warn": "有需要注意的项目（⚠）", "fail": "有故障（✘），请按提示处理"}


class DoctorScreen(Screen[None]):
    """Every check of the installation, with what to do (supervisors)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="doctor.back", tooltip="返回工作台"),
        Binding("f5", "reload", "重新检查", id="doctor.reload", tooltip="再运行一遍全部检查"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("系统检查（数据库、备份、加密、打印机、省平台、时钟）", classes="title")
        yield Label("正在检查…", id="doctor_summary")
        with VerticalScroll():
            yield Static("", id="doctor_lines")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        """Run the checks again."""
        self.query_one("#doctor_summary", Label).update("正在检查…")
        self.check()

    @work(thread=True, exclusive=True, exit_on_error=False, group="doctor", description="系统检查")
    def check(self) -> None:
        """Run every check off the UI thread."""
        checks = run_checks(self.services.settings, self.services.db.key)
        self.app.call_from_thread(self._show, checks)

    def _show(self, checks: list[Check]) -> None:
        from rich.text import Text

        text = Text()
        for check in checks:
            text.append(f"{check.mark:<3}", style=STYLE[check.status])
            line = check.line().removeprefix(check.mark).lstrip()
            if cell_len(check.name) > NAME_ROOM:
                # A long name (a folder, a printer address) would wrap just before its "：":
                # the name gets a line of its own, what was found the next, indented.
                line = f"{check.name}\n   {line.removeprefix(check.name).removeprefix('：')}"
            text.append(line + "\n")
        self.query_one("#doctor_lines", Static).update(text)
        self.query_one("#doctor_summary", Label).update(
            f"共 {len(checks)} 项：{SUMMARY[worst(checks)]}"
        )
