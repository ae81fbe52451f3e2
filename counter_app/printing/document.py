"""The document model both renderers draw: a title, lines, field tables with checkboxes,
paragraphs, signature lines, notes and the QR signature. Every string in it is plain text (the
PDF renderer escapes it; the receipt renderer encodes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
