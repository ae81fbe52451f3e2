"""Making user text safe to print: control characters out, display widths, line wrapping.

No byte of what a clerk or a person typed may become a printer command: C0 controls (but the
newline), DEL and the C1 range are removed before anything is encoded. ``¥`` (U+00A5) prints as
garbage on GB printers, so it becomes ``￥`` (U+FFE5).
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean(value: object) -> str:
    """A user string with control characters removed (tabs become spaces); ``None`` is empty."""
    if value is None:
        return ""
    text = str(value).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text).replace("¥", "￥")


def char_width(char: str) -> int:
    """Columns a character takes on a receipt: ASCII one, everything else (Hanzi, ￥, ：) two."""
    return 1 if ord(char) < 0x80 else 2


def text_width(text: str) -> int:
    """Columns a string takes on a receipt."""
    return sum(char_width(c) for c in text)


def wrap(text: str, columns: int, indent: int = 0) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` (continuation lines indented)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for char in paragraph:
            width = char_width(char)
            if used + width > columns:
                lines.append(line)
                line, used = " " * indent, indent
            line += char
            used += width
        lines.append(line)
    return lines
