"""Build the compact pinyin tables of ``counter_app.pinyin`` from ``pypinyin`` (a dev dependency).

    python -m counter_app.pinyin_build

``pinyin_chars.txt``: every character pypinyin knows, grouped by its toneless single-character
reading (``reading chars…`` per line). ``pinyin_phrases.txt``: the region names of
``assets/regions/gbt2260.json`` whose reading as a phrase (pypinyin's phrase dictionary) differs
from what the character table and the surname rule give, each with its syllables.
"""

from __future__ import annotations

import json
from collections import defaultdict

from counter_app import pinyin
from counter_app.regions_data import REGIONS_FILE
from counter_app.resources import assets_dir


def _region_names() -> set[str]:
    data = json.loads(assets_dir().joinpath(*REGIONS_FILE).read_text(encoding="utf-8"))
    names: set[str] = set()
    for kind in ("provinces", "cities", "counties"):
        names.update(row[1] for row in data.get(kind, []))
    return names


def build() -> tuple[int, int]:
    """Write both tables; the number of characters and of phrases written."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.constants import PINYIN_DICT

    by_reading: dict[str, list[str]] = defaultdict(list)
    for code in sorted(PINYIN_DICT):
        ch = chr(code)
        readings = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
        if len(readings) == 1 and readings[0]:
            by_reading[readings[0]].append(ch)
    pinyin.CHARS_FILE.write_text(
        "".join(f"{r} {''.join(chars)}\n" for r, chars in sorted(by_reading.items())),
        encoding="utf-8",
    )
    pinyin.char_table.cache_clear()
    pinyin.phrase_table.cache_clear()
    pinyin.PHRASES_FILE.write_text("", encoding="utf-8")
    phrases = []
    for name in sorted(_region_names()):
        whole = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
        if whole != pinyin.syllables(name):
            phrases.append(f"{name} {' '.join(whole)}\n")
    pinyin.PHRASES_FILE.write_text("".join(phrases), encoding="utf-8")
    pinyin.phrase_table.cache_clear()
    return sum(len(c) for c in by_reading.values()), len(phrases)


if __name__ == "__main__":
    chars, phrases = build()
    print(f"{chars} characters, {phrases} region names read as phrases")
