"""The sync part of the header: terminal, online/offline, time since the last successful sync."""

from __future__ import annotations

from datetime import UTC, datetime


def since_text(last_ok: datetime | None, now: datetime | None = None) -> str:
    """ "12 分钟前", "3 小时前", "2 天前" or "从未同步"."""
    if last_ok is None:
        return "从未同步"
    if last_ok.tzinfo is None:
        last_ok = last_ok.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    seconds = max(0, int(((now or datetime.now(UTC)) - last_ok).total_seconds()))
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def overdue_days(last_ok: datetime | None, warn_days: int, now: datetime | None = None) -> int:
    """Whole days without a successful sync once ``warn_days`` are reached, else 0."""
    if last_ok is None:
        return warn_days
    if last_ok.tzinfo is None:
        last_ok = last_ok.replace(tzinfo=UTC)
    days = ((now or datetime.now(UTC)) - last_ok).days
    return days if days >= warn_days else 0


def header_text(
    terminal: str, online: bool | None, last_ok: datetime | None, warn_days: int
) -> str:
    """The sub-title every screen shows (the title is the office)."""
    # Short enough for an 80-column header next to the office name: no terminal name when none
    # is set, and no "从未同步" when there is no provincial store to sync with.
    if online is None:
        return " · ".join([*([terminal] if terminal else []), "未配置省平台"])
    state = "在线" if online else "离线"
    since = since_text(last_ok).replace(" ", "")
    since = since if last_ok is None else f"{since}同步"
    # Past the configured days a warning mark on every screen (the header is on all of them).
    if overdue_days(last_ok, warn_days):
        since = f"⚠{since}"
    return " · ".join([*([terminal] if terminal else []), state, since])
