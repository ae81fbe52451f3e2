"""The bundled fonts: where they are, which characters they have, registering them with reportlab.

Droid Sans Fallback Full (Apache-2.0) draws the Chinese but has no Latin letters or digits;
DejaVu Sans (Bitstream Vera licence) draws those. Text is split into runs by the font that has
each character. Both have TrueType outlines, so reportlab embeds them as subsets. Registering
parses 5 MB, so it happens once per process, on first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from counter_app.resources import assets_dir

CJK_FONT = "CounterCJK"
LATIN_FONT = "CounterLatin"
FONT_FILES = {CJK_FONT: "DroidSansFallbackFull.ttf", LATIN_FONT: "DejaVuSans.ttf"}


def font_path(name: str = CJK_FONT) -> Path:
    """The TrueType file of a bundled font in ``assets/fonts``."""
    return assets_dir() / "fonts" / FONT_FILES[name]


@cache
def register() -> str:
    """Register both fonts with reportlab (once); returns the name of the main (CJK) font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name in FONT_FILES:
        pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
    return CJK_FONT


@cache
def _cmaps() -> tuple[frozenset[int], frozenset[int]]:
    from reportlab.pdfbase import pdfmetrics

    register()
    return tuple(  # type: ignore[return-value]
        frozenset(pdfmetrics.getFont(name).face.charToGlyph) for name in (CJK_FONT, LATIN_FONT)
    )


def font_for(char: str) -> str:
    """The bundled font that draws ``char`` (the CJK font when neither has it)."""
    cjk, latin = _cmaps()
    code = ord(char)
    return LATIN_FONT if code not in cjk and code in latin else CJK_FONT


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` split into (font, substring) runs."""
    out: list[tuple[str, str]] = []
    for char in text:
        font = font_for(char)
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + char)
        else:
            out.append((font, char))
    return out


def missing_glyphs(strings: list[str]) -> list[str]:
    """Characters of ``strings`` no bundled font can draw (whitespace aside), first seen first."""
    cjk, latin = _cmaps()
    missing = dict.fromkeys(
        char
        for text in strings
        for char in text
        if not char.isspace() and ord(char) not in cjk and ord(char) not in latin
    )
    return list(missing)
