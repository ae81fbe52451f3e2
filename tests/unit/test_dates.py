"""The one month-arithmetic rule (validity, locks, follow-up dates, retroactive windows).

A period of N months from day D ends on the day before the same calendar date N months later;
where that date does not exist (the later month is shorter), on the last day of that month.
Cases on the 1st, the 28th to 31st and 29 February, in common and leap years.
"""

from __future__ import annotations

import datetime as dt

import pytest

from counter_app.domain.dates import after_term, term_end, within_term


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-03-01", 1, "2026-03-31"),  # the 1st: the day before 04-01
        ("2026-01-01", 12, "2026-12-31"),
        ("2026-12-01", 1, "2026-12-31"),  # over the year end
        ("2026-01-15", 1, "2026-02-14"),
        ("2026-01-28", 1, "2026-02-27"),  # 02-28 exists: the day before
        ("2028-01-28", 1, "2028-02-27"),
        ("2026-01-29", 1, "2026-02-28"),  # no 02-29 in 2026: February's last day
        ("2028-01-29", 1, "2028-02-28"),  # 2028-02-29 exists: the day before
        ("2026-01-30", 1, "2026-02-28"),
        ("2028-01-30", 1, "2028-02-29"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2026-03-31", 1, "2026-04-30"),  # no 04-31
        ("2026-05-31", 1, "2026-06-30"),
        ("2026-07-31", 1, "2026-08-30"),  # 08-31 exists
        ("2025-08-31", 6, "2026-02-28"),
        ("2027-08-31", 6, "2028-02-29"),
        ("2026-08-30", 6, "2027-02-28"),
        ("2026-08-28", 6, "2027-02-27"),
        ("2028-02-29", 12, "2029-02-28"),  # no 2029-02-29
        ("2028-02-29", 48, "2032-02-28"),  # 2032-02-29 exists: the day before
        ("2028-02-29", 1, "2028-03-28"),
        ("2026-02-28", 1, "2026-03-27"),
        ("2026-02-28", 12, "2027-02-27"),
        ("2026-10-31", 6, "2027-04-30"),
        ("2026-06-30", 6, "2026-12-29"),
    ],
)
def test_term_end(start: str, months: int, end: str) -> None:
    assert term_end(d(start), months) == d(end)


@pytest.mark.parametrize(
    ("start", "months", "lifts"),
    [
        ("2026-01-10", 6, "2026-07-10"),
        ("2025-08-31", 6, "2026-03-01"),  # 满6个月 once the whole of 02-28 has passed
        ("2027-08-31", 6, "2028-03-01"),
        ("2026-03-01", 6, "2026-09-01"),
        ("2028-02-29", 12, "2029-03-01"),
    ],
)
def test_after_term(start: str, months: int, lifts: str) -> None:
    assert after_term(d(start), months) == d(lifts)


def test_within_term_bounds() -> None:
    assert within_term(d("2026-01-31"), 1, d("2026-01-31"))
    assert within_term(d("2026-01-31"), 1, d("2026-02-28"))
    assert not within_term(d("2026-01-31"), 1, d("2026-03-01"))
    assert not within_term(d("2026-01-31"), 1, d("2026-01-30"))


def test_months_must_be_positive() -> None:
    with pytest.raises(ValueError):
        term_end(d("2026-01-01"), 0)
