"""Pinyin matching for search boxes: ``zs`` or ``zhangsan`` finds 张三, ``wuhu`` finds 芜湖市."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """The full pinyin without tones and the initials of ``text`` (``("zhangsan", "zs")``)."""
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return "".join(syllables).lower(), "".join(s[0] for s in syllables if s).lower()


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
