"""Build the working-day calendar: chinesecalendar's table plus the yearly update files.

The base table comes from the ``chinese_calendar`` package (statutory holidays and make-up working
days, 2004–2026 for version 1.11.0). Update files ``assets/calendar/*.json`` (and ``*.json`` in
any ``extra_dirs``, e.g. a provincial download folder) are overlaid in file-name order, folder by
folder; see ``assets/calendar/README.md`` for their format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from counter_app.domain.workdays import CalendarError, WorkCalendar
from counter_app.resources import assets_dir

CALENDAR_DIR = "calendar"


def base_calendar() -> WorkCalendar:
    """The calendar of the installed ``chinese_calendar`` package alone."""
    import chinese_calendar  # imported when the calendar is first built

    holidays = chinese_calendar.holidays.keys()
    years = [d.year for d in holidays]
    return WorkCalendar.from_tables(
        holidays=holidays,
        workdays=chinese_calendar.workdays.keys(),
        covered_years=range(min(years), max(years) + 1),
        version=f"chinesecalendar {chinese_calendar.__version__}",
    )


def update_files(folders: Iterable[Path]) -> list[Path]:
    """The ``*.json`` update files of each existing folder, by name within a folder."""
    files: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.json")))
    return files


def load_work_calendar(extra_dirs: Iterable[Path | str] = ()) -> WorkCalendar:
    """The base calendar overlaid with the shipped and the ``extra_dirs`` update files.

    Cached per distinct ``extra_dirs``. A malformed update file raises ``CalendarError`` naming
    the file.
    """
    return _load(tuple(Path(folder) for folder in extra_dirs))


@cache
def _load(extra_dirs: tuple[Path, ...]) -> WorkCalendar:
    calendar = base_calendar()
    for path in update_files((assets_dir() / CALENDAR_DIR, *extra_dirs)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise CalendarError("内容应为一个 JSON 对象")
            calendar = calendar.merge(data)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and CalendarError
            raise CalendarError(f"日历更新文件 {path.name} 无效：{exc}") from exc
    return calendar
