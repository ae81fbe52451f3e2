"""Reading what a screen shows, for assertions that do not depend on snapshots."""

from __future__ import annotations

import re

from textual.app import App
from textual.geometry import Region

#: ASCII words Textual's built-ins would show (footer, palette, Select) and raw stored codes.
BUILT_IN_WORDS = {
    "palette",
    "dismiss",
    "menu",
    "search",
    "commands",
    "matches",
    "found",
    "keys",
    "maximize",
    "minimize",
    "quit",
    "screenshot",
    "theme",
    "select",
    "toggle",
    "next",
    "previous",
    "option",
    "command",
    "exit",
    "bell",
    "help",
}
RAW_CODES = {
    "active",
    "cancelled",
    "expired",
    "superseded",
    "supervisor",
    "clerk",
    "pending",
    "accepted",
    "returned",
    "reviewed",
    "settled",
    "received",
    "employee",
    "resident",
    "cross_province",
    "in_province",
    "materials",
    "commitment",
    "new",
    "change",
    "cancel",
    "none",
    "true",
    "false",
}
#: Key names the footer shows, and abbreviations clerks know.
ALLOWED = {
    "esc",
    "tab",
    "enter",
    "space",
    "home",
    "end",
    "pgup",
    "pgdn",
    "del",
    "pdf",
    "png",
    "qr",
    "ctrl",
    "shift",
    "up",
    "down",
    "left",
    "right",
    "demo",
    "icd",  # ICD-10 diagnosis codes
}

_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


def screen_lines(app: App) -> list[str]:
    """The rendered lines of the current screen (plain text)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def region_lines(app: App, region: Region) -> list[str]:
    """The rendered text inside ``region`` of the current screen, line by line."""
    strips = app.screen._compositor.render_strips()
    return [
        strips[y].crop(region.x, region.right).text
        for y in range(region.y, region.bottom)
        if 0 <= y < len(strips)
    ]


def english_words(lines: list[str]) -> set[str]:
    """ASCII words on screen that are neither key names nor known abbreviations."""
    words = {w.lower() for line in lines for w in _WORD.findall(line)}
    return {w for w in words if w not in ALLOWED}


def bad_line_starts(lines: list[str]) -> list[str]:
    """Lines (inside panels too) whose text starts with a closing mark: a badly wrapped line."""
    bad = []
    for line in lines:
        text = line.strip().lstrip("│┃║▌▐|▏▕ ")
        if text.startswith(("、", "）", "，", "。", "：", "；")):
            bad.append(line)
    return bad
