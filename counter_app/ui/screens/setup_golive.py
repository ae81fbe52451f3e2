"""示例参数核对: the go-live check of the policy values (the set-up's last step, and the palette's).

Lists every value of the office's pack still marked as an example, with its meaning and citation;
Enter opens one to confirm it as it is or with the office's own figures. Each is written to the
office's own pack file (``counter_app.golive``), checked as ``check-pack`` checks, and audited.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Input, Label

from counter_app import golive
from counter_app.packs import PackError, load_pack
from counter_app.storage.clerks import ClerkError, sign_in
from counter_app.storage.records import audit
from counter_app.ui.screens.person_form import form_row
from counter_app.ui.screens.setup import SetupContext
from counter_app.ui.screens.sign_in import refusal
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter


class ConfirmValueDialog(ModalScreen[dict[str, str] | None]):
    """One example value: its meaning and citation, its numbers to keep or change."""

    CSS_PATH = "setup.tcss"

    BINDINGS = [
        Binding("f10", "confirm", "确认", id="golive.confirm", tooltip="按所填数值确认"),
        Binding("escape", "cancel", "取消", id="golive.cancel", tooltip="不修改"),
    ]

    def __init__(self, pack_file: Path, item: golive.ExampleValue) -> None:
        super().__init__()
        self.pack_file = pack_file
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical(id="golive_dialog", classes="panel"):
            yield Label(self.item.meaning, classes="title")
            yield Label(f"依据：{self.item.citation}", classes="hint")
            yield Label(f"位置：{self.item.key}", classes="hint")
            for number, (key, value) in enumerate(self.item.values.items()):
                yield from form_row(key, Input(value, id=f"golive_v{number}", compact=True))
            if not self.item.values:
                yield Label("（本项为清单或规则，确认即采用）")
            yield Label("", id="message")
        yield KeysFooter()

    def action_cancel(self) -> None:
        """取消."""
        self.dismiss(None)

    def action_confirm(self) -> None:
        """Write the values (checked) off the UI thread."""
        values = {
            key: self.query_one(f"#golive_v{number}", Input).value
            for number, key in enumerate(self.item.values)
        }
        self._write(values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="golive", description="确认参数")
    def _write(self, values: dict[str, str]) -> None:
        try:
            golive.confirm_value(self.pack_file, self.item, values)
        except PackError as exc:
            message = f"未保存：{exc.problem}（{exc.key}）"
            self.app.call_from_thread(self.query_one("#message", Label).update, message)
            return
        self.app.call_from_thread(self.dismiss, values)


class GoLiveScreen(Screen[None]):
    """The example values still in force; Enter confirms one, F10 finishes."""

    CSS_PATH = "setup.tcss"
    BINDINGS = [
        Binding("e", "open", "确认/修改", id="golive.open", tooltip="确认或修改所选参数（或回车）"),
        Binding("f10", "finish", "完成", id="golive.finish", tooltip="结束核对（其余以后再做）"),
        Binding("escape", "finish", "返回", id="golive.back", tooltip="结束核对", show=False),
    ]

    def __init__(self, context: SetupContext, number: int = 0, total: int = 0) -> None:
        super().__init__()
        self.context = context
        self.step = f"设置向导 · 第 {number}/{total} 步：" if number else ""
        self.items: list[golive.ExampleValue] = []
        self.pack_file: Path | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="golive"):
            yield Label(f"{self.step}示例参数核对", classes="title")
            yield Label("", id="golive_count")
            yield DataTable(id="golive_table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="golive_detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("参数", "示例值", "依据")
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="golive", description="读取参数")
    def load(self) -> None:
        """Create the office's pack if needed and list what is still an example."""
        pack_file = golive.ensure_office_pack(
            self.context.db, self.context.settings, self.context.settings_path
        )
        items = golive.example_values(load_pack(pack_file))
        self.app.call_from_thread(self._show, pack_file, items)

    def _show(self, pack_file: Path, items: list[golive.ExampleValue]) -> None:
        self.pack_file, self.items = pack_file, items
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(
            [(item.meaning[:20], item.summary()[:14], item.citation[:8]) for item in items]
        )
        if items:
            table.move_cursor(row=min(max(cursor, 0), len(items) - 1))
        count = self.query_one("#golive_count", Label)
        if items:
            count.update(
                f"还有 {len(items)} 项示例参数：逐项确认或改为本统筹区数值后才可正式使用"
                f"（本机构策略包 {pack_file.name}）"
            )
        else:
            count.update("示例参数已全部确认，可以正式使用。按 F10 完成")
        table.focus()

    @on(DataTable.RowHighlighted)
    def _detail(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.items):
            item = self.items[event.cursor_row]
            self.query_one("#golive_detail", Label).update(
                f"{item.meaning}\n依据：{item.citation}；现值：{item.summary()}"
            )

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """确认/修改 the highlighted value."""
        table = self.query_one(DataTable)
        if not self.items or self.pack_file is None:
            return
        item = self.items[table.cursor_row]

        def closed(values: dict[str, str] | None) -> None:
            if values is not None:
                self._audit(item, values)
                self.load()

        self.app.push_screen(ConfirmValueDialog(self.pack_file, item), callback=closed)

    @work(thread=True, exit_on_error=False, group="golive_audit", description="记录")
    def _audit(self, item: golive.ExampleValue, values: dict[str, str]) -> None:
        with self.context.db.write() as session:
            audit(
                session,
                self.context.supervisor_id,
                "golive_confirm",
                "policy",
                item.key,
                example=item.values,
                confirmed=values,
            )

    def action_finish(self) -> None:
        """完成."""
        self.dismiss(None)


def example_values_sign_off(services: Services, what: str) -> Callable[[str, str], str]:
    """The check of a supervisor who lets ``what`` (a settlement) go ahead on example values.

    Runs in the dialog's worker: the password counts toward the lock-out as at sign-in; the
    sign-off is audited. Returns "" when signed, else why not (Chinese)."""

    def verify(username: str, password: str) -> str:
        settings = services.settings
        try:
            supervisor = sign_in(services.db, username, password, settings.lockout())
        except ClerkError as exc:
            return refusal(exc, settings)
        if supervisor is None:
            return "用户名或密码不正确，请重新输入"
        if supervisor.role != "supervisor" or supervisor.office_id != services.clerk.office_id:
            return f"{supervisor.display_name} 不是本机构的科长"
        with services.db.write() as session:
            audit(session, supervisor.clerk_id, "golive_example_sign_off", "claim", what)
        return ""

    return verify


def ask_example_sign_off(
    app: App[Any], services: Services, what: str, then: Callable[[], None]
) -> None:
    """Before settling on example values: a supervisor confirms (the demo never asks)."""
    from counter_app.ui.dialogs.text_input import SupervisorDialog

    if not golive.pending(services.engine.pack, services.settings.demo):
        then()
        return
    app.push_screen(
        SupervisorDialog(
            f"{golive.WARNING}：本机构尚未确认全部示例参数，结算 {what} 须科长确认",
            example_values_sign_off(services, what),
            who="科长可在命令面板“示例参数核对”中逐项确认",
        ),
        callback=lambda signed: then() if signed else None,
    )
