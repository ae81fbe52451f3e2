"""Chinese working days (工作日) for deadlines such as "N 个工作日内办结".

A ``WorkCalendar`` holds the statutory holidays and the make-up working days (调休) of the years it
covers. For years without data it falls back to Monday–Friday and marks every deadline that
counted such a day as provisional, rather than failing: holiday data for a year only appears after
the State Council's announcement each November. Each deadline carries the calendar version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from counter_app.domain.errors import CounterError

_MAX_STEPS = 3660  # ten years of calendar days: far beyond any plausible deadline


class CalendarError(CounterError, ValueError):
    """A malformed holiday-table update; the message is for the operator."""


@dataclass(frozen=True)
class DueDate:
    """A deadline counted in working days."""

    date: dt.date
    working_days: int
    provisional: bool
    calendar_version: str


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays and make-up working days for the covered years; Mon–Fri elsewhere."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    covered_years: frozenset[int]
    version: str

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            first = min(both).isoformat()
            raise CalendarError(f"日期 {first} 同时被列为节假日和调休工作日")

    @classmethod
    def from_tables(
        cls,
        holidays: Iterable[dt.date],
        workdays: Iterable[dt.date],
        covered_years: Iterable[int],
        version: str,
    ) -> WorkCalendar:
        """Build a calendar from any iterables (dict keys, lists)."""
        return cls(frozenset(holidays), frozenset(workdays), frozenset(covered_years), version)

    # -- queries --------------------------------------------------------------------------

    def covers(self, d: dt.date) -> bool:
        """Whether the holiday table has data for the year of ``d``."""
        return d.year in self.covered_years

    def is_working_day(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day (Mon–Fri only, for years without data)."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_working_days(self, start: dt.date, n: int) -> DueDate:
        """The ``n``-th working day after ``start``.

        ``start`` (the day the materials are complete) is day 0 whatever it is; counting starts the
        next day. ``n == 0`` gives ``start`` itself. The result is provisional when any day looked
        at lies in a year the table does not cover. Never raises for dates in range.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        provisional = False
        counted = 0
        steps = 0
        while counted < n:
            day += dt.timedelta(days=1)
            steps += 1
            if steps > _MAX_STEPS:  # pragma: no cover - impossible with sane tables
                raise CalendarError("日历数据异常：连续十年没有工作日")
            if not self.covers(day):
                provisional = True
            if self.is_working_day(day):
                counted += 1
        return DueDate(day, n, provisional, self.version)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days in (start, end]; 0 when ``end <= start``."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    # -- updates --------------------------------------------------------------------------

    def merge(self, extra: Mapping[str, Any]) -> WorkCalendar:
        """Overlay a yearly update and return the new calendar.

        ``extra`` is ``{"year": 2027, "holidays": ["2027-01-01", ...], "workdays": [...],
        "version": "..."}`` (dates as ``date`` or ISO strings). Every entry of that year in this
        calendar is replaced, the year becomes covered, and the listed dates of neighbouring
        years (a 元旦 make-up day on 31 December, say) override those dates. The version becomes
        ``"<old> + <update version>"``.
        """
        year = extra.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200:
            raise CalendarError(f"日历更新文件的年份无效：{year!r}")
        version = extra.get("version")
        if not isinstance(version, str) or not version.strip():
            raise CalendarError(f"{year} 年日历更新缺少版本说明（version）")
        new_holidays = _parse_dates(extra.get("holidays", []), year, "holidays")
        new_workdays = _parse_dates(extra.get("workdays", []), year, "workdays")
        if not new_holidays:
            raise CalendarError(f"{year} 年日历更新没有列出节假日")
        clash = new_holidays & new_workdays
        if clash:
            raise CalendarError(f"日期 {min(clash).isoformat()} 同时被列为节假日和调休工作日")
        touched = new_holidays | new_workdays
        holidays = {d for d in self.holidays if d.year != year and d not in touched}
        workdays = {d for d in self.workdays if d.year != year and d not in touched}
        return WorkCalendar(
            holidays=frozenset(holidays | new_holidays),
            workdays=frozenset(workdays | new_workdays),
            covered_years=self.covered_years | {year},
            version=f"{self.version} + {version.strip()}",
        )


def _parse_dates(values: Any, year: int, key: str) -> frozenset[dt.date]:
    if not isinstance(values, list | tuple):
        raise CalendarError(f"{year} 年日历更新的 {key} 应为日期列表")
    result: set[dt.date] = set()
    for value in values:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                raise CalendarError(f"{year} 年日历更新中的日期无效：{value!r}") from None
        if not isinstance(value, dt.date):
            raise CalendarError(f"{year} 年日历更新中的日期无效：{value!r}")
        if abs(value.year - year) > 1:
            raise CalendarError(f"{year} 年日历更新中的日期 {value.isoformat()} 不属于该年份")
        result.add(value)
    return frozenset(result)
