"""登记/修改参保人: every bad field is named in Chinese and nothing typed is lost."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input, Label, Select
from textual.widgets.input import Selection

from counter_app.domain.text_fields import FIELDS
from counter_app.storage.models import Person
from counter_app.storage.persons import PersonError, record_full_view, save_person
from counter_app.ui.services import INSURANCE_LABELS, Services
from counter_app.ui.widgets.chinese import ChoiceSelect
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import form_row


class PersonFormScreen(Screen[int | None]):
    """Create or edit a person; dismisses with the person id once saved."""

    BINDINGS = [
        Binding("escape", "cancel", "返回", id="person_form.back", tooltip="不保存，回到上一页"),
        Binding("f10,ctrl+s", "save", "保存", id="person_form.save", tooltip="保存参保人信息"),
    ]

    def __init__(self, services: Services, person: Person | None = None) -> None:
        super().__init__()
        self.services = services
        self.person = person

    def compose(self) -> ComposeResult:
        p = self.person
        yield Header()
        with VerticalScroll(id="form"):
            yield Label("修改参保人信息" if p else "登记参保人", classes="title")
            yield from form_row(
                "姓名",
                Input(
                    p.name if p else "",
                    placeholder="必填",
                    id="name",
                    max_length=FIELDS["name"].max_length,
                    compact=True,
                ),
            )
            yield from form_row(
                "身份证号",
                Input(
                    p.id_number if p else "",
                    placeholder="18位，必填",
                    id="id_number",
                    compact=True,
                    disabled=bool(p),
                ),
            )
            yield from form_row(
                "联系电话",
                Input(p.phone if p else "", placeholder="手机或固话", id="phone", compact=True),
            )
            yield from form_row(
                "联系电话2",
                Input(p.phone2 if p else "", placeholder="可选", id="phone2", compact=True),
            )
            yield from form_row(
                "家庭住址",
                Input(
                    p.address if p else "",
                    placeholder="可选",
                    id="address",
                    max_length=FIELDS["address"].max_length,
                    compact=True,
                ),
            )
            yield from form_row(
                "异地联系地址",
                Input(
                    p.remote_address if p else "",
                    placeholder="异地居住地，可选",
                    id="remote_address",
                    max_length=FIELDS["remote_address"].max_length,
                    compact=True,
                ),
            )
            yield from form_row(
                "社保卡卡号",
                Input(
                    p.card_number if p else "",
                    placeholder="卡面9位，可选",
                    id="card_number",
                    max_length=20,
                    compact=True,
                ),
            )
            yield from form_row(
                "险种",
                ChoiceSelect(
                    [(v, k) for k, v in INSURANCE_LABELS.items()],
                    value=p.insurance if p else "employee",
                    allow_blank=False,
                    id="insurance",
                    compact=True,
                ),
            )
            yield from form_row(
                "工作单位",
                Input(
                    p.employer if p else "",
                    placeholder="可选",
                    id="employer",
                    max_length=FIELDS["employer"].max_length,
                    compact=True,
                ),
            )
            with Horizontal(classes="flags"):
                yield Checkbox(
                    "有参保单位", p.has_employer if p else False, id="has_employer", compact=True
                )
                yield Checkbox("已退休", p.retired if p else False, id="retired", compact=True)
            yield Label("", id="message", classes="error")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        if self.person is not None:
            self._audit_full_view()

    @work(thread=True, exit_on_error=False, group="audit", description="记录审计")
    def _audit_full_view(self) -> None:
        """Editing shows the full 身份证号 and phone: the view is audited like V on the page."""
        assert self.person is not None and self.person.id is not None
        record_full_view(
            self.services.db, self.services.clerk.clerk_id, self.person.id, "person_form"
        )

    @on(Input.Submitted)
    def _next(self) -> None:
        self.focus_next()

    def action_cancel(self) -> None:
        """Leave without saving."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Validate and save in a worker."""
        values = {
            "name": self.query_one("#name", Input).value,
            "id_number": self.query_one("#id_number", Input).value,
            "phone": self.query_one("#phone", Input).value,
            "address": self.query_one("#address", Input).value,
            "phone2": self.query_one("#phone2", Input).value,
            "remote_address": self.query_one("#remote_address", Input).value,
            "card_number": self.query_one("#card_number", Input).value,
            "insurance": self.query_one("#insurance", Select).value,
            "employer": self.query_one("#employer", Input).value,
            "has_employer": self.query_one("#has_employer", Checkbox).value,
            "retired": self.query_one("#retired", Checkbox).value,
        }
        self.save(values)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="person_form",
        description="保存参保人",
    )
    def save(self, values: dict) -> None:
        """Write the person; a bad field comes back as a message naming it."""
        try:
            person_id = save_person(
                self.services.db,
                self.services.clerk.clerk_id,
                today=self.services.today,
                **values,
            )
        except PersonError as exc:
            self.app.call_from_thread(self._error, exc.field, str(exc))
            return
        self.app.call_from_thread(self.dismiss, person_id)

    def _error(self, field: str, message: str) -> None:
        self.query_one("#message", Label).update(message)
        widget = self.query_one(f"#{field}", Input)
        # Keep what was typed: the cursor goes to the end instead of selecting it all.
        widget.select_on_focus = False
        widget.focus()
        widget.selection = Selection.cursor(len(widget.value))
