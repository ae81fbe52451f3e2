"""设置向导: the first run of a new office, one ``Screen`` per step.

Shown when the database holds no office or no clerk (and again, for a supervisor, from the command
palette). Every check and write is ``counter_app.office_setup``'s, the same code as
``counter-app setup --from office.toml``. The office and its first supervisor are needed before
anyone can sign in; printers, the provincial store and backups can be skipped (F2) and set later.
The office step only checks and keeps its answers: the supervisor step creates both
(``found_office``), in a new encrypted database when encryption is on, whose recovery key
``RecoveryKeyScreen`` shows once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from counter_app import office_setup as setup
from counter_app.settings import Settings
from counter_app.storage.db import Database
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import choice_select, form_row


@dataclass
class SetupContext:
    """What the steps share: where to write, and what the earlier steps chose."""

    settings: Settings
    db: Database
    policy: str = ""
    office: setup.OfficeChoice | None = None
    office_name: str = ""
    has_office: bool = False
    has_clerk: bool = False
    supervisor_id: int | None = None
    #: The office's code when the set-up is opened again by a signed-in supervisor.
    office_code: str = ""
    #: The office step's answers, written with the supervisor (``found_office``).
    office_details: setup.OfficeDetails | None = None
    #: Told (on the UI thread) when the set-up replaced the database (now encrypted): the app
    #: uses the new one from then on.
    on_database: Callable[[Database], None] | None = None
    done: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        """The office's code (chosen in this set-up, or the existing office's)."""
        return self.office.code if self.office else self.office_code

    @property
    def settings_path(self) -> Path | None:
        """The settings file (None: the default place)."""
        return None


class SetupStep(Screen[str]):
    """One step: F10 saves and goes on, F2 skips (where allowed), Esc goes back a step."""

    CSS_PATH = "setup.tcss"
    TITLE_TEXT: ClassVar[str] = ""
    SKIPPABLE: ClassVar[bool] = True
    BINDINGS = [
        Binding("f10", "next", "下一步", id="setup.next", tooltip="保存本步并进入下一步"),
        Binding("f2", "skip", "跳过", id="setup.skip", tooltip="本步以后再设置"),
        Binding("escape", "back", "上一步", id="setup.back", tooltip="回到上一步"),
    ]

    def __init__(self, context: SetupContext, number: int, total: int) -> None:
        super().__init__()
        self.context = context
        self.number = number
        self.total = total
        #: What the flow is told after a save: go on, or this step once more (another printer).
        self.after_save = "next"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="setup_step"):
            yield Label(
                f"设置向导 · 第 {self.number}/{self.total} 步：{self.TITLE_TEXT}", classes="title"
            )
            yield from self.fields()
            yield Label("", id="setup_message", classes="setup-message")
        yield KeysFooter()

    def fields(self) -> ComposeResult:
        """The step's own fields."""
        yield from ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden (not only greyed) where they do nothing: the footer shows what works.
        if action == "skip" and not self.SKIPPABLE:
            return False
        return not (action == "back" and self.number == 1)

    def value(self, widget_id: str) -> str:
        """An input's text, or a select's value."""
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Select):
            return str(widget.value)
        return widget.value  # type: ignore[attr-defined]

    def say(self, text: str, ok: bool = False) -> None:
        """A message under the fields (errors red, results green)."""
        label = self.query_one("#setup_message", Label)
        label.set_class(ok, "ok")
        label.update(text)

    def action_back(self) -> None:
        """上一步."""
        self.dismiss("back")

    def action_skip(self) -> None:
        """跳过."""
        self.dismiss("skip")

    def action_next(self) -> None:
        """Check and save off the UI thread; on success go on."""
        self.begin_save("next")

    def begin_save(self, after: str) -> None:
        """Save; on success tell the flow ``after`` (next, or again for one more)."""
        self.after_save = after
        self.say("正在保存…", ok=True)
        self._save(self.collect())

    def collect(self) -> dict[str, str]:
        """The form's values (read on the UI thread)."""
        return {}

    def save(self, values: dict[str, str]) -> str:
        """Check and write (in a worker); returns a line for the summary."""
        return ""

    @work(thread=True, exclusive=True, exit_on_error=False, group="setup", description="保存设置")
    def _save(self, values: dict[str, str]) -> None:
        try:
            line = self.save(values)
        except (setup.SetupError, ValueError) as exc:
            self.app.call_from_thread(self.say, str(exc))
            return
        self.app.call_from_thread(self._saved, line)

    def _saved(self, line: str) -> None:
        if line:
            self.context.done.append(line)
        self.dismiss(self.after_save)

    def run_check(self, check: Callable[[], str], busy: str) -> None:
        """A test (print, connection) off the UI thread; its result shown under the fields."""
        self.say(busy, ok=True)
        self._check(check)

    @work(thread=True, exclusive=True, exit_on_error=False, group="setup", description="测试")
    def _check(self, check: Callable[[], str]) -> None:
        try:
            text = check()
        except (setup.SetupError, ValueError, OSError) as exc:
            self.app.call_from_thread(self.say, str(exc))
            return
        self.app.call_from_thread(self.say, text, True)


