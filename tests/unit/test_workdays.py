"""Working days: the real chinesecalendar table, provisional fallback and yearly updates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter_app.calendar_data import base_calendar, load_work_calendar
from counter_app.domain.workdays import CalendarError, DueDate, WorkCalendar

D = dt.date
VERSION = f"chinesecalendar {chinese_calendar.__version__}"

# A made-up 2027 table for the overlay tests (not the official arrangement).
TEST_2027 = {
    "year": 2027,
    "version": "test 2027",
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
    "workdays": ["2027-01-09"],
}


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_work_calendar()


def test_real_2026_data_is_what_the_tests_assume(cal: WorkCalendar) -> None:
    national_day = {D(2026, 10, d) for d in range(1, 8)}
    mid_autumn = {D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)}
    spring = {D(2026, 2, d) for d in range(15, 24)}
    assert national_day | mid_autumn | spring <= cal.holidays
    assert {D(2026, 9, 20), D(2026, 10, 10), D(2026, 2, 14), D(2026, 2, 28)} <= cal.workdays
    assert D(2026, 9, 25).weekday() == 4  # a Friday
    assert cal.version == VERSION
    assert cal.covered_years == frozenset(range(2004, 2027))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 9, 20), True),  # Sunday, make-up working day
        (D(2026, 9, 25), False),  # Friday, 中秋节
        (D(2026, 9, 28), True),
        (D(2026, 10, 1), False),
        (D(2026, 10, 7), False),
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),  # Saturday, make-up working day
        (D(2026, 10, 11), False),
        (D(2026, 2, 14), True),  # Saturday before 春节
        (D(2026, 2, 16), False),  # Monday in 春节
        (D(2026, 2, 23), False),
        (D(2026, 2, 24), True),
        (D(2027, 1, 1), True),  # no data: Friday counts
        (D(2027, 1, 2), False),
        (D(2035, 10, 1), True),  # a Monday, no data
    ],
)
def test_is_working_day(cal: WorkCalendar, day: dt.date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_matches_chinesecalendar_for_every_covered_day(cal: WorkCalendar) -> None:
    day = D(2004, 1, 1)
    while day <= D(2026, 12, 31):
        assert cal.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # 国庆 2026 (with 中秋 on Friday 25 September)
        (D(2026, 9, 25), 0, D(2026, 9, 25)),
        (D(2026, 9, 25), 1, D(2026, 9, 28)),
        (D(2026, 9, 25), 5, D(2026, 10, 9)),  # 28, 29, 30 | 1–7 off | 8, 9
        (D(2026, 9, 25), 6, D(2026, 10, 10)),  # Saturday make-up day
        (D(2026, 9, 25), 7, D(2026, 10, 12)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        (D(2026, 10, 1), 1, D(2026, 10, 8)),  # materials complete on a holiday
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Sunday make-up day
        (D(2026, 9, 18), 5, D(2026, 9, 24)),
        # 春节 2026
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Saturday make-up day
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        (D(2026, 2, 13), 5, D(2026, 2, 27)),
        (D(2026, 2, 13), 6, D(2026, 2, 28)),  # Saturday make-up day
        (D(2026, 2, 12), 10, D(2026, 3, 4)),
        # ordinary weeks
        (D(2026, 3, 6), 5, D(2026, 3, 13)),
        (D(2026, 3, 7), 1, D(2026, 3, 9)),
        (D(2026, 3, 2), 20, D(2026, 3, 30)),
    ],
)
def test_add_working_days_2026(cal: WorkCalendar, start: dt.date, n: int, due: dt.date) -> None:
    assert cal.add_working_days(start, n) == DueDate(due, n, False, VERSION)


@pytest.mark.parametrize(
    ("start", "n", "due", "provisional"),
    [
        (D(2026, 12, 30), 1, D(2026, 12, 31), False),
        (D(2026, 12, 30), 2, D(2027, 1, 1), True),  # Friday, weekday fallback
        (D(2026, 12, 28), 5, D(2027, 1, 4), True),
        (D(2026, 12, 31), 0, D(2026, 12, 31), False),
        (D(2026, 12, 25), 20, D(2027, 1, 22), True),
        (D(2027, 3, 1), 0, D(2027, 3, 1), False),  # nothing counted
        (D(2027, 3, 1), 5, D(2027, 3, 8), True),
        (D(2003, 12, 30), 3, D(2004, 1, 5), True),  # 2003 has no data; 2004-01-01 is off
    ],
)
def test_uncovered_years_are_provisional(
    cal: WorkCalendar, start: dt.date, n: int, due: dt.date, provisional: bool
) -> None:
    result = cal.add_working_days(start, n)
    assert (result.date, result.provisional, result.calendar_version) == (due, provisional, VERSION)


def test_overlay_makes_2027_covered(cal: WorkCalendar) -> None:
    updated = cal.merge(TEST_2027)
    assert updated.covers(D(2027, 6, 1)) and not cal.covers(D(2027, 6, 1))
    assert updated.version == f"{VERSION} + test 2027"
    due = updated.add_working_days(D(2026, 12, 28), 5)
    # 29, 30, 31 | 1–3 off | 4, 5
    assert due == DueDate(D(2027, 1, 5), 5, False, f"{VERSION} + test 2027")
    assert updated.is_working_day(D(2027, 1, 9))  # Saturday make-up day
    assert not updated.is_working_day(D(2027, 1, 1))
    assert cal.is_working_day(D(2027, 1, 1))  # the original is unchanged
    # a later year is still provisional
    assert updated.add_working_days(D(2027, 12, 30), 2).provisional


def test_overlay_replaces_a_covered_year(cal: WorkCalendar) -> None:
    update = {"year": 2026, "version": "省厅更正", "holidays": [D(2026, 10, 1)], "workdays": []}
    updated = cal.merge(update)
    assert not updated.is_working_day(D(2026, 10, 1))
    assert updated.is_working_day(D(2026, 10, 2))  # no longer a holiday
    assert not updated.is_working_day(D(2026, 10, 10))  # make-up day gone: a plain Saturday
    assert updated.is_working_day(D(2025, 10, 9)) is cal.is_working_day(D(2025, 10, 9))


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"version": "x", "holidays": ["2027-01-01"]}, "年份无效"),
        ({"year": "2027", "version": "x", "holidays": ["2027-01-01"]}, "年份无效"),
        ({"year": 2027, "holidays": ["2027-01-01"]}, "version"),
        ({"year": 2027, "version": "x", "holidays": []}, "没有列出节假日"),
        ({"year": 2027, "version": "x", "holidays": ["2027-02-30"]}, "日期无效"),
        ({"year": 2027, "version": "x", "holidays": [20270101]}, "日期无效"),
        ({"year": 2027, "version": "x", "holidays": "2027-01-01"}, "日期列表"),
        ({"year": 2027, "version": "x", "holidays": ["2029-01-01"]}, "不属于该年份"),
        (
            {"year": 2027, "version": "x", "holidays": ["2027-01-01"], "workdays": ["2027-01-01"]},
            "同时",
        ),
    ],
)
def test_merge_rejects_bad_updates(cal: WorkCalendar, update: dict, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        cal.merge(update)


def test_negative_n_is_a_programming_error(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 1, 5), -1)


def test_constructor_rejects_overlap() -> None:
    with pytest.raises(CalendarError):
        WorkCalendar(frozenset({D(2026, 1, 1)}), frozenset({D(2026, 1, 1)}), frozenset(), "x")


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (D(2026, 9, 25), D(2026, 10, 9), 5),
        (D(2026, 9, 25), D(2026, 9, 25), 0),
        (D(2026, 10, 9), D(2026, 9, 25), 0),
        (D(2026, 2, 13), D(2026, 2, 28), 6),
        (D(2026, 12, 28), D(2027, 1, 4), 5),
    ],
)
def test_working_days_between(cal: WorkCalendar, start: dt.date, end: dt.date, count: int) -> None:
    assert cal.working_days_between(start, end) == count


def test_loader_overlays_update_files(tmp_path: Path) -> None:
    (tmp_path / "2027.json").write_text(json.dumps(TEST_2027), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    calendar = load_work_calendar([tmp_path])
    assert calendar.covers(D(2027, 1, 1))
    assert calendar.version == f"{VERSION} + test 2027"
    assert load_work_calendar((str(tmp_path),)) is calendar  # cached
    assert load_work_calendar() == base_calendar()  # the shipped folder has no update file


def test_loader_names_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "2027-bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"2027-bad\.json"):
        load_work_calendar([tmp_path])
    other = tmp_path / "other"
    other.mkdir()
    (other / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"list\.json"):
        load_work_calendar([other])


def test_missing_extra_dir_is_ignored(tmp_path: Path) -> None:
    assert load_work_calendar([tmp_path / "absent"]) == base_calendar()


CALENDAR = base_calendar()


@settings(max_examples=500, deadline=None)
@given(
    start=st.dates(min_value=D(2004, 1, 1), max_value=D(2035, 12, 31)),
    n=st.integers(min_value=0, max_value=40),
)
def test_add_working_days_never_raises(start: dt.date, n: int) -> None:
    due = CALENDAR.add_working_days(start, n)
    assert due.working_days == n
    assert due.calendar_version == VERSION
    if n == 0:
        assert due.date == start and not due.provisional
        return
    assert due.date > start
    assert CALENDAR.is_working_day(due.date)
    assert CALENDAR.working_days_between(start, due.date) == n
    counted = [start + dt.timedelta(days=i) for i in range(1, (due.date - start).days + 1)]
    assert due.provisional is any(not CALENDAR.covers(d) for d in counted)
