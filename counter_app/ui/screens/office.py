"""本机构信息: the office name, phone, address and hours (printed on every form); supervisors only.

The same form serves a later set-up screen for a new office.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Label

from counter_app.storage.clerks import OFFICE_DETAILS, ClerkError, set_office_details
from counter_app.storage.models import Office
from counter_app.ui.messages import OfficeRenamed
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import form_row
from counter_app.ui.workers import load_in_worker

HINTS = {
    "name": "如 某某区医疗保障服务中心",
    "phone": "如 0553-1234567",
    "address": "如 某某路 1 号政务服务中心二楼",
    "hours": "如 周一至周五 8:30-12:00，14:00-17:30",
}


class OfficeScreen(Screen[None]):
    """Edit the office details; F10 saves (audited)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="office.back", tooltip="不保存，返回"),
        Binding("f10,ctrl+s", "save", "保存", id="office.save", tooltip="保存本机构信息"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="office_form"):
            yield Label("本机构信息（印在每份文书上；仅科长可修改）", classes="title")
            for key, label in OFFICE_DETAILS.items():
                yield from form_row(label, Input(placeholder=HINTS[key], id=f"office_{key}"))
            yield Label("", id="office_message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        """Read the office off the UI thread."""

        def read() -> Office | None:
            with self.services.db.read() as session:
                office = session.get(Office, self.services.clerk.office_id)
            return office

        load_in_worker(self, read, self._show, group="office", description="读取")

    def _show(self, office: Office | None) -> None:
        if office is None:
            return
        for key in OFFICE_DETAILS:
            self.query_one(f"#office_{key}", Input).value = getattr(office, key)
        self.query_one("#office_name", Input).focus()

    def action_save(self) -> None:
        """Save what the form holds."""
        values = {key: self.query_one(f"#office_{key}", Input).value for key in OFFICE_DETAILS}
        self.save(values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="office", description="保存")
    def save(self, values: dict[str, str]) -> None:
        """Write the details (audited) off the UI thread."""
        clerk = self.services.clerk
        try:
            office = set_office_details(
                self.services.db, clerk.office_code, clerk.clerk_id, **values
            )
        except ClerkError as exc:
            self.app.call_from_thread(self._message, f"未保存：{exc}")
            return
        self.app.call_from_thread(self._saved, office.name)

    def _message(self, text: str) -> None:
        self.query_one("#office_message", Label).update(text)

    def _saved(self, name: str) -> None:
        self._message("已保存")
        self.post_message(OfficeRenamed(name))
        self.notify("本机构信息已保存", title="本机构信息")
