"""The document model both renderers draw: a title, lines, field tables with checkboxes,
paragraphs, signature lines, notes and the QR signature. Every string in it is plain text (the
PDF renderer escapes it; the receipt renderer encodes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Choice:
    """A row of checkboxes: each option's label and whether it is ticked."""

    options: tuple[tuple[str, bool], ...]

    @property
    def chosen(self) -> str:
        """The ticked labels, for renderers that print words instead of boxes."""
        return "、".join(label for label, ticked in self.options if ticked)


Cell = str | Choice


@dataclass(frozen=True)
class Title:
    """The document's heading."""

    text: str


@dataclass(frozen=True)
class Line:
    """One line of text (a number, the office's line at the foot of a form)."""

    text: str
    align: str = "left"


@dataclass(frozen=True)
class Table:
    """A field table: rows of label/value cells; a short row's last cell spans the rest.

    ``spans`` (when given) is each cell's number of grid columns, so rows of different shapes
    line up on one grid, as the official forms do."""

    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...]
    spans: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class Paragraphs:
    """A heading and its paragraphs (notices, promises, missing materials)."""

    heading: str
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Signature:
    """A line for the person's signature and date."""

    text: str


@dataclass(frozen=True)
class Note:
    """Small print under the form."""

    text: str


Block = Title | Line | Table | Paragraphs | Signature | Note

Role = Literal["title", "line", "field", "heading", "item", "signature", "note"]


@dataclass(frozen=True)
class TextLine:
    """One line of a document read as text: a field table gives ``标签：值`` lines, numbered
    paragraphs their numbers. The receipt printer wraps these; the screen shows them."""

    text: str
    role: Role = "line"


def _pairs(row: tuple[Cell, ...]) -> list[tuple[str, str]]:
    """A table row's label/value pairs (a ticked choice reads as its ticked labels)."""
    cells = [cell.chosen if isinstance(cell, Choice) else cell for cell in row]
    return [(cells[i], cells[i + 1] if i + 1 < len(cells) else "") for i in range(0, len(cells), 2)]


@dataclass(frozen=True)
class Document:
    """One document ready to render; ``copies`` pages sets, each headed by its copy label."""

    kind: str
    name: str
    number: str
    blocks: tuple[Block, ...]
    qr_payload: str
    copies: int = 1
    copy_labels: tuple[str, ...] = field(default_factory=tuple)
    #: The key facts the QR signs (``printing.facts.collect``); empty until signed.
    facts: dict[str, Any] = field(default_factory=dict, compare=False)

    def text_lines(self) -> list[TextLine]:
        """The document as lines of text, in order (one copy, no QR): what a receipt prints
        before wrapping and what a screen preview shows."""
        out: list[TextLine] = []
        for block in self.blocks:
            if isinstance(block, Title):
                out.append(TextLine(block.text, "title"))
            elif isinstance(block, Table):
                for row in block.rows:
                    out.extend(
                        TextLine(f"{label.strip()}：{value}", "field")
                        for label, value in _pairs(row)
                        if label.strip() or value.strip()
                    )
            elif isinstance(block, Paragraphs):
                if block.heading:
                    out.append(TextLine(block.heading, "heading"))
                out.extend(
                    TextLine(f"{index}. {item}" if block.numbered else item, "item")
                    for index, item in enumerate(block.items, 1)
                )
            elif isinstance(block, Signature):
                out.append(TextLine(block.text, "signature"))
            elif isinstance(block, Note):
                out.append(TextLine(block.text, "note"))
            else:
                out.append(TextLine(block.text, "line"))
        return out

    def text(self) -> str:
        """``text_lines`` joined by newlines."""
        return "\n".join(line.text for line in self.text_lines())

    def strings(self) -> list[str]:
        """Every text in the document (to check the font and the printer's encoding)."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Table):
                for row in block.rows:
                    for cell in row:
                        out.extend(
                            [o[0] for o in cell.options] if isinstance(cell, Choice) else [cell]
                        )
            elif isinstance(block, Paragraphs):
                out.extend([block.heading, *block.items])
            else:
                out.append(block.text)
        return out + list(self.copy_labels)
