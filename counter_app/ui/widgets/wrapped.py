"""A Static that wraps Chinese text the way paper does: no line starts with a closing bracket
or punctuation (``）``, ``、``, ``，``), and numbers, dates and short bracket pairs stay whole.

Rich folds a run of CJK text at any cell, so ``…示例参数），苏规程 第十八条）`` can wrap with
``）`` first on the next line. This widget keeps the text it was given (styles included) and
breaks each line where ``printing.text.wrap`` (the printed forms' rule) would, whenever its
width changes.
"""

from __future__ import annotations

from itertools import accumulate

from rich.text import Text
from textual.events import Resize
from textual.visual import VisualType
from textual.widgets import Static

from counter_app.printing.text import wrap


def wrap_text(text: Text, width: int) -> Text:
    """``text`` with line breaks where the printed forms would break it at ``width`` cells."""
    if width <= 0:
        return text
    lines = []
    for line in text.split("\n", allow_blank=True):
        pieces = wrap(line.plain, width)
        if len(pieces) < 2 or "".join(pieces) != line.plain:
            lines.append(line)
            continue
        lines.extend(line.divide(list(accumulate(len(p) for p in pieces[:-1]))))
    return Text("\n").join(lines)


class WrappedStatic(Static):
    """A Static whose plain or Rich ``Text`` content wraps without a bad line start."""

    def __init__(self, content: VisualType = "", **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._source: VisualType = content

    @property
    def source(self) -> VisualType:
        """What it was given to show (``content`` is that, wrapped)."""
        return self._source

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Show ``content``, wrapped to the current width."""
        self._source = content
        super().update(self._wrapped(), layout=layout)

    def on_resize(self, event: Resize) -> None:
        super().update(self._wrapped())

    def _wrapped(self) -> VisualType:
        source = self._source
        if isinstance(source, str) and "[" not in source:
            source = Text(source)
        if not isinstance(source, Text):
            return self._source
        return wrap_text(source, self.content_region.width)
