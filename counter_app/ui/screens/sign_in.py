"""Sign-in: user name and password; says what is wrong (no clerk yet, a disabled account, a
lock-out and until when) and asks for a new password after a supervisor's reset.

The screen is the first thing the counter paints (issue 17): it appears before the database, the
models and the rules are loaded, so this module imports none of them at its top. The clerk types
at once; a password submitted before the app's start-up is done waits for it (正在打开数据库…)
and is checked as soon as the services are ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Input, Label

from counter_app.ui.typeahead import TypeAheadTarget
from counter_app.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from counter_app.settings import Settings
    from counter_app.storage.clerks import ClerkError, SignedIn
    from counter_app.ui.services import Services

WRONG = "用户名或密码不正确"
#: Shown while a submitted password waits for the database to open.
OPENING = "正在打开数据库…"
DEMO_HINT = "演示账号：demo / demo1234"


def __getattr__(name: str) -> Any:
    """``LockScreen`` is re-exported from here, imported only when asked for (it needs storage)."""
    if name == "LockScreen":
        from counter_app.ui.screens.lock import LockScreen

        return LockScreen
    raise AttributeError(name)


def refusal(exc: ClerkError, settings: Settings) -> str:
    """Why a password was not accepted, with a lock-out's end in the office's time."""
    from counter_app.storage.clerks import AccountLocked

    if isinstance(exc, AccountLocked):
        until = settings.local(exc.until)
        return (
            f"密码连续输错 {settings.sign_in_attempts} 次，账户已锁定至 "
            f"{until:%Y-%m-%d %H:%M}；到时再试，或请科长重置密码"
        )
    return str(exc)


class SignInScreen(TypeAheadTarget, Screen["SignedIn"]):
    """用户名和密码; dismisses with the clerk once the password is right.

    At the start it is shown before the services exist (``services`` is None): the app hands
    them over with ``services_ready`` once the database is open, or says with ``start_failed``
    why it could not be opened.
    """

    # A refusal (a lock-out and until when, no clerk yet) wraps inside the panel.
    DEFAULT_CSS = """
    SignInScreen #message.wrap {
        width: 1fr;
        height: auto;
    }
    """
    AUTO_FOCUS = "#username"
    TYPE_INTO = "#username"

    def __init__(self, services: Services | None = None) -> None:
        super().__init__()
        self.services = services
        #: While the password is checked (or waits for the database), keys typed ahead wait
        #: for the screen that follows.
        self.busy = False
        #: The user name and password submitted before the services were ready.
        self._waiting: tuple[str, str] | None = None
        #: Why the start-up failed (a submission then says so instead of waiting).
        self._failure = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sign_in", classes="panel"):
            yield Label("经办人登录", classes="title")
            yield Input(placeholder="用户名", id="username")
            yield Input(placeholder="密码", password=True, id="password")
            yield Label("", id="message")
            # Known once the settings are read: shown then (the demo's account).
            hint = Label(DEMO_HINT, classes="hint", id="demo_hint")
            hint.display = self._is_demo()
            yield hint
        yield KeysFooter()

    def _is_demo(self) -> bool:
        return self.services is not None and self.services.settings.demo

    # -- the app's start-up, behind the screen ----------------------------------------------

    def services_ready(self, services: Services) -> None:
        """The database is open: show the demo's account, check a password already submitted."""
        self.services = services
        self._failure = ""
        for hint in self.query("#demo_hint"):
            hint.display = self._is_demo()
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._check(*waiting)

    def start_failed(self, message: str) -> None:
        """The start-up failed: say why here (the clerk cannot sign in until it is fixed)."""
        self._failure = message
        self._waiting = None
        self.busy = False
        self._say(message)

    def _say(self, message: str) -> None:
        label = self.query_one("#message", Label)
        label.add_class("wrap")
        label.update(message)

    # -- the form ---------------------------------------------------------------------------

    @on(Input.Submitted, "#username")
    def _to_password(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self.query_one("#message", Label).update("请输入用户名")
            self.query_one("#username", Input).focus()
            return
        if self.services is None:
            if self._failure:
                self._say(self._failure)
                return
            # Checked the moment the database is open (``services_ready``); keys typed
            # meanwhile wait for what follows.
            self._waiting = (username, password)
            self.busy = True
            self.query_one("#message", Label).update(OPENING)
            return
        self._check(username, password)

    def _check(self, username: str, password: str) -> None:
        self.query_one("#message", Label).update("正在验证…")
        self.busy = True
        self.check(username, password)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign_in", description="登录")
    def check(self, username: str, password: str) -> None:
        """Verify the password off the UI thread (argon2 is deliberately slow)."""
        from counter_app.storage.clerks import NO_CLERK_MESSAGE, ClerkError, clerk_count, sign_in

        assert self.services is not None
        settings = self.services.settings
        try:
            signed = sign_in(self.services.db, username, password, settings.lockout())
        except ClerkError as exc:
            self.app.call_from_thread(self._done, None, refusal(exc, settings))
            return
        message = WRONG
        # A locked (encrypted) database cannot be counted: the slot already said no.
        if signed is None and not self.services.db.locked and clerk_count(self.services.db) == 0:
            message = NO_CLERK_MESSAGE
        self.app.call_from_thread(self._done, signed, message)

    def _done(self, signed: SignedIn | None, message: str) -> None:
        self.busy = False
        if signed is None:
            self._say(message)
            password = self.query_one("#password", Input)
            password.value = ""
            password.focus()
            return
        if signed.must_change_password:
            assert self.services is not None
            self.app.push_screen(
                ChangePasswordDialog(self.services, signed), callback=self._changed
            )
            return
        self._enter(signed)

    def _changed(self, signed: SignedIn | None) -> None:
        if signed is None:
            self.query_one("#message", Label).update("须先设置新密码才能登录")
            self.query_one("#password", Input).value = ""
            self.query_one("#password", Input).focus()
            return
        self._enter(signed)

    def _enter(self, signed: SignedIn) -> None:
        release = getattr(self.app, "release_sign_in", None)
        if release is not None:
            release()
        self.dismiss(signed)


class ChangePasswordDialog(ModalScreen["SignedIn | None"]):
    """After a supervisor's reset: the clerk's own new password, twice."""

    BINDINGS = [
        Binding("escape", "cancel", "取消", id="password.cancel", tooltip="不登录"),
    ]

    def __init__(self, services: Services, signed: SignedIn) -> None:
        super().__init__()
        self.services = services
        self.signed = signed

    def compose(self) -> ComposeResult:
        with Vertical(id="sign_in", classes="panel"):
            yield Label("科长已重置您的密码，请设置新密码", classes="title")
            yield Input(placeholder="新密码（至少 8 位）", password=True, id="new_password")
            yield Input(placeholder="再次输入新密码", password=True, id="new_password2")
            yield Label("", id="message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#new_password", Input).focus()

    @on(Input.Submitted, "#new_password")
    def _again(self) -> None:
        self.query_one("#new_password2", Input).focus()

    @on(Input.Submitted, "#new_password2")
    def _submit(self) -> None:
        first = self.query_one("#new_password", Input).value
        second = self.query_one("#new_password2", Input).value
        self._save(first, second)

    @work(thread=True, exclusive=True, exit_on_error=False, group="password", description="改密码")
    def _save(self, first: str, second: str) -> None:
        from counter_app.storage.clerks import ClerkError, change_password

        try:
            change_password(self.services.db, self.signed.clerk_id, first, second)
        except ClerkError as exc:
            self.app.call_from_thread(self.query_one("#message", Label).update, str(exc))
            return
        from dataclasses import replace

        self.app.call_from_thread(self.dismiss, replace(self.signed, must_change_password=False))

    def action_cancel(self) -> None:
        """取消."""
        self.dismiss(None)
