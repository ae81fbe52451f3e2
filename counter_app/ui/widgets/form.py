"""Form helpers shared by every data-entry screen: labelled rows, drop-downs, field errors.

The wizards, the rules screen, the person form and the office form build their fields here, and
``show_field_errors`` is the one place that puts a message under the field it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.widget import Widget
from textual.widgets import Label, Select, SelectionList

from counter_app.domain.errors import FieldError
from counter_app.domain.results import ChecklistItem
from counter_app.ui.widgets.chinese import ChoiceSelect
from counter_app.ui.widgets.content import show


def form_row(label: str, widget: Widget) -> ComposeResult:
    """A label and its field on one line."""
    with Horizontal(classes="row"):
        yield Label(label, classes="field-label")
        yield widget


def choice_select(options: Mapping[Any, str], value: object, widget_id: str) -> Select[Any]:
    """A compact drop-down of ``{key: label}`` with one choice always made."""
    return ChoiceSelect(
        [(label, key) for key, label in options.items()],
        value=value,
        allow_blank=False,
        id=widget_id,
        compact=True,
    )


def error_id(field: str) -> str:
    """The id of the label under ``field`` that shows the engine's message about it."""
    return "err_" + field.replace(".", "_")


def field_with_error(label: str, widget: Widget, field: str) -> ComposeResult:
    """A labelled field and, under it, the place for the engine's message about it."""
    with Vertical(classes="field"):
        yield from form_row(label, widget)
        yield Label("", id=error_id(field), classes="field-error")


def show_field_error(node: DOMNode, field: str, message: str) -> None:
    """Put ``message`` under ``field`` (an empty message hides the place)."""
    label = node.query_one(f"#{error_id(field)}", Label)
    show(label, message)
    label.display = bool(message)


def show_field_errors(node: DOMNode, errors: Iterable[FieldError]) -> list[FieldError]:
    """Each error under its field where ``node`` has a place for it; the others are returned
    (for the verdict pane). Places without an error are cleared."""
    errors = list(errors)
    shown: set[str] = set()
    for label in node.query(".field-error").results(Label):
        message = next((e.message for e in errors if error_id(e.field) == label.id), "")
        show(label, message)
        label.display = bool(message)
        if message:
            shown.add(str(label.id))
    return [e for e in errors if error_id(e.field) not in shown]


def error_fields(node: DOMNode) -> set[str]:
    """The ids of the places for field errors ``node`` has."""
    return {str(label.id) for label in node.query(".field-error")}


def fill_checklist(
    selection: SelectionList[str],
    checklist: list[ChecklistItem],
    chosen: list[str],
    labels: dict[str, str],
) -> None:
    """Every material of the engine's checklist (alternatives included), ticked if presented."""
    ids: list[str] = []
    for item in checklist:
        ids.extend(m for option in item.any_of for m in option if m not in ids)
    ids.extend(m for m in chosen if m not in ids)
    selection.clear_options()
    selection.add_options([(labels.get(m, m), m, m in chosen) for m in ids])
    if ids:
        selection.highlighted = 0  # so the first Space ticks the first item
