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


#: A run that must stay on one line: a number, a date, a code or a Latin word (with its
#: separators: 2026-11-29, 3456.78, YB1:JSD:…, I25.1).
_WORD = re.compile(r"[0-9A-Za-z￥+]+(?:[-.:/,_][0-9A-Za-z]+)*%?")
_OPEN = "（(《“‘【「"
_CLOSE = "）)》”’】」"
#: Characters that may not start a line (they close or punctuate what precedes them).
_NO_START = _CLOSE + "，。、；：！？,.;:!?…"
#: Characters that may not end a line (they open what follows).
_NO_END = _OPEN


def _tokens(text: str) -> list[str]:
    """Words to wrap between: a number, date or code whole, each Hanzi on its own, a bracket
    pair whole (when it is short), punctuation glued to the token before or after it."""
    raw: list[str] = []
    i = 0
    while i < len(text):
        match = _WORD.match(text, i)
        if match:
            raw.append(match.group())
            i = match.end()
        else:
            raw.append(text[i])
            i += 1
    tokens: list[str] = []
    glue_next = False
    for token in raw:
        if tokens and (glue_next or token[0] in _NO_START):
            tokens[-1] += token
        else:
            tokens.append(token)
        glue_next = token[-1] in _NO_END
    return tokens


def _bracketed(tokens: list[str], limit: int) -> list[str]:
    """Short bracket pairs joined into one token, so a line never holds only half of one."""
    out: list[str] = []
    depth, group = 0, ""
    for token in tokens:
        opens = sum(token.count(c) for c in _OPEN)
        closes = sum(token.count(c) for c in _CLOSE)
        if depth or opens > closes:
            group += token
            depth += opens - closes
            if depth <= 0:
                depth = 0
                out.extend([group] if text_width(group) <= limit else _tokens(group))
                group = ""
            continue
        out.append(token)
    if group:
        out.extend([group] if text_width(group) <= limit else _tokens(group))
    return out


def wrap(text: str, columns: int, indent: int = 0) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` (continuation lines indented), between
    words: never inside a number, a date or a short bracket pair, and no line starting with a
    closing bracket or punctuation. A word longer than a whole line is cut as a last resort."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        room = columns - indent
        for token in _bracketed(_tokens(paragraph), room):
            width = text_width(token)
            if used + width > columns and line.strip():
                lines.append(line)
                line, used = " " * indent, indent
            while used + width > columns:  # longer than a line on its own
                take, taken = "", used
                for char in token:
                    if taken + char_width(char) > columns:
                        break
                    take += char
                    taken += char_width(char)
                lines.append(line + take)
                line, used = " " * indent, indent
                token = token[len(take) :]
                width = text_width(token)
            line += token
            used += width
        lines.append(line)
    return lines
