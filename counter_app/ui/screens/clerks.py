"""经办人管理: the supervisor adds clerks, resets a password, disables an account (all audited).

The same functions as ``counter-app clerk add`` (``storage.clerks``); a reset password must be
changed at the clerk's next sign-in; a disabled clerk keeps every record and audit line.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Input, Label

from counter_app.storage.clerks import (
    ClerkError,
    ClerkRow,
    add_clerk,
    list_clerks,
    reset_password,
    set_active,
)
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import choice_select, form_row

ROLES = {"clerk": "经办人", "supervisor": "科长"}


class ClerkDialog(ModalScreen[dict[str, str] | None]):
    """A form for a new clerk (name, user name, role, password twice) or a new password."""

    CSS_PATH = "setup.tcss"
    BINDINGS = [
        Binding("f10", "save", "保存", id="clerk_dialog.save", tooltip="保存"),
        Binding("escape", "cancel", "取消", id="clerk_dialog.cancel", tooltip="不保存"),
    ]

    def __init__(self, title: str, new_clerk: bool) -> None:
        super().__init__()
        self.title_text = title
        self.new_clerk = new_clerk

    def compose(self) -> ComposeResult:
        with Vertical(id="clerk_dialog", classes="panel"):
            yield Label(self.title_text, classes="title")
            if self.new_clerk:
                yield from form_row("姓名", Input(id="clerk_name", compact=True))
                yield from form_row("用户名", Input(id="clerk_username", compact=True))
                yield from form_row("角色", choice_select(ROLES, "clerk", "clerk_role"))
            yield from form_row(
                "密码", Input(password=True, placeholder="至少 8 位", id="clerk_pw", compact=True)
            )
            yield from form_row("再次输入", Input(password=True, id="clerk_pw2", compact=True))
            yield Label("", id="message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#clerk_name" if self.new_clerk else "#clerk_pw", Input).focus()

    def action_save(self) -> None:
        """Hand the form to the list screen (it checks and writes)."""
        values = {
            key: str(getattr(widget, "value", ""))
            for key, widget in (
                (w.id.removeprefix("clerk_"), w) for w in self.query("Input, Select") if w.id
            )
        }
        if values.get("pw") != values.get("pw2"):
            self.query_one("#message", Label).update("两次输入的密码不一致")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        """取消."""
        self.dismiss(None)


class ClerksScreen(Screen[None]):
    """The office's clerks; A adds, R resets a password, X disables or enables again."""

    CSS_PATH = "setup.tcss"
    BINDINGS = [
        Binding("a", "add", "添加", id="clerks.add", tooltip="添加经办人"),
        Binding("r", "reset", "重置密码", id="clerks.reset", tooltip="下次登录须改密码"),
        Binding(
            "x",
            "toggle_active",
            "停用/启用",
            id="clerks.toggle",
            tooltip="停用后不能登录，记录保留",
        ),
        Binding("escape", "app.pop_screen", "返回", id="clerks.back", tooltip="返回"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.rows: list[ClerkRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="clerks"):
            yield Label("经办人管理（科长）", classes="title")
            yield DataTable(id="clerks_table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="clerks_message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("用户名", "姓名", "角色", "状态")
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="clerks_load", description="读取")
    def load(self) -> None:
        """Read the clerks off the UI thread."""
        rows = list_clerks(self.services.db, self.services.clerk.office_id)
        self.app.call_from_thread(self._show, rows)

    def _status(self, row: ClerkRow) -> str:
        if not row.active:
            return "已停用"
        now = self.services.settings.now()
        if row.locked_until is not None and row.locked_until > now:
            return f"锁定至 {self.services.show_time(row.locked_until, '%H:%M')}"
        return "须改密码" if row.must_change_password else "正常"

    def _show(self, rows: list[ClerkRow]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(
            [(r.username, r.display_name, ROLES.get(r.role, r.role), self._status(r)) for r in rows]
        )
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        table.focus()

    def _current(self) -> ClerkRow | None:
        table = self.query_one(DataTable)
        return self.rows[table.cursor_row] if self.rows else None

    def action_add(self) -> None:
        """添加经办人."""

        def saved(values: dict[str, str] | None) -> None:
            if values is not None:
                self._write("add", values)

        self.app.push_screen(ClerkDialog("添加经办人", new_clerk=True), callback=saved)

    def action_reset(self) -> None:
        """重置密码 of the highlighted clerk."""
        row = self._current()
        if row is None:
            return

        def saved(values: dict[str, str] | None) -> None:
            if values is not None:
                self._write("reset", {**values, "clerk_id": str(row.clerk_id)})

        title = f"重置 {row.display_name}（{row.username}）的密码：下次登录须改密码"
        self.app.push_screen(ClerkDialog(title, new_clerk=False), callback=saved)

    def action_toggle_active(self) -> None:
        """停用 or 启用 the highlighted clerk."""
        row = self._current()
        if row is not None:
            self._write("toggle", {"clerk_id": str(row.clerk_id), "active": str(not row.active)})

    @work(thread=True, exclusive=True, exit_on_error=False, group="clerks", description="保存")
    def _write(self, what: str, values: dict[str, Any]) -> None:
        clerk = self.services.clerk
        db = self.services.db
        try:
            if what == "add":
                add_clerk(
                    db,
                    clerk.office_code,
                    values["username"],
                    values["name"],
                    values["pw"],
                    values["role"],
                    by=clerk.clerk_id,
                )
                message = f"已添加 {values['username']}"
            elif what == "reset":
                reset_password(
                    db, clerk.clerk_id, clerk.office_id, int(values["clerk_id"]), values["pw"]
                )
                message = "密码已重置，该经办人下次登录须设置新密码"
            else:
                active = values["active"] == "True"
                set_active(db, clerk.clerk_id, clerk.office_id, int(values["clerk_id"]), active)
                message = "已启用" if active else "已停用（记录保留）"
        except ClerkError as exc:
            message = f"未保存：{exc}"
        self.app.call_from_thread(self.query_one("#clerks_message", Label).update, message)
        self.app.call_from_thread(self.load)
