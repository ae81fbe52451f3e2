"""Calendar arithmetic the rules need: months added the way offices count them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def term_end(start: date, months: int) -> date:
    """The last valid day of a term of ``months`` starting on ``start`` (inclusive)."""
    return add_months(start, months) - timedelta(days=1)
