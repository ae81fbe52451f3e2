"""The Textual application of the counter: start-up, sign-in, screens and the idle lock."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Label
from textual.worker import Worker, WorkerState

from counter_app.domain.errors import CounterError
from counter_app.ui.lock import GuardedApp
from counter_app.ui.messages import (
    EditPerson,
    OfficeRenamed,
    OpenClaim,
    OpenPerson,
    OpenPrint,
    ResumeClaim,
    ResumeDraft,
    SignOut,
    StartClaim,
    StartFiling,
    Unlocked,
    WorkFailed,
)
from counter_app.ui.typeahead import TypeAhead
from counter_app.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    # Imported where used: the start pays only for what the sign-in screen needs (issue 17).
    from counter_app.settings import Settings
    from counter_app.storage.clerks import SignedIn
    from counter_app.storage.db import Database
    from counter_app.storage.models import Draft
    from counter_app.ui.screens.sign_in import SignInScreen
    from counter_app.ui.services import Services

#: How long the start-up worker waits for the sign-in screen's first frame before it opens the
#: database anyway (a run without a screen to paint must still start).
FIRST_PAINT_WAIT_S = 5.0

#: The areas reached from the dashboard by one key; switching between them replaces the screen.
TOP_LEVEL_SCREENS = frozenset(
    {
        "DraftsScreen",
        "FilingRulesScreen",
        "ClaimsQueueScreen",
        "PrintQueueScreen",
        "SyncScreen",
        "ApplicationsScreen",
        "DayCloseScreen",
        "OfficeScreen",
        "DoctorScreen",
        "ClerksScreen",
        "AuditScreen",
    }
)


class CounterApp(GuardedApp):
    """Paints the sign-in screen at once, opens the database and the rules behind it in a worker,
    signs the clerk in, then the dashboard.

    The settings are read in that worker too (``settings`` reads them on first use, whichever
    thread asks first): pydantic and the TOML file are not part of the first frame.

    Locking (Ctrl+L, the idle time, the palette's 锁屏) is ``GuardedApp``'s: nothing of the work
    answers while the lock screen is up.
    """

    CSS_PATH = "app.tcss"
    TITLE = "异地就医经办窗口"
    BINDINGS = [
        # Priority: locks over dialogs and input fields too.
        Binding(
            "ctrl+l", "lock", "锁屏", id="app.lock", tooltip="离开窗口时锁定屏幕", priority=True
        ),
        Binding("f1", "more_keys", "更多", id="app.more", tooltip="本界面的全部按键"),
        Binding("ctrl+q", "quit", "退出", id="app.quit", tooltip="退出程序"),
        # Our own palette binding, so Textual does not add its English "palette" one.
        Binding(
            "ctrl+p",
            "command_palette",
            "命令",
            id="app.palette",
            tooltip="按名称查找功能",
            show=False,
            priority=True,
        ),
        # Hidden here (the footers of the snapshotted screens stay as they are); shown on the
        # print screens, and in the command palette.
        Binding(
            "f9",
            "print_queue",
            "打印队列",
            id="app.print_queue",
            tooltip="查看打印队列",
            show=False,
        ),
    ]

    def __init__(self, settings: Settings | Callable[[], Settings]) -> None:
        super().__init__()
        self._settings: Settings | None = None
        self._read_settings: Callable[[], Settings] | None = None
        if callable(settings):
            self._read_settings = settings
        else:
            self._settings = settings
        self._settings_lock = threading.Lock()
        self.services: Services | None = None
        #: Whether the database holds an office and a clerk (read at start-up; the set-up fills).
        self.setup_state = (True, True)
        #: Why the start-up failed, if it did (the sign-in screen says so).
        self.start_error = ""
        self.type_ahead = TypeAhead(self)
        self._header_timer: Any = None
        #: Set once the sign-in screen's first frame is painted: the start-up worker waits for
        #: it, so the database and the rules do not compete with the first paint for the GIL.
        self._painted = threading.Event()

    @property
    def settings(self) -> Settings:
        """The office's settings, read on first use (the start-up worker reads them)."""
        if self._settings is None:
            with self._settings_lock:
                if self._settings is None:
                    assert self._read_settings is not None
                    self._settings = self._read_settings()
        return self._settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("正在打开数据库和策略包…", id="loading")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._show_sign_in()
        self.start_up()
        self.set_interval(15, self.check_idle_lock)

    # -- start-up ------------------------------------------------------------------------

    def first_paint(self) -> None:
        """The sign-in screen was painted: the start-up may take the processor now."""
        self._painted.set()

    @work(thread=True, exclusive=True, exit_on_error=False, group="start", description="启动")
    def start_up(self) -> Services:
        """Read the settings, open (and migrate) the database and load the rules off the UI
        thread, once the sign-in screen is on the terminal."""
        self._painted.wait(FIRST_PAINT_WAIT_S)
        gc.enable()  # ``counter_app.launch`` turns it off until the first frame
        settings = self._checked_settings()
        # The settings' default office name is a placeholder: shown only when an office set it.
        configured = self._configured_office_name()
        if configured:
            self.call_from_thread(setattr, self, "sub_title", configured)
        from counter_app.personal_files import prune_personal_files
        from counter_app.rules_engine import build_engine
        from counter_app.storage.models import Office
        from counter_app.ui.services import Services

        prune_personal_files(settings)  # printed files past their keeping time
        engine = build_engine(settings.policy, settings.pack_file)
        from counter_app.storage.db import open_office_database

        db = open_office_database(settings)
        if settings.demo:
            from counter_app.storage.demo import seed_demo

            seed_demo(db, engine, settings.current_date())
        # The sign-in title names the office as the dashboard will (the database's, not the
        # settings' placeholder), when this database holds one office.
        if db.locked:
            # Encrypted: nothing can be read before a clerk's key slot opens it at sign-in. It was
            # encrypted with a supervisor's slot (set-up or ``db encrypt``): it is set up.
            self.setup_state = (True, True)
            return Services(settings=settings, db=db, engine=engine)
        from sqlmodel import select

        with db.read() as session:
            names = list(session.exec(select(Office.name)))
        if len(names) == 1:
            self.call_from_thread(self._name_office, names[0])
        from counter_app.storage.clerks import clerk_count

        self.setup_state = (bool(names), clerk_count(db) > 0)
        from counter_app.sync.pulled import with_pulled_calendar

        return Services(settings=settings, db=db, engine=with_pulled_calendar(engine, db))

    def _checked_settings(self) -> Settings:
        """The settings, or a start-up failure that names the wrong ones (in the settings file
        or a ``COUNTER_*`` variable)."""
        from pydantic import ValidationError

        try:
            return self.settings
        except ValidationError as exc:
            from counter_app.locations import config_file

            wrong = "；".join(
                f"{'.'.join(str(part) for part in error['loc'])}：{error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"设置有误（{config_file()} 或 COUNTER_ 环境变量）：{wrong}") from None

    def _name_office(self, name: str) -> None:
        self.title, self.sub_title = name, "请登录"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed worker becomes a clear Chinese message."""
        worker = event.worker
        if worker.state == WorkerState.SUCCESS and worker.group == "start":
            self.services = worker.result
            self.start_error = ""
            self._started()
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            message = self.show_failure(worker.description, worker.error)
            if worker.group == "start":
                self.start_error = message
                self.query_one("#loading", Label).update(message)
                screen = self._sign_in_screen()
                if screen is not None:
                    screen.start_failed(message)

    def on_work_failed(self, event: WorkFailed) -> None:
        """A screen's worker failed (its state change does not reach the app)."""
        self.show_failure(event.description, event.error)

    def show_failure(self, description: str, error: BaseException) -> str:
        """The one place a failure becomes a Chinese message for the clerk (returned too).

        A ``CounterError`` says in Chinese what went wrong, under its own heading."""
        if isinstance(error, CounterError):
            why, title = error.clerk_message(), error.title
        else:
            why, title = str(error), CounterError.title
        message = f"{description or '操作'}失败：{why}"
        self.notify(message, title=title, severity="error", timeout=15)
        return message

    def _sign_in_screen(self) -> SignInScreen | None:
        """The sign-in screen waiting for the services, if one is on the stack."""
        from counter_app.ui.screens.sign_in import SignInScreen

        for screen in self.screen_stack:
            if isinstance(screen, SignInScreen):
                return screen
        return None

    def _show_sign_in(self) -> None:
        """The sign-in screen, before the services exist (they reach it when ready)."""
        from counter_app.ui.screens.sign_in import SignInScreen

        if self._sign_in_screen() is None:
            screen = SignInScreen(self.services)
            self.push_screen(screen, callback=self._signed_in)
            screen.call_after_refresh(self.first_paint)

    def _started(self) -> None:
        """The database and the rules are open: to the set-up of a new office, or sign-in."""
        assert self.services is not None
        screen = self._sign_in_screen()
        if not all(self.setup_state) and not self.settings.demo:
            if screen is not None:
                # Nothing to sign in to: the set-up replaces the sign-in screen, and keys typed
                # ahead for the sign-in (a password) must not land in the set-up's fields.
                self.type_ahead.discard()
                while screen in self.screen_stack:
                    self.pop_screen()
            self.open_setup()
            return
        if screen is None:
            self._sign_in()
        else:
            screen.services_ready(self.services)

    def _sign_in(self) -> None:
        from counter_app.ui.screens.sign_in import SignInScreen

        assert self.services is not None
        self.push_screen(SignInScreen(self.services), callback=self._signed_in)

    def _signed_in(self, signed: SignedIn | None) -> None:
        assert self.services is not None and signed is not None
        if self.services.db.encrypted and not getattr(self, "_calendar_read", False):
            # The database opened at the first sign-in: apply the calendar packages start-up
            # could not read.
            from counter_app.sync.pulled import with_pulled_calendar

            self._calendar_read = True
            self.services.engine = with_pulled_calendar(self.services.engine, self.services.db)
        self.services.signed = signed
        self.sub_title = f"{signed.office_name} · {signed.display_name}"
        # The sign-in screen is still being dismissed; open the dashboard once it is gone.
        self.call_after_refresh(self._show_dashboard)
        self.refresh_sync_header()
        if self._header_timer is None:
            self._header_timer = self.set_interval(60, self.refresh_sync_header)
        from counter_app.ui.backups import start_timer

        start_timer(self)

    def _show_dashboard(self) -> None:
        from counter_app.ui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(self.ready))
        self._offer_resume()

    @work(thread=True, exit_on_error=False, group="drafts", description="读取草稿")
    def _offer_resume(self) -> None:
        """After a crash or power cut: offer the newest draft of this clerk."""
        from counter_app.storage.drafts import DECLINED, list_drafts

        services = self.services
        assert services is not None
        drafts = list_drafts(services.db, services.clerk.clerk_id)
        # Offered once: a draft declined at an earlier sign-in waits in D until worked on again.
        if drafts and not drafts[0].data.get(DECLINED):
            self.call_from_thread(self._ask_resume, drafts[0], len(drafts))

    def _ask_resume(self, draft: Draft, count: int) -> None:
        from counter_app.storage.drafts import mark_declined
        from counter_app.ui.dialogs.confirm import ConfirmDialog

        more = (
            f"（共 {count} 份草稿，可在工作台按 D 查看）"
            if count > 1
            else "（可在工作台按 D 查看）"
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.resume_draft(draft)
            elif draft.id is not None:
                draft_id, db = draft.id, self.ready.db
                self.run_worker(
                    lambda: mark_declined(db, draft_id),
                    thread=True,
                    group="drafts",
                    description="记录草稿",
                    exit_on_error=False,
                )

        self.push_screen(
            ConfirmDialog(f"有未完成的办理：{draft.title}，是否继续？", more), callback=answer
        )

    # -- navigation (screens post ui.messages; the handlers are the on_* methods) -----------

    def open_top_level(self, screen: Screen) -> None:
        """Open one of the top-level areas (S, O, J, L, D, R, F9): from another of them it
        replaces that one, so Esc goes back to where the clerk came from, not through a chain."""
        if type(self.screen).__name__ in TOP_LEVEL_SCREENS:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    @property
    def ready(self) -> Services:
        """The services, once signed in."""
        assert self.services is not None and self.services.signed is not None
        return self.services

    def action_search(self) -> None:
        """查找参保人."""
        from counter_app.ui.screens.search import SearchScreen

        self.push_screen(SearchScreen(self.ready))

    def action_drafts(self) -> None:
        """草稿."""
        from counter_app.ui.screens.drafts import DraftsScreen

        self.open_top_level(DraftsScreen(self.ready))

    def action_rules(self) -> None:
        """规则查询."""
        from counter_app.ui.screens.filing_rules import FilingRulesScreen

        self.open_top_level(FilingRulesScreen(self.ready))

    def action_new_person(self) -> None:
        """登记参保人, then open the new record."""
        from counter_app.ui.screens.person_form import PersonFormScreen

        def saved(person_id: int | None) -> None:
            if person_id is not None:
                self.open_person(person_id)

        self.push_screen(PersonFormScreen(self.ready), callback=saved)

    def on_edit_person(self, message: EditPerson) -> None:
        """修改参保人信息."""
        from counter_app.ui.screens.person_form import PersonFormScreen

        self.push_screen(PersonFormScreen(self.ready, message.person))

    def on_open_person(self, message: OpenPerson) -> None:
        """The person's page."""
        self.open_person(message.person_id)

    def open_person(self, person_id: int) -> None:
        """The person's page."""
        from counter_app.ui.screens.person import PersonScreen

        self.push_screen(PersonScreen(self.ready, person_id))

    def on_start_filing(self, message: StartFiling) -> None:
        """The filing wizard for new, change or cancel."""
        from counter_app.ui.filings.flow import FilingWizard
        from counter_app.ui.filings.state import FilingState

        ready = self.ready
        state = FilingState.begin(
            ready, message.person, message.action, message.target, message.filings
        )
        FilingWizard(self, ready, state).start()

    def on_resume_draft(self, message: ResumeDraft) -> None:
        """A draft chosen on the drafts screen."""
        self.resume_draft(message.draft)

    def resume_draft(self, draft: Draft) -> None:
        """Back into the wizard at the step the draft was saved at, with fresh filings."""
        from counter_app.storage.drafts import DECLINED
        from counter_app.storage.filings import as_existing, person_filings
        from counter_app.ui.claims.flow import ClaimWizard
        from counter_app.ui.claims.state import DRAFT_KIND as CLAIM_DRAFT
        from counter_app.ui.claims.state import ClaimState
        from counter_app.ui.filings.flow import FilingWizard
        from counter_app.ui.filings.state import FilingState

        assert draft.id is not None
        data = {k: v for k, v in draft.data.items() if k != DECLINED}
        if draft.kind == CLAIM_DRAFT:
            ClaimWizard(self, self.ready, ClaimState.from_draft(data, draft.id)).start()
            return
        state = FilingState.from_draft(data, draft.id)
        state.existing = as_existing(person_filings(self.ready.db, state.person_id))
        FilingWizard(self, self.ready, state).start()

    # -- claims (零星报销) -----------------------------------------------------------------

    def on_start_claim(self, message: StartClaim) -> None:
        """The claim wizard for a person, prefilled from their filings."""
        from counter_app.ui.claims.flow import ClaimWizard
        from counter_app.ui.claims.state import ClaimState

        ready = self.ready
        ClaimWizard(self, ready, ClaimState.begin(ready, message.person, message.filings)).start()

    def on_resume_claim(self, message: ResumeClaim) -> None:
        """A 待补材料 claim taken up again at the materials step."""
        from counter_app.ui.claims.flow import ClaimWizard
        from counter_app.ui.claims.state import ClaimState
        from counter_app.ui.claims.steps import MATERIALS_STEP

        claim = message.claim
        assert claim.version is not None
        lines = message.lines
        state = ClaimState.resume(
            message.person, claim.number, claim.version, claim.request, lines, claim.hospital
        )
        state.step = MATERIALS_STEP
        ClaimWizard(self, self.ready, state).start()

    def on_open_claim(self, message: OpenClaim) -> None:
        """One claim's page."""
        from counter_app.ui.claims.page import ClaimScreen

        self.push_screen(ClaimScreen(self.ready, message.number))

    def action_claims(self) -> None:
        """报销队列."""
        from counter_app.ui.claims.queue import ClaimsQueueScreen

        self.open_top_level(ClaimsQueueScreen(self.ready))

    def action_new_claim(self) -> None:
        """零星报销: find the person first; their page starts the claim (B)."""
        self.action_search()
        self.notify("找到参保人后，在其页面按 B 办理零星报销", timeout=6)

    def action_print_queue(self) -> None:
        """打印队列 (once signed in)."""
        from counter_app.ui.screens.printing import PrintQueueScreen

        if self.services is not None and self.services.signed is not None:
            self.open_top_level(PrintQueueScreen(self.ready))

    def on_open_print(self, message: OpenPrint) -> None:
        """The print screen a screen asked for."""
        self.open_print(message.number, message.kinds, message.subject)

    def open_print(self, number: str, kinds: list[str], subject: str = "") -> None:
        """The print screen for one record's documents (a filing's or a claim's)."""
        from counter_app.ui.screens.printing import PrintScreen

        self.push_screen(PrintScreen(self.ready, number, kinds, subject))

    def action_sync(self) -> None:
        """同步."""
        from counter_app.ui.screens.sync import SyncScreen

        self.open_top_level(SyncScreen(self.ready))

    def action_applications(self) -> None:
        """线上申请."""
        from counter_app.ui.screens.applications import ApplicationsScreen

        self.open_top_level(ApplicationsScreen(self.ready))

    def action_office(self) -> None:
        """本机构信息 (supervisors only)."""
        from counter_app.ui.screens.office import OfficeScreen

        if self.ready.clerk.role != "supervisor":
            self.notify("本机构信息只有科长可以修改", severity="warning")
            return
        self.open_top_level(OfficeScreen(self.ready))

    def action_doctor(self) -> None:
        """系统检查 (supervisors only)."""
        from counter_app.ui.screens.doctor import DoctorScreen

        if self.ready.clerk.role != "supervisor":
            self.notify("系统检查只有科长可以运行", severity="warning")
            return
        self.open_top_level(DoctorScreen(self.ready))

    def on_office_renamed(self, message: OfficeRenamed) -> None:
        """The office's name changed: the header and the signed-in clerk show the new one."""
        from dataclasses import replace

        self.ready.signed = replace(self.ready.clerk, office_name=message.name)
        self.title = message.name

    def action_day_close(self) -> None:
        """日结."""
        from counter_app.ui.screens.day_close import DayCloseScreen

        self.open_top_level(DayCloseScreen(self.ready))

    # -- sync state in the header ----------------------------------------------------------

    def refresh_sync_header(self) -> None:
        """Read the sync state and probe the provincial store (in a worker)."""
        if self.services and self.services.signed:
            self._read_sync_state()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="sync_header",
        description="读取同步状态",
    )
    def _read_sync_state(self) -> None:
        from counter_app.sync import outbox
        from counter_app.sync.client import ClientConfig, SyncError, probe, with_registration
        from counter_app.ui.sync_header import header_text, overdue_days

        services = self.ready
        config = services.settings.sync
        client = ClientConfig.from_settings(config)
        with contextlib.suppress(SyncError):  # a broken registration shows as offline
            client = with_registration(client, services.db.path)
        online = probe(client) if client.url else None
        last_ok = outbox.status(services.db).last_ok_at
        text = header_text(config.terminal, online, last_ok, config.warn_days)
        if config.allow_insecure and config.insecure():
            text += " · ⚠明文连接（sync.allow_insecure）"
        if services.settings.backups_automatic():
            from counter_app.ui.backups import header_part

            text += f" · {header_part(services.settings)}"
        overdue = overdue_days(last_ok, config.warn_days) if config.url else 0
        never = last_ok is None
        self.call_from_thread(self._show_sync_state, text, overdue, never)

    def _show_sync_state(self, text: str, overdue: int, never: bool) -> None:
        from counter_app.golive import WARNING, pending

        if pending(self.ready.engine.pack, self.settings.demo):
            text = f"{WARNING} · {text}"
        self.title, self.sub_title = self.ready.clerk.office_name, text
        warned = getattr(self, "_sync_warned", False)
        if overdue and not warned:
            self._sync_warned = True
            late = "还没有与省平台同步过" if never else f"已 {overdue} 天没有与省平台成功同步"
            self.notify(
                f"{late}，请尽快同步（工作台按 S，同步界面按 F9）",
                title="同步提醒",
                severity="warning",
                timeout=15,
            )

    # -- the lock (GuardedApp) -------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        # GuardedApp.on_event notes the clerk's activity for the idle lock
        if self.type_ahead.intercept(event):
            return  # held until the screen being opened can take it
        await super().on_event(event)

    def can_lock(self) -> bool:
        """A clerk is signed in."""
        return self.services is not None and self.services.signed is not None

    def make_lock_screen(self) -> Screen[None]:
        """The lock screen of the clerk signed in."""
        from counter_app.ui.screens.lock import LockScreen

        assert self.services is not None
        return LockScreen(self.services)

    def idle_limit(self) -> float:
        """The office's idle time before the lock (none before the start-up: nothing to lock,
        and the settings may not be read yet)."""
        if self.services is None:
            return float("inf")
        return self.services.settings.idle_lock_minutes * 60.0

    def _is_guard_screen(self, screen: Screen[Any] | str) -> bool:
        from counter_app.ui.screens.sign_in import ChangePasswordDialog, SignInScreen

        return self.guard == "signed_out" and isinstance(
            screen, (SignInScreen, ChangePasswordDialog)
        )

    def action_lock(self) -> None:
        """Cover the screen until the clerk's password is typed again."""
        self.lock()

    def on_unlocked(self, message: Unlocked) -> None:
        """The lock screen's password was right."""
        self.unlock(message.lock_screen)

    def on_sign_out(self, message: SignOut) -> None:
        """Signing out from the lock screen."""
        self.sign_out()

    def sign_out(self) -> None:
        """From the lock screen: end the session; the next clerk signs in."""
        self.leave_session()
        if self.services is not None:
            self.services.signed = None
            self.services.opened.clear()
        self.sub_title = "请登录"
        self._sign_in()

    def action_more_keys(self) -> None:
        """更多: every key of the current screen; Enter runs the chosen one."""
        from counter_app.ui.dialogs.keys import KeysDialog

        if isinstance(self.screen, KeysDialog):
            return
        screen = self.screen

        def chosen(entry: object) -> None:
            if entry is not None:
                action, namespace = entry.action, entry.namespace  # type: ignore[attr-defined]
                self.call_later(self.run_action, action, namespace)

        self.push_screen(KeysDialog(screen), callback=chosen)

    def action_command_palette(self) -> None:
        """The command palette, in Chinese."""
        from textual.command import CommandPalette

        from counter_app.ui.widgets.chinese import CounterPalette

        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(CounterPalette())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (Ctrl+P): the rarer actions by name (only ours, all Chinese)."""
        if self.locked:
            return
        yield SystemCommand("退出", "退出程序", self.action_quit)
        if self.services and self.services.signed:
            yield SystemCommand(
                "查找参保人", "按身份证号、姓名、拼音或备案编号查找", self.action_search
            )
            yield SystemCommand("登记参保人", "登记新的参保人", self.action_new_person)
            yield SystemCommand("草稿", "继续未完成的办理", self.action_drafts)
            yield SystemCommand(
                "报销队列", "零星报销：待补材料、受理、审核、结算", self.action_claims
            )
            yield SystemCommand(
                "零星报销", "为参保人办理零星报销（先查找参保人）", self.action_new_claim
            )
            yield SystemCommand("规则查询", "试算一笔备案的规则判断", self.action_rules)
            yield SystemCommand("同步", "与省平台日终同步", self.action_sync)
            yield SystemCommand("线上申请", "审核不见面备案申请", self.action_applications)
            yield SystemCommand("日结", "日结报表与科长签署", self.action_day_close)
            yield SystemCommand("锁屏", "锁定屏幕", self.action_lock)
            if self.services.signed.role == "supervisor":
                yield SystemCommand(
                    "本机构信息", "机构名称、电话、地址、办公时间（科长）", self.action_office
                )
                yield SystemCommand(
                    "系统检查",
                    "数据库、备份、加密、打印机、省平台、时钟（科长）",
                    self.action_doctor,
                )
                yield from self.supervisor_commands()
            yield SystemCommand("打印队列", "重试、重印、换打印机", self.action_print_queue)

    # -- the supervisor's desk (set-up, go-live check, clerks, audit trail) ------------------

    def _configured_office_name(self) -> str:
        """The office name the settings file gives, never the built-in placeholder."""
        return self.settings.office_name if "office_name" in self.settings.model_fields_set else ""

    def open_setup(self) -> None:
        """The set-up wizard: at first run, and for a supervisor from the palette."""
        from counter_app.ui.screens.setup import SetupContext, SetupFlow

        assert self.services is not None
        has_office, has_clerk = self.setup_state
        signed = self.services.signed
        context = SetupContext(
            settings=self.settings,
            db=self.services.db,
            policy=self.settings.policy,
            has_office=has_office,
            has_clerk=has_clerk,
            supervisor_id=signed.clerk_id if signed else None,
            office_name=signed.office_name if signed else "",
            office_code=signed.office_code if signed else "",
            on_database=self._database_replaced,
        )
        if signed is None:
            self.title, self.sub_title = "设置向导", "新机构首次使用"
        SetupFlow(self, context, self._setup_done).start()

    def _database_replaced(self, db: Database) -> None:
        """The set-up created the office's database anew (encrypted): use it from now on (the
        set-up closed the old one's engines)."""
        assert self.services is not None
        self.services.db = db

    def _setup_done(self, context: object) -> None:
        """Open everything again with what the set-up wrote (policy, own pack, printers)."""
        if self.services is not None and self.services.signed is not None:
            self.notify("设置已保存；策略包等改动在下次登录后生效", title="设置向导")
            return
        if self.services is not None:
            self.services.db.close()  # start-up opens it again (locked, when encrypted)
        self.title = getattr(context, "office_name", "") or self.title
        self.sub_title = "请登录"
        self.services = None  # the sign-in screen waits for start-up to open them again
        self._show_sign_in()
        self.start_up()

    def open_golive(self) -> None:
        """示例参数核对 (supervisors)."""
        from counter_app.ui.screens.setup import SetupContext
        from counter_app.ui.screens.setup_golive import GoLiveScreen

        ready = self.ready
        context = SetupContext(
            settings=self.settings, db=ready.db, supervisor_id=ready.clerk.clerk_id
        )
        self.push_screen(GoLiveScreen(context))

    def open_clerks(self) -> None:
        """经办人管理 (supervisors)."""
        from counter_app.ui.screens.clerks import ClerksScreen

        self.open_top_level(ClerksScreen(self.ready))

    def open_audit(self) -> None:
        """审计日志 (supervisors)."""
        from counter_app.ui.screens.audit import AuditScreen

        self.open_top_level(AuditScreen(self.ready))

    def supervisor_commands(self) -> Iterable[SystemCommand]:
        """The palette's supervisor entries."""
        yield SystemCommand("经办人管理", "添加经办人、重置密码、停用（科长）", self.open_clerks)
        yield SystemCommand(
            "审计日志", "按经办人、参保人、操作、日期查看和导出（科长）", self.open_audit
        )
        yield SystemCommand("示例参数核对", "逐项确认策略包的示例参数（科长）", self.open_golive)
        yield SystemCommand("设置向导", "打印机、省平台、备份位置（科长）", self.open_setup)


def build_app(policy: str | None = None, demo: bool = False, **overrides: object) -> CounterApp:
    """The app as ``counter-app`` builds it: the office's settings, ``policy``/``demo`` (and, for
    tests and training, any other setting) overriding them. The Pilot tests use this too."""
    values: dict[str, object] = dict(overrides)
    if policy:
        values["policy"] = policy
    if demo:
        values["demo"] = True

    def read() -> Settings:
        from counter_app.settings import Settings

        return Settings(**values)  # type: ignore[arg-type]

    # Read in the start-up worker, after the sign-in screen is painted (issue 17).
    return CounterApp(read)


def run_app(policy: str | None = None, demo: bool = False) -> None:
    """Start the UI with the office's settings (``policy`` and ``demo`` override them)."""
    build_app(policy, demo).run()
