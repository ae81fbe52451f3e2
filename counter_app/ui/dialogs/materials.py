"""Pick the materials a person hands in (space to tick, F10 to confirm, Esc to cancel)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList


class MaterialsDialog(ModalScreen[list[str] | None]):
    """A checklist of materials; F10 gives the ticked ids, Esc cancels with None."""

    BINDINGS = [
        Binding("f10", "confirm", "确认", id="materials.confirm", tooltip="提交勾选的材料"),
        Binding("escape", "cancel", "取消", id="materials.cancel", tooltip="不提交，返回"),
    ]

    def __init__(self, question: str, options: list[tuple[str, str]]) -> None:
        """``options`` are (label, material id)."""
        super().__init__()
        self.question = question
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            yield SelectionList[str](*self.options, id="materials")
            yield Label("空格勾选，F10 确认，Esc 取消", id="detail")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_confirm(self) -> None:
        """Give the ticked materials."""
        self.dismiss(list(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)
