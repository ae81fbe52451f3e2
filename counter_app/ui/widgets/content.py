"""Updating what a ``Static`` shows only when it changes.

Textual's ``Static.update`` always asks the screen for a new layout (the new content may have
another size). The wizard steps refresh the verdict and the message under every field on each
keystroke, and nearly always with what is already shown: updating those anyway laid the whole
screen out again on every key (half the processor time of typing into a claim step).
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def show(widget: Static, content: VisualType) -> bool:
    """Put ``content`` in ``widget`` unless it shows that already; whether it changed."""
    if _shown(widget) == content:
        return False
    widget.update(content)
    return True


def _shown(widget: Static) -> VisualType:
    # A widget that transforms what it is given (WrappedStatic) keeps the original as `source`.
    source = getattr(widget, "source", None)
    return source if source is not None else widget.content
