"""Sign-in: user name and password, with the lock-out after repeated wrong passwords."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Label

from counter_app.storage.clerks import ClerkError, SignedIn, sign_in
from counter_app.ui.screens.lock import LockScreen as LockScreen  # re-exported
from counter_app.ui.services import Services
from counter_app.ui.typeahead import TypeAheadTarget
from counter_app.ui.widgets.footer import KeysFooter


class SignInScreen(TypeAheadTarget, Screen[SignedIn]):
    """用户名和密码; dismisses with the clerk once the password is right."""

    AUTO_FOCUS = "#username"
    TYPE_INTO = "#username"

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        #: While the password is checked, keys typed ahead wait for the screen that follows.
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sign_in", classes="panel"):
            yield Label("经办人登录", classes="title")
            yield Input(placeholder="用户名", id="username")
            yield Input(placeholder="密码", password=True, id="password")
            yield Label("", id="message")
            if self.services.settings.demo:
                yield Label("演示账号：demo / demo1234", classes="hint")
        yield KeysFooter()

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
        self.query_one("#message", Label).update("正在验证…")
        self.busy = True
        self.check(username, password)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign_in", description="登录")
    def check(self, username: str, password: str) -> None:
        """Verify the password off the UI thread (argon2 is deliberately slow)."""
        try:
            signed = sign_in(self.services.db, username, password, self.services.settings.lockout())
        except ClerkError as exc:
            self.app.call_from_thread(self._done, None, str(exc))
            return
        self.app.call_from_thread(self._done, signed, "用户名或密码不正确")

    def _done(self, signed: SignedIn | None, message: str) -> None:
        self.busy = False
        if signed is None:
            self.query_one("#message", Label).update(message)
            password = self.query_one("#password", Input)
            password.value = ""
            password.focus()
            return
        release = getattr(self.app, "release_sign_in", None)
        if release is not None:
            release()
        self.dismiss(signed)
