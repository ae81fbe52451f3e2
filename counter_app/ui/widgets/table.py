"""Tables whose columns line up in every terminal: one line per cell, no ambiguous-width text.

Rich measures East Asian *ambiguous* characters (—, …, ·, ×, ①, →) as one cell, but terminals set
up for Chinese (a CJK font, `ambiwidth=double`, Windows' 新宋体) draw them two cells wide, which
pushes every later column of that row out from under its header. A newline or tab inside a cell
breaks the row in the same way. Every table of the counter goes through `CounterTable`, which
turns each header and cell into one line of unambiguous characters and clips over-long text at
`max_cell`, so a long note or destination does not push the rest off screen: the screen shows the
whole text of the highlighted row in its own detail line.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

# Full-width or narrow stand-ins that read the same to a clerk.
SUBSTITUTES = {
    "—": "－",
    "–": "－",
    "―": "－",
    "…": "⋯",
    "·": "・",
    "•": "・",
    "×": "x",
    "→": "＞",
    "←": "＜",
    "≤": "＜＝",
    "≥": "＞＝",
    "○": "〇",
    "●": "＊",
    "※": "＊",
    "°": "度",
    "§": "第",
    "“": "「",
    "”": "」",
    "‘": "『",
    "’": "』",
}
CLIP_MARK = "⋯"


def is_ambiguous(char: str) -> bool:
    """True for a character whose width depends on the terminal (East Asian Width "A")."""
    return unicodedata.east_asian_width(char) == "A"


def table_text(value: object, max_cell: int | None = None) -> str:
    """`value` as one line of table text: whitespace collapsed, ambiguous characters replaced.

    Circled numbers (①) and other ambiguous characters without a stand-in become their
    compatibility form (①→1) when that is unambiguous, else `?`; text wider than `max_cell`
    terminal cells is clipped with `⋯`.
    """
    text = " ".join(str(value).split())
    out = []
    for char in text:
        if not is_ambiguous(char):
            out.append(char)
        elif char in SUBSTITUTES:
            out.append(SUBSTITUTES[char])
        else:
            plain = unicodedata.normalize("NFKC", char)
            out.append(plain if not any(is_ambiguous(c) for c in plain) else "?")
    line = "".join(out)
    if max_cell is None or cell_len(line) <= max_cell:
        return line
    kept, width = [], cell_len(CLIP_MARK)
    for char in line:
        width += cell_len(char)
        if width > max_cell:
            break
        kept.append(char)
    return "".join(kept) + CLIP_MARK


def _cell(value: Any, max_cell: int | None) -> Any:
    if isinstance(value, Text):
        clean = table_text(value.plain, max_cell)
        return value if clean == value.plain else Text(clean, style=value.style)
    if isinstance(value, str):
        return table_text(value, max_cell)
    return value


class CounterTable(DataTable[Any]):
    """A `DataTable` that keeps its columns aligned: every header and cell via `table_text`."""

    def __init__(self, *args: Any, max_cell: int | None = 24, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_cell = max_cell

    def add_column(self, label: Any, *args: Any, **kwargs: Any) -> ColumnKey:
        """Add a column whose header is one unambiguous line."""
        return super().add_column(_cell(label, None), *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> RowKey:
        """Add a row of one-line, unambiguous cells, each clipped at `max_cell`."""
        return super().add_row(*(_cell(c, self.max_cell) for c in cells), **kwargs)

    def add_rows(self, rows: Any) -> list[RowKey]:
        """Add rows and measure them at once.

        A plain DataTable measures new rows when its message queue next goes idle; until then it
        paints every column as wide as its header (what a snapshot or a busy machine shows).
        """
        keys = super().add_rows(rows)
        self.measure_now()
        return keys

    def measure_now(self) -> None:
        """Compute the columns' widths for the rows added so far (what the idle handler does)."""
        if self._require_update_dimensions:
            self._require_update_dimensions = False
            new_rows = self._new_rows.copy()
            self._new_rows.clear()
            self._update_dimensions(new_rows)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kwargs: Any) -> None:
        """Replace one cell, cleaned the same way as `add_row`."""
        super().update_cell(row_key, column_key, _cell(value, self.max_cell), **kwargs)

    def update_cell_at(self, coordinate: Any, value: Any, **kwargs: Any) -> None:
        """Replace the cell at `coordinate`, cleaned the same way as `add_row`."""
        super().update_cell_at(coordinate, _cell(value, self.max_cell), **kwargs)
