"""Calendar arithmetic the rules need: periods of months counted the way offices count them.

One rule for every period of months — a filing's validity, a change/cancel lock, the deadline to
complete a 承诺书 filing's materials, a retroactive-filing window: a period of N months from day D
ends on the day before the same calendar date N months later; where that date does not exist
(the later month is shorter), on the last day of that month. So 03-01 + 1 month ends 03-31,
01-15 + 1 month ends 02-14, 01-31 + 1 month ends 02-28 (02-29 in a leap year), 08-31 + 6 months
ends 02-28/29, and 2028-02-29 + 12 months ends 2029-02-28.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def term_end(start: date, months: int) -> date:
    """The last day (inclusive) of a period of ``months`` (≥ 1) months that begins on ``start``."""
    if months < 1:
        raise ValueError("months must be at least 1")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    if start.day > last_day:
        # the same calendar date does not exist in the later month: its last day
        return date(year, month, last_day)
    return date(year, month, start.day) - timedelta(days=1)


def after_term(start: date, months: int) -> date:
    """The first day after the period (a lock lifts, a 满N个月 condition is met, that day)."""
    return term_end(start, months) + timedelta(days=1)


def within_term(start: date, months: int, day: date) -> bool:
    """Whether ``day`` falls inside the period of ``months`` months that begins on ``start``."""
    return start <= day <= term_end(start, months)
