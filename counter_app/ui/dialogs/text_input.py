"""A one-line answer the clerk types (a reason), or a supervisor's user name and password."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from counter_app.domain.text_fields import FIELDS, input_problem


class ReasonDialog(ModalScreen[str | None]):
    """Asks for a reason; Enter gives it (never empty), Esc cancels with None."""

    BINDINGS = [Binding("escape", "cancel", "取消", id="reason.cancel", tooltip="不填写，返回")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            yield Input(
                placeholder="原因（回车确认，Esc 取消）",
                id="reason",
                max_length=FIELDS["reason"].max_length,
            )
            yield Label("", id="detail")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        problem = input_problem("reason", event.value)
        if problem:
            self.query_one("#detail", Label).update(problem)
            return
        if not event.value.strip():
            self.query_one("#detail", Label).update("原因：请填写（将告知申请人）")
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class SupervisorDialog(ModalScreen[bool]):
    """A supervisor's user name and password for a sign-off, checked here.

    ``verify(username, password)`` runs in a worker and returns "" when the sign-off is done, or
    the reason it was refused; a refusal (a wrong password, a clerk who is not a supervisor) keeps
    the dialog open with the message. Dismisses with True once signed, False on Esc.
    """

    BINDINGS = [Binding("escape", "cancel", "取消", id="supervisor.cancel", tooltip="不签署，返回")]

    def __init__(self, question: str, verify: Callable[[str, str], str], who: str = "") -> None:
        super().__init__()
        self.question = question
        self.verify = verify
        self.who = who

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            if self.who:
                yield Label(self.who, id="who")
            yield Input(placeholder="科长用户名", id="username")
            yield Input(placeholder="密码", password=True, id="password")
            yield Label("", id="message")

    @on(Input.Submitted, "#username")
    def _next(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        if not username:
            self.query_one("#message", Label).update("请输入科长用户名")
            self.query_one("#username", Input).focus()
            return
        self.query_one("#message", Label).update("正在核对…")
        self._check(username, self.query_one("#password", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="supervisor", description="签署")
    def _check(self, username: str, password: str) -> None:
        """Check the password off the UI thread (argon2 is deliberately slow)."""
        refused = self.verify(username, password)
        self.app.call_from_thread(self._checked, refused)

    def _checked(self, refused: str) -> None:
        if not refused:
            self.dismiss(True)
            return
        self.query_one("#message", Label).update(refused)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()

    def action_cancel(self) -> None:
        """Close without signing."""
        self.dismiss(False)
