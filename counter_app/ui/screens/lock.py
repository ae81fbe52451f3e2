"""The lock screen: covers the work until the same clerk's password, or a sign-out."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from counter_app.storage.clerks import ClerkError, sign_in
from counter_app.ui.messages import SignOut, Unlocked
from counter_app.ui.services import Services


class LockScreen(ModalScreen[None]):
    """Opaque; the app's guard (``GuardedApp``) keeps every other key and screen away from it."""

    # A lock-out message (until when) wraps inside the panel.
    DEFAULT_CSS = """
    LockScreen #message.wrap {
        width: 1fr;
        height: auto;
    }
    """

    BINDINGS = [
        Binding(
            "ctrl+o",
            "sign_out",
            "退出登录",
            id="lock.sign_out",
            tooltip="结束本次登录，回到登录界面（连按两次）",
            priority=True,
        ),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self._sign_out_asked = False

    def compose(self) -> ComposeResult:
        clerk = self.services.clerk
        with Vertical(id="lock", classes="panel"):
            yield Label("屏幕已锁定", classes="title")
            yield Label(f"经办人：{clerk.display_name}（{clerk.username}）")
            yield Input(placeholder="请输入密码解锁", password=True, id="password")
            yield Label("", id="message")
            yield Label("换人办理或忘记密码：连按两次 Ctrl+O 退出登录", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        # An empty Enter is not a password attempt (it does not count toward the lock-out).
        if event.value:
            self.query_one("#message", Label).update("正在验证…")
            self.check(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock", description="解锁")
    def check(self, password: str) -> None:
        """Verify off the UI thread; wrong passwords count toward the sign-in lock-out."""
        settings = self.services.settings
        try:
            signed = sign_in(
                self.services.db, self.services.clerk.username, password, settings.lockout()
            )
        except ClerkError as exc:
            from counter_app.ui.screens.sign_in import refusal

            self.app.call_from_thread(self._done, False, refusal(exc, settings))
            return
        self.app.call_from_thread(self._done, signed is not None, "密码不正确")

    def _done(self, ok: bool, message: str) -> None:
        if ok:
            self.post_message(Unlocked(self))
            return
        label = self.query_one("#message", Label)
        label.add_class("wrap")
        label.update(message)
        self.query_one("#password", Input).value = ""

    def action_sign_out(self) -> None:
        """Twice in a row: back to the sign-in screen (the wizard drafts are kept)."""
        if not self._sign_out_asked:
            self._sign_out_asked = True
            self.query_one("#message", Label).update(
                "再按一次 Ctrl+O 退出登录（未保存的输入将丢失，草稿保留）"
            )
            return
        self.post_message(SignOut())
