"""Asks for a short text (e.g. why a claim is returned); Enter confirms, Esc cancels."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from counter_app.domain.text_fields import FIELDS, input_problem


class ReasonDialog(ModalScreen[str | None]):
    """Dismisses with the text typed (stripped, non-empty) or None."""

    BINDINGS = [Binding("escape", "cancel", "取消", id="reason.cancel", tooltip="不填写，返回")]

    def __init__(self, question: str, placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            yield Input(
                placeholder=self.placeholder, id="reason", max_length=FIELDS["reason"].max_length
            )
            yield Label("", id="reason_error", classes="error")
            yield Label("[b]Enter[/b] 确定    [b]Esc[/b] 取消", id="keys")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        problem = input_problem("reason", event.value)
        if problem:
            self.query_one("#reason_error", Label).update(problem)
            return
        text = event.value.strip()
        if not text:
            self.query_one("#reason_error", Label).update("请填写原因")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Close without a reason."""
        self.dismiss(None)
