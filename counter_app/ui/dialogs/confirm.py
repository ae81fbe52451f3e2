"""A yes/no question the clerk answers with Y or N (Enter = the default)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class ConfirmDialog(ModalScreen[bool]):
    """Asks a question; dismisses with True (Y/Enter) or False (N/Esc)."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "是", id="confirm.yes", tooltip="确认"),
        Binding("n,escape", "answer(False)", "否", id="confirm.no", tooltip="取消"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            if self.detail:
                yield Label(self.detail, id="detail")
            yield Label("[b]Y[/b] 是    [b]N[/b] 否", id="keys")

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)
