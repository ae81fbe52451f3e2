"""Tables whose columns line up in every terminal: one line per cell, no ambiguous-width text.

Rich measures East Asian *ambiguous* characters (—, …, ·, ×, ①, →) as one cell, but terminals set
up for Chinese (a CJK font, `ambiwidth=double`, Windows' 新宋体) draw them two cells wide, which
pushes every later column of that row out from under its header. A newline or tab inside a cell
breaks the row in the same way. Every table of the counter goes through `CounterTable`, which
turns each header and cell into one line of unambiguous characters and clips over-long text at
`max_cell`, so a long note or destination does not push the rest off screen: the screen shows the
whole text of the highlighted row in its own detail line.

Such one-line cells are measured and drawn here directly (`cell_len`, one segment per cell)
instead of through Rich's markup parser and renderer: the same characters in the same styles as
`DataTable` draws them, at a fraction of the cost, which is what lets the search screen refill its
results on every keystroke within a frame. Anything else (markup, spans, alignment, wrapping
rows, row labels, text wider than its column) goes the `DataTable` way.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.control import strip_control_codes
from rich.protocol import is_renderable
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
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
    # The common case has nothing to replace (no ASCII character is ambiguous).
    ascii_or_clean = text.isascii() or not any(map(_ambiguous, text))
    line = text if ascii_or_clean else _replace_ambiguous(text)
    if max_cell is None or cell_len(line) <= max_cell:
        return line
    kept, width = [], cell_len(CLIP_MARK)
    for char in line:
        width += cell_len(char)
        if width > max_cell:
            break
        kept.append(char)
    return "".join(kept) + CLIP_MARK


@functools.lru_cache(maxsize=8192)
def _ambiguous(char: str) -> bool:
    return is_ambiguous(char)


def _replace_ambiguous(text: str) -> str:
    out = []
    for char in text:
        if not is_ambiguous(char):
            out.append(char)
        elif char in SUBSTITUTES:
            out.append(SUBSTITUTES[char])
        else:
            plain = unicodedata.normalize("NFKC", char)
            out.append(plain if not any(is_ambiguous(c) for c in plain) else "?")
    return "".join(out)


def _cell(value: Any, max_cell: int | None) -> Any:
    if isinstance(value, Text):
        clean = table_text(value.plain, max_cell)
        return value if clean == value.plain else Text(clean, style=value.style)
    if isinstance(value, str):
        return table_text(value, max_cell)
    return value


def one_line(value: object) -> tuple[str, Any] | None:
    """The text and style `DataTable` draws for a cell on one line, or None when only `DataTable`
    knows (markup or an emoji code in a string, a `Text` with spans or alignment, a renderable).

    Mirrors `textual.widgets.data_table.default_cell_formatter` followed by Rich's rendering.
    """
    if value is None:
        return "", None
    if isinstance(value, str):
        if "[" in value or ":" in value:
            return None  # markup or :emoji: codes: Rich decides
        plain, style = strip_control_codes(value), None
    elif isinstance(value, Text):
        if value.spans or value.justify not in (None, "default"):
            return None
        plain, style = value.plain, (value.style or None) if value.plain else None
    elif isinstance(value, float):
        plain, style = f"{value:.2f}", None
    elif not is_renderable(value):
        plain, style = strip_control_codes(str(value)), None
    else:
        return None
    if "\n" in plain or "\t" in plain:
        return None
    return plain, style


class _FrameStyles:
    """Component styles for the length of one `render_lines` call: `rich_style` kept."""

    def __init__(self, styles: Any) -> None:
        self._styles = styles
        self._rich_style: Style | None = None

    @property
    def rich_style(self) -> Style:
        if self._rich_style is None:
            self._rich_style = self._styles.rich_style
        return self._rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)


class CounterTable(DataTable[Any]):
    """A `DataTable` that keeps its columns aligned: every header and cell via `table_text`."""

    def __init__(self, *args: Any, max_cell: int | None = 24, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_cell = max_cell
        self._styles_at: LRUCache[tuple[Any, ...], tuple[Style, Style | None]] = LRUCache(4096)

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

    # Styles that DataTable looks up for every line it draws (each a walk up the DOM), kept for
    # the length of one `render_lines` call, during which they cannot change.
    _frame: dict[Any, Any] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the lines in `crop`, looking each style up once instead of once a line."""
        self._frame = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    @property
    def rich_style(self) -> Style:
        """The widget's style (once per `render_lines`)."""
        frame = self._frame
        if frame is None:
            return super().rich_style
        if "rich_style" not in frame:
            frame["rich_style"] = super().rich_style
        return frame["rich_style"]

    @property
    def background_colors(self) -> tuple[Color, Color]:
        """The background colours (once per `render_lines`)."""
        frame = self._frame
        if frame is None:
            return super().background_colors
        if "background_colors" not in frame:
            frame["background_colors"] = super().background_colors
        return frame["background_colors"]

    def get_component_styles(self, *names: str) -> Any:
        """A component's styles; within `render_lines` one object per component, whose
        `rich_style` (a walk up the DOM) is worked out once."""
        frame = self._frame
        if frame is None:
            return super().get_component_styles(*names)
        if names not in frame:
            frame[names] = _FrameStyles(super().get_component_styles(*names))
        return frame[names]

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        """A row's style (once per kind of row and `render_lines`)."""
        frame = self._frame
        if frame is None:
            return super()._get_row_style(row_index, base_style)
        kind = (
            -1
            if row_index == -1
            else -2
            if row_index < self.fixed_rows
            else row_index % 2
            if self.zebra_stripes
            else -3
        )
        key = ("row", kind, base_style)
        if key not in frame:
            frame[key] = super()._get_row_style(row_index, base_style)
        return frame[key]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen the columns for rows of one-line cells by their `cell_len`; the rest (and the
        table's virtual size) as `DataTable` does."""
        columns = self.ordered_columns
        widths = [column.content_width for column in columns]
        others: list[RowKey] = []
        for row_key in new_rows:
            row = self.rows.get(row_key)
            if row is None or row_key not in self._row_locations:
                continue  # removed since
            if row.label is not None or row.auto_height or row.height != 1:
                others.append(row_key)
                continue
            cells = self._data[row_key]
            lines = [one_line(cells.get(column.key)) for column in columns]
            if any(line is None for line in lines):
                others.append(row_key)
                continue
            for index, line in enumerate(lines):
                assert line is not None
                widths[index] = max(widths[index], cell_len(line[0]))
        for column, width in zip(columns, widths, strict=True):
            column.content_width = width
        super()._update_dimensions(others)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """A one-line cell as one segment (what Rich renders, simplified); others via DataTable.

        Both ways share DataTable's cache of drawn cells, under the same key."""
        if column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        (padding, fixed_rows, fixed_columns, show_cursor, show_hover, css_fg, css_bg, header) = (
            self._settings()
        )
        row_key = (
            self._header_row_key if row_index == -1 else self._row_locations.get_key(row_index)
        )
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            show_hover,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        line = self._cell_line(row_key, column_key, width - 2 * padding, header)
        if line is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = row_index != -1 and (row_index < fixed_rows or column_index < fixed_columns)
        component_style, post_style = self._get_styles_to_render_cell(
            row_index == -1, False, fixed, hover, cursor, show_cursor, show_hover, css_fg, css_bg
        )
        plain, own = line
        outer, inner = self._cell_styles(
            base_style, row_index, column_index, component_style, post_style, own
        )
        pad = " " * padding
        fill = " " * (width - 2 * padding - cell_len(plain))
        if inner is None:
            segments = [Segment(pad + plain + fill + pad, outer)]
        else:
            segments = [Segment(pad, outer), Segment(plain, inner), Segment(fill + pad, outer)]
        lines = [segments]
        self._cell_render_cache[cache_key] = lines
        return lines

    def _cell_styles(
        self,
        base_style: Style,
        row_index: int,
        column_index: int,
        component_style: Style,
        post_style: Style,
        own: Any,
    ) -> tuple[Style, Style | None]:
        """The styles of a cell's padding and of its text (None: the same), as Rich's Styled
        gives them: pre-style + the segment's own style + post-style. They depend on the cell's
        place, not its content, so the next search's rows reuse them."""
        key = (base_style, row_index, column_index, component_style, post_style, own)
        styles = self._styles_at.get(key)
        if styles is None:
            pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
            pre_style += component_style
            outer = pre_style + post_style if pre_style else post_style
            inner = None
            if own is not None:
                inner = pre_style + self.app.console.get_style(own, default=Style.null())
                inner = inner + post_style if inner else post_style
            styles = self._styles_at[key] = (outer, inner)
        return styles

    def _settings(self) -> tuple[int, int, int, bool, bool, bool, bool, int]:
        """The settings drawing a cell reads (reactive attributes: once per `render_lines`)."""
        frame = self._frame
        if frame is not None and "settings" in frame:
            return frame["settings"]
        settings = (
            self.cell_padding,
            self.fixed_rows,
            self.fixed_columns,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
            self.header_height,
        )
        if frame is not None:
            frame["settings"] = settings
        return settings

    def _cell_line(
        self, row_key: RowKey, column_key: ColumnKey, room: int, header_height: int
    ) -> tuple[str, Any] | None:
        """The one line a cell shows, if it can be drawn directly: a one-line row, a data or
        header cell, text no wider than the `room` inside the column's padding."""
        column = self.columns.get(column_key)
        if column is None:
            return None
        if row_key is self._header_row_key:
            if header_height != 1:
                return None
            line = one_line(column.label)
        else:
            row = self.rows.get(row_key)
            if row is None or row.auto_height or row.height != 1:
                return None
            line = one_line(self._data[row_key].get(column_key))
        if line is None or cell_len(line[0]) > room:
            return None
        return line
