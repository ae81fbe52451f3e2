"""Pinyin matching for search boxes: ``zs`` or ``zhangsan`` finds 张三, ``wuhu`` finds 芜湖市.

The readings come from a compact table shipped with the package (``pinyin_chars.txt``: the
toneless reading of every character, one line per reading) instead of ``pypinyin`` and its phrase
dictionary, which took half a second and 55 MiB at start-up. Characters are read one by one, with
two corrections the single-character table cannot make:

* **Surnames** read differently from the character's common reading (单 shàn, 曾 zēng, 解 xiè,
  尉迟 yùchí …) when they lead a name;
* **Region names** whose usual reading differs from the character-by-character one (重庆 chóngqìng,
  六安 lù'ān, 乐山 lèshān …) are read as a whole from ``pinyin_phrases.txt``.

Both tables are built by ``python -m counter_app.pinyin_build`` (which needs ``pypinyin``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
CHARS_FILE = _HERE / "pinyin_chars.txt"
PHRASES_FILE = _HERE / "pinyin_phrases.txt"

#: Surnames read differently from their character's common reading (《百家姓》 and the usual
#: reference lists); compound surnames first, so they win over their first character.
SURNAMES: dict[str, tuple[str, ...]] = {
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "单于": ("chan", "yu"),
    "长孙": ("zhang", "sun"),
    "澹台": ("tan", "tai"),
    "令狐": ("ling", "hu"),
    "皇甫": ("huang", "fu"),
    "亓官": ("qi", "guan"),
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "仇": ("qiu",),
    "查": ("zha",),
    "乐": ("yue",),
    "缪": ("miao",),
    "朴": ("piao",),
    "区": ("ou",),
    "盖": ("ge",),
    "覃": ("qin",),
    "翟": ("zhai",),
    "秘": ("bi",),
    "种": ("chong",),
    "员": ("yun",),
    "繁": ("po",),
    "召": ("shao",),
    "句": ("gou",),
    "折": ("she",),
    "尉": ("yu",),
    "柏": ("bai",),
    "黑": ("he",),
    "宓": ("mi",),
    "隗": ("wei",),
    "冼": ("xian",),
    "逄": ("pang",),
    "眭": ("sui",),
    "郇": ("huan",),
    "蕃": ("pi",),
    "迮": ("ze",),
    "么": ("yao",),
    "能": ("nai",),
    "谌": ("chen",),
    "厍": ("she",),
    "訾": ("zi",),
    "长": ("chang",),
    "重": ("chong",),
    "藏": ("zang",),
}


@cache
def char_table() -> dict[str, str]:
    """Character → toneless reading (``ü`` written ``v``, as pypinyin's normal style does)."""
    table: dict[str, str] = {}
    for line in CHARS_FILE.read_text(encoding="utf-8").splitlines():
        reading, _, chars = line.partition(" ")
        reading = reading.strip()
        table.update(dict.fromkeys(chars.strip(), reading))
    return table


@cache
def phrase_table() -> dict[str, tuple[str, ...]]:
    """Whole names (regions) read otherwise than character by character."""
    table: dict[str, tuple[str, ...]] = {}
    for line in PHRASES_FILE.read_text(encoding="utf-8").splitlines():
        text, *readings = line.split()
        table[text] = tuple(readings)
    return table


def syllables(text: str) -> list[str]:
    """The toneless syllables of ``text``; characters without a reading are left out."""
    whole = phrase_table().get(text)
    if whole is not None:
        return list(whole)
    chars = char_table()
    found: list[str] = []
    start = 0
    for size in (2, 1):
        surname = SURNAMES.get(text[:size]) if len(text) > size else None
        if surname is not None:
            found.extend(surname)
            start = size
            break
    for ch in text[start:]:
        reading = chars.get(ch)
        if reading:
            found.append(reading)
    return found


@lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """The full pinyin without tones and the initials of ``text`` (``("zhangsan", "zs")``)."""
    parts = syllables(text)
    return "".join(parts).lower(), "".join(s[0] for s in parts if s).lower()


def pinyin_match(query: str, text: str) -> bool:
    """Whether ``query`` finds ``text`` by characters, full pinyin or initials."""
    query = query.strip().lower()
    if not query:
        return False
    if query in text.lower():
        return True
    if not query.isascii():
        return False
    full, initials = pinyin_keys(text)
    return full.startswith(query) or initials.startswith(query) or query in full