class RegionStep(SetupStep):
    """The region (policy pack) and the office by code or name from the GB/T 2260 list."""

    TITLE_TEXT = "地区与经办机构"
    SKIPPABLE = False
    AUTO_FOCUS = "#setup_search"

    def fields(self) -> ComposeResult:
        regions = setup.region_names()
        policy = self.context.policy or self.context.settings.policy
        if policy not in regions:
            policy = next(iter(regions))
        yield from form_row("地区策略包", choice_select(regions, policy, "setup_policy"))
        yield from form_row(
            "机构代码或名称",
            Input(placeholder="如 340202 或 镜湖", id="setup_search", compact=True),
        )
        yield OptionList(id="setup_offices")
        yield Label("", id="setup_chosen")
        yield Label("输入后按 Enter 到列表，↑↓ 选择，Enter 选定，F10 下一步", classes="hint")

    @on(Input.Changed, "#setup_search")
    @on(Select.Changed, "#setup_policy")
    def _search(self) -> None:
        found = setup.find_offices(self.value("setup_policy"), self.value("setup_search"))
        options = self.query_one("#setup_offices", OptionList)
        options.clear_options()
        options.add_options(
            [
                Option(f"{c.code} {c.name}（统筹区 {c.pool_code} {c.pool_name}）", id=c.code)
                for c in found
            ]
        )
        if len(found) == 1:
            self._choose(found[0])

    @on(Input.Submitted, "#setup_search")
    def _to_list(self) -> None:
        options = self.query_one("#setup_offices", OptionList)
        if options.option_count:
            options.highlighted = 0
            options.focus()

    @on(OptionList.OptionSelected, "#setup_offices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        code = event.option.id or ""
        self._choose(setup.check_office_code(self.value("setup_policy"), code))

    def _choose(self, choice: setup.OfficeChoice) -> None:
        self.context.office = choice
        self.context.policy = self.value("setup_policy")
        self.query_one("#setup_chosen", Label).update(
            f"已选：{choice.code} {choice.name}，参保统筹区 {choice.pool_code} {choice.pool_name}"
        )

    def collect(self) -> dict[str, str]:
        chosen = self.context.office
        return {"policy": self.value("setup_policy"), "code": chosen.code if chosen else ""}

    def save(self, values: dict[str, str]) -> str:
        if not values["code"]:
            raise setup.SetupError("请先选定经办机构（输入代码或名称，在列表中按 Enter）")
        choice = setup.check_office_code(values["policy"], values["code"])
        self.context.office, self.context.policy = choice, values["policy"]
        return ""


class OfficeStep(SetupStep):
    """Name, address, phone and hours (``office add`` + ``office set``)."""

    TITLE_TEXT = "机构信息（印在每份文书上）"
    SKIPPABLE = False
    AUTO_FOCUS = "#setup_name"

    def fields(self) -> ComposeResult:
        choice = self.context.office
        suggested = self.context.office_name or (f"{choice.name}医疗保障服务中心" if choice else "")
        yield from form_row("机构名称", Input(suggested, id="setup_name", compact=True))
        yield from form_row(
            "地址",
            Input(placeholder="如 某某路 1 号政务服务中心", id="setup_address", compact=True),
        )
        yield from form_row(
            "咨询电话", Input(placeholder="如 0553-1234567", id="setup_phone", compact=True)
        )
        yield from form_row(
            "办公时间",
            Input(placeholder="如 周一至周五 8:30-17:30", id="setup_hours", compact=True),
        )

    def collect(self) -> dict[str, str]:
        return {k: self.value(f"setup_{k}") for k in ("name", "address", "phone", "hours")}

    def save(self, values: dict[str, str]) -> str:
        context = self.context
        assert context.office is not None
        choice = setup.check_office_code(context.policy, context.office.code)
        values["name"] = values["name"].strip() or choice.name
        context.office_details = setup.OfficeDetails(context.policy, choice.code, **values)
        context.office_name = values["name"]
        return ""


class SupervisorStep(SetupStep):
    """The first supervisor: name, user name, password twice (argon2)."""

    TITLE_TEXT = "科长账户"
    SKIPPABLE = False
    AUTO_FOCUS = "#setup_display"

    def fields(self) -> ComposeResult:
        yield from form_row("姓名", Input(id="setup_display", compact=True))
        yield from form_row(
            "用户名", Input(placeholder="登录用，如 zhangke", id="setup_username", compact=True)
        )
        yield from form_row(
            "密码", Input(password=True, placeholder="至少 8 位", id="setup_pw", compact=True)
        )
        yield from form_row("再次输入", Input(password=True, id="setup_pw2", compact=True))

    def collect(self) -> dict[str, str]:
        return {k: self.value(f"setup_{k}") for k in ("display", "username", "pw", "pw2")}

    def __init__(self, context: SetupContext, number: int, total: int) -> None:
        super().__init__(context, number, total)
        self.recovery_key: str | None = None
        self.replaced: Database | None = None

    def save(self, values: dict[str, str]) -> str:
        context = self.context
        office = None if context.has_office else context.office_details
        if office is None and not context.has_office:
            raise setup.SetupError("请先完成“机构信息”一步（Esc 返回上一步）")
        before = context.db
        founded = setup.found_office(
            context.db,
            context.settings,
            office,
            setup.SupervisorDetails(
                values["display"], values["username"], values["pw"], values["pw2"]
            ),
            context.settings_path,
        )
        context.db, context.supervisor_id = founded.db, founded.supervisor_id
        self.replaced = founded.db if founded.db is not before else None
        self.recovery_key = founded.recovery_key
        context.has_clerk = True
        if office is not None:
            context.has_office = True
            context.settings.policy = office.policy
            context.settings.office_name = context.office_name
            context.done.append(f"经办机构：{office.code} {context.office_name}")
        encrypted = "（数据库已加密）" if founded.recovery_key else ""
        return f"科长账户：{values['username'].strip()}{encrypted}"

    def _saved(self, line: str) -> None:
        if self.replaced is not None and self.context.on_database is not None:
            self.context.on_database(self.replaced)
        if self.recovery_key is None:
            super()._saved(line)
            return
        key, self.recovery_key = self.recovery_key, None

        def shown(_: object) -> None:
            super(SupervisorStep, self)._saved(line)

        self.app.push_screen(RecoveryKeyScreen(key), callback=shown)


class RecoveryKeyScreen(ModalScreen[None]):
    """The new encrypted database's recovery key, shown this once: written down before going on.

    It is not printed from here: the printers are set in a later step, and a PDF of it saved
    beside the database would open the database to anyone who finds the file."""

    BINDINGS = [
        Binding("f10", "done", "已抄写，继续", id="setup.recovery_done", tooltip="已抄写恢复密钥"),
    ]

    def __init__(self, recovery_key: str) -> None:
        super().__init__()
        self.recovery_key = recovery_key

    def compose(self) -> ComposeResult:
        with Vertical(id="recovery_dialog"):
            yield Label("恢复密钥（只显示这一次）", classes="title")
            yield Label(setup.RECOVERY_ADVICE, id="recovery_advice")
            yield Label(f"[b]{self.recovery_key}[/b]", id="recovery_key")
            yield Label(
                "请逐字核对抄写后按 F10 继续；关闭后无法再次查看。",
                classes="hint",
            )
        yield KeysFooter()

    def action_done(self) -> None:
        """已抄写，继续."""
        self.dismiss(None)


class PrinterStep(SetupStep):
    """One printer with a test print (F5); F10 saves it."""

    TITLE_TEXT = "打印机（可跳过）"
    AUTO_FOCUS = "#setup_pname"
    BINDINGS = [
        Binding("f5", "test", "测试打印", id="setup.test_print", tooltip="打印一张测试页"),
        Binding("f4", "another", "再加一台", id="setup.another", tooltip="保存本台，再添加一台"),
    ]

    def action_another(self) -> None:
        """Save this printer and open the form again for the next one."""
        self.begin_save("again")

    def fields(self) -> ComposeResult:
        yield from form_row("名称", Input("1号窗口小票机", id="setup_pname", compact=True))
        yield from form_row("连接方式", choice_select(setup.PRINTER_KINDS, "network", "setup_kind"))
        yield from form_row(
            "地址", Input(placeholder="如 192.168.1.50:9100", id="setup_paddress", compact=True)
        )
        yield from form_row("纸张", choice_select(setup.PAPERS, "80", "setup_paper"))
        yield from form_row("中文方式", choice_select(setup.HANZI_MODES, "gb18030", "setup_hanzi"))

    def collect(self) -> dict[str, str]:
        return {
            "name": self.value("setup_pname"),
            "kind": self.value("setup_kind"),
            "address": self.value("setup_paddress").strip(),
            "paper": self.value("setup_paper"),
            "hanzi": self.value("setup_hanzi"),
        }

    def action_test(self) -> None:
        """测试打印."""
        values = self.collect()
        name = self.context.office_name
        now = self.context.settings.now()

        def check() -> str:
            printer = setup.check_printer(values)
            where = setup.print_test_page(printer, name, self.context.settings.local(now))
            return f"测试页已发送到 {where}，请查看打印结果"

        self.run_check(check, "正在打印测试页…")

    def save(self, values: dict[str, str]) -> str:
        printer = setup.check_printer(values)
        printers = [*self.context.settings.printers, printer]
        setup.save_printers(printers, self.context.settings_path)
        self.context.settings.printers = printers
        return f"打印机：{printer.name}（{printer.address}）"


class StoreStep(SetupStep):
    """The provincial store's address and token, with a connection test (F5)."""

    TITLE_TEXT = "省平台连接（可跳过）"
    AUTO_FOCUS = "#setup_url"
    BINDINGS = [
        Binding("f5", "test", "连接测试", id="setup.test_store", tooltip="用令牌连接省平台"),
    ]

    def fields(self) -> ComposeResult:
        yield from form_row(
            "省平台地址",
            Input(placeholder="如 https://yb.example.gov.cn:8700", id="setup_url", compact=True),
        )
        yield from form_row("本机构令牌", Input(password=True, id="setup_token", compact=True))
        yield Label("令牌由省平台给出；连接测试核对令牌所属的机构代码并显示证书", classes="hint")

    def collect(self) -> dict[str, str]:
        return {"url": self.value("setup_url"), "token": self.value("setup_token")}

    def action_test(self) -> None:
        """连接测试."""
        values = self.collect()
        office = self.context.code

        def check() -> str:
            found = setup.check_store(values["url"], values["token"], office)
            return f"连接正常：令牌属于本机构 {found.office}；{found.certificate}"

        self.run_check(check, "正在连接省平台…")

    def save(self, values: dict[str, str]) -> str:
        if not values["url"].strip() or not values["token"].strip():
            raise setup.SetupError("请填写省平台地址和本机构令牌，或按 F2 跳过")
        setup.save_store(values["url"], values["token"], self.context.settings_path)
        sync = self.context.settings.sync  # this run uses it at once (the header, the sync)
        sync.url, sync.token = values["url"].strip(), SecretStr(values["token"].strip())
        return f"省平台：{values['url'].strip()}"


class BackupStep(SetupStep):
    """The folder backups go to (the backups' ``[backup] places``)."""

    TITLE_TEXT = "备份位置（可跳过）"
    AUTO_FOCUS = "#setup_backup"

    def fields(self) -> ComposeResult:
        yield from form_row(
            "备份文件夹", Input(placeholder="如 /media/usb/备份", id="setup_backup", compact=True)
        )
        yield Label("应在另一块磁盘或 U 盘上，不要与数据库同一文件夹", classes="hint")

    def collect(self) -> dict[str, str]:
        return {"place": self.value("setup_backup")}

    def save(self, values: dict[str, str]) -> str:
        folder = setup.save_backup_place(
            values["place"], self.context.settings.database_path(), self.context.settings_path
        )
        self.context.settings.backup.places = [folder]
        return f"备份文件夹：{folder}"


#: The steps in order; the office and supervisor steps are left out when already done.
STEPS: tuple[type[SetupStep], ...] = (
    RegionStep,
    OfficeStep,
    SupervisorStep,
    PrinterStep,
    StoreStep,
    BackupStep,
)


class SetupFlow:
    """Walks the steps: each step's answer (next, skip, back) picks the following one."""

    def __init__(
        self, app: Any, context: SetupContext, on_done: Callable[[SetupContext], None]
    ) -> None:
        self.app = app
        self.context = context
        self.on_done = on_done
        self.steps = [
            step
            for step in STEPS
            if not (context.has_office and step in (RegionStep, OfficeStep))
            and not (context.has_clerk and step is SupervisorStep)
        ]
        self.index = 0

    def start(self) -> None:
        """Open the first step."""
        self._open()

    def _open(self) -> None:
        if self.index >= len(self.steps):
            self._golive()
            return
        step = self.steps[self.index](self.context, self.index + 1, len(self.steps) + 1)
        self.app.push_screen(step, callback=self._answered)

    def _answered(self, answer: str | None) -> None:
        if answer != "again":
            self.index += -1 if answer == "back" else 1
        self.index = max(self.index, 0)
        self._open()

    def _golive(self) -> None:
        from counter_app.ui.screens.setup_golive import GoLiveScreen

        def closed(_: object) -> None:
            self.on_done(self.context)

        self.app.push_screen(
            GoLiveScreen(self.context, len(self.steps) + 1, len(self.steps) + 1), callback=closed
        )
