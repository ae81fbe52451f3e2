"""The claim's document on screen: the 一次性告知书 (待补材料), the 受理回执, the 退回通知书,
or after settling the 结算单; F8 prints them. The screen shows the very ``Document`` the printer
gets (``printing.sources.preview``: same record, office pack, forms and date) as text lines, so
the screen and the paper cannot disagree."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label

from counter_app.domain.claim_documents import (
    acceptance_receipt,
    one_time_notice,
    return_notice,
)
from counter_app.domain.claim_lifecycle import PENDING, RETURNED, SETTLED
from counter_app.printing.document import Document
from counter_app.ui.messages import OpenPrint
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.wrapped import WrappedStatic

LOADING = "正在生成文书……"


def document_for(source: dict[str, Any]) -> dict[str, Any]:
    """The content of the notice for a claim waiting for materials, the 退回通知书 for a
    returned one, the receipt for an accepted one (what the printed form is filled from)."""
    if source["status"] == PENDING:
        return one_time_notice(source)
    if source["status"] == RETURNED:
        return return_notice(source)
    return acceptance_receipt(source)


def print_claim(screen: Screen[Any], services: Services, source: dict[str, Any]) -> None:
    """The print screen with the documents the gate allows now (its status's first, then the
    earlier states' documents from the print history, as 补打)."""
    from counter_app.printing.sources import claim_documents

    kinds = claim_documents(source, services.db)
    if not kinds:
        screen.notify("该报销当前没有可打印的文书", severity="warning")
        return
    screen.post_message(OpenPrint(source["number"], kinds, source["person"]["name"]))


class DocumentScreen(Screen[None]):
    """Shows the claim's printed document as text for the clerk to read out; F8 prints, Esc or
    Enter closes."""

    BINDINGS = [
        Binding("escape,enter", "app.pop_screen", "关闭", id="document.close", tooltip="关闭"),
        Binding("f8", "print", "打印", id="document.print", tooltip="打印本报销的文书"),
    ]

    def __init__(self, services: Services, source: dict[str, Any]) -> None:
        from counter_app.printing.gate import state_document

        super().__init__()
        self.services = services
        self.source = source
        self.document = document_for(source)
        #: The kind of printed document the claim's state calls for.
        self.kind = state_document(source["status"])
        #: The document as the printer gets it, once built (``preview``).
        self.printed: Document | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="document"):
            title = "零星报销结算" if self.source["status"] == SETTLED else self.document["title"]
            yield Label(title, classes="title")
            yield WrappedStatic(LOADING, id="document_text")
            yield Label("按 F8 打印（可选打印机和份数）；内容已随报销保存。", classes="hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.build_preview()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="document",
        description="生成文书预览",
    )
    def build_preview(self) -> None:
        """Build the printed document in a worker (it reads the database and the forms)."""
        from counter_app.printing.forms import FormError
        from counter_app.printing.gate import NotPrintable
        from counter_app.printing.sources import NotFound, preview, print_context

        if self.kind is None:
            self.app.call_from_thread(self._failed, "该报销当前没有可显示的文书")
            return
        services = self.services
        context = print_context(services.db, services.settings)
        try:
            document = preview(self.kind, self.source["number"], context)
        except (NotFound, NotPrintable, FormError) as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, document)

    def _show(self, document: Document) -> None:
        self.printed = document
        self.query_one("#document_text", WrappedStatic).update(Text(document.text()))

    def _failed(self, message: str) -> None:
        self.query_one("#document_text", WrappedStatic).update(Text(message, style="red"))

    def action_print(self) -> None:
        """Print this claim's documents."""
        print_claim(self, self.services, self.source)
