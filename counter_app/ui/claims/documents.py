"""The 一次性告知书 or the 受理回执 of a claim, on screen (printing renders the same content)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Static

from counter_app.domain.claim_documents import acceptance_receipt, as_text, one_time_notice
from counter_app.storage.claims import PENDING


def document_for(source: dict[str, Any]) -> dict[str, Any]:
    """The notice for a claim waiting for materials, the receipt for an accepted one."""
    if source["status"] == PENDING:
        return one_time_notice(source)
    return acceptance_receipt(source)


class DocumentScreen(Screen[None]):
    """Shows the document's content for the clerk to read out; Esc or Enter closes it."""

    BINDINGS = [
        Binding("escape,enter", "app.pop_screen", "关闭", id="document.close", tooltip="关闭"),
    ]

    def __init__(self, source: dict[str, Any]) -> None:
        super().__init__()
        self.document = document_for(source)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="document"):
            yield Label(self.document["title"], classes="title")
            yield Static(as_text(self.document).split("\n", 1)[1], id="document_text")
            yield Label("打印功能上线后可在此打印；内容已随报销保存。", classes="hint")
        yield Footer()
