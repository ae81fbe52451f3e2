"""The claim's document on screen: the 一次性告知书 (待补材料), the 受理回执, or after settling the
receipt with the payment (结算单); F8 prints them. The printed forms take the same content."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label

from counter_app.domain.claim_documents import (
    acceptance_receipt,
    as_text,
    one_time_notice,
    return_notice,
)
from counter_app.domain.claim_lifecycle import PENDING, RETURNED, SETTLED
from counter_app.domain.results import ClaimResult
from counter_app.ui.claims.render import payment_text
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.wrapped import WrappedStatic


def document_for(source: dict[str, Any]) -> dict[str, Any]:
    """The notice for a claim waiting for materials, the 退回通知书 for a returned one, the
    receipt for an accepted one."""
    if source["status"] == PENDING:
        return one_time_notice(source)
    if source["status"] == RETURNED:
        return return_notice(source)
    return acceptance_receipt(source)


def print_claim(app: App, source: dict[str, Any]) -> None:
    """The print screen with the documents the gate allows now (its status's first, then the
    earlier states' documents from the print history, as 补打)."""
    from counter_app.printing.sources import claim_documents

    kinds = claim_documents(source, app.services.db)  # type: ignore[attr-defined]
    if not kinds:
        app.notify("该报销当前没有可打印的文书", severity="warning")
        return
    app.open_print(source["number"], kinds, source["person"]["name"])  # type: ignore[attr-defined]


class DocumentScreen(Screen[None]):
    """Shows the document's content for the clerk to read out; F8 prints, Esc or Enter closes."""

    BINDINGS = [
        Binding("escape,enter", "app.pop_screen", "关闭", id="document.close", tooltip="关闭"),
        Binding("f8", "print", "打印", id="document.print", tooltip="打印本报销的文书"),
    ]

    def __init__(self, source: dict[str, Any]) -> None:
        super().__init__()
        self.source = source
        self.document = document_for(source)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="document"):
            title = "零星报销结算" if self.source["status"] == SETTLED else self.document["title"]
            yield Label(title, classes="title")
            yield WrappedStatic(as_text(self.document).split("\n", 1)[1], id="document_text")
            payment = ClaimResult.model_validate(self.source["result"]).payment
            if self.source["status"] == SETTLED and payment is not None:
                yield WrappedStatic(payment_text(payment), id="document_payment")
            yield Label("按 F8 打印（可选打印机和份数）；内容已随报销保存。", classes="hint")
        yield KeysFooter()

    def action_print(self) -> None:
        """Print this claim's documents."""
        print_claim(self.app, self.source)
