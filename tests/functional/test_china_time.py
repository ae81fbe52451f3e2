"""Dates in China time: stored in UTC, shown in the office's zone; the business date is the
office's local date (a clock at 23:30 UTC, and at 00:30 China time, is already the next day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from counter_app.rules_engine import build_engine
from counter_app.settings import Settings
from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.drafts import save_draft
from counter_app.storage.queues import ACTIONS_COUNTED
from counter_app.storage.sync_models import OnlineApplication
from counter_app.sync import outbox
from counter_app.sync.day_close import day_report
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.screens.drafts import DraftsScreen
from tests.functional.conftest import open_db
from tests.functional.driving import settle, sign_in
from tests.functional.screen_text import screen_lines

AT_2330_UTC = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 on the 24th in China
AT_0030_CHINA = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 00:30 on the 24th in China
AT_2330_CHINA = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # still the 23rd in China


@pytest.mark.parametrize(
    ("clock", "business_date"),
    [
        (AT_2330_UTC, date(2026, 11, 24)),
        (AT_0030_CHINA, date(2026, 11, 24)),
        (AT_2330_CHINA, date(2026, 11, 23)),
    ],
)
def test_business_date_is_the_office_local_date(clock: datetime, business_date: date) -> None:
    settings = Settings(clock=clock)
    assert settings.current_date() == business_date
    assert settings.local(clock.replace(tzinfo=None)).tzinfo is not None  # naive means UTC


@pytest.mark.parametrize("clock", [AT_2330_UTC, AT_0030_CHINA], ids=["2330utc", "0030china"])
async def test_screens_show_the_office_date_and_local_times(make_app, clock: datetime) -> None:
    app = make_app("wuhu", today=None, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        db = open_db(app)
        signed = storage_sign_in(db, "demo", "demo1234")
        assert signed is not None
        draft = save_draft(db, signed.clerk_id, "filing", {}, step="0", title="新增备案 · 测试")
        with db.write() as session:  # saved at 00:30 China time (16:30 UTC the day before)
            session.execute(
                text("UPDATE draft SET updated_at = :at WHERE id = :id"),
                {"at": AT_0030_CHINA.replace(tzinfo=None), "id": draft},
            )
        db.close()
        await sign_in(pilot)
        if isinstance(app.screen, ConfirmDialog):
            await pilot.press("n")
            await settle(pilot)
        assert app.ready.today == date(2026, 11, 24)
        assert any("2026-11-24" in line for line in screen_lines(app)[:4])  # the dashboard
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DraftsScreen)
        table = app.screen.query_one("#drafts")
        assert table.get_row_at(0)[0] == "2026-11-24 00:30"  # not 2026-11-23 16:30 (UTC)


def test_day_report_counts_reviews_by_the_office_local_date(tmp_path) -> None:
    """An online application reviewed at 23:30 UTC or 00:30 China time belongs to the next
    China day in the day report; one at 23:30 China time to the same day."""
    db = Database.open(tmp_path / "wuhu.db")
    seed_demo(db, build_engine("wuhu"), date(2026, 11, 23), persons=2)
    office = outbox.office_of(db)
    with db.write() as session:
        for n, (at, status) in enumerate(
            [(AT_2330_UTC, "approved"), (AT_0030_CHINA, "rejected"), (AT_2330_CHINA, "approved")]
        ):
            session.add(
                OnlineApplication(
                    id=f"WS{n}",
                    office_id=office.id,
                    received_on=date(2026, 11, 20),
                    due_date=date(2026, 11, 30),
                    data={},
                    status=status,
                    reviewed_at=at,
                )
            )

    def reviews(day: date) -> list[tuple[str, int, None]]:
        return day_report(db, day, ZoneInfo("Asia/Shanghai")).sections[1].rows

    assert reviews(date(2026, 11, 24)) == [("通过", 1, None), ("不通过", 1, None)]
    assert reviews(date(2026, 11, 23)) == [("通过", 1, None)]
    # The same instants counted in UTC dates would put all three on the 23rd.
    assert day_report(db, date(2026, 11, 23), UTC).sections[1].rows == [
        ("通过", 2, None),
        ("不通过", 1, None),
    ]
    db.close()


async def test_dashboard_today_and_the_day_report_count_the_same_steps(make_app) -> None:
    """Both count filing steps by their business date (经办日期) and say so; a step recorded
    today (UTC) for an earlier business date is not counted as today's."""
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        today = app.settings.current_date()
        db = open_db(app)
        with db.write() as session:  # three of the demo's new filings handled today
            ids = session.execute(
                text("SELECT id FROM filing_history WHERE action = 'new' ORDER BY id LIMIT 3")
            ).scalars()
            for row in list(ids):
                session.execute(
                    text(
                        "UPDATE filing_history SET snapshot = json_set(snapshot, '$.today', :d)"
                        " WHERE id = :id"
                    ),
                    {"d": today.isoformat(), "id": row},
                )
        report = day_report(db, today)
        db.close()
        section = report.sections[0]
        assert section.title == ACTIONS_COUNTED and section.rows == [("新增", 3, None)]
        await sign_in(pilot)
        if isinstance(app.screen, ConfirmDialog):
            await pilot.press("n")
            await settle(pilot)
        counts = "\n".join(screen_lines(app))
        assert f"今日{ACTIONS_COUNTED}：新增 3 · 变更 0 · 取消 0" in counts
        await pilot.press("j")
        await settle(pilot)
        shown = "\n".join(screen_lines(app))
        assert ACTIONS_COUNTED in shown and "新增：3 笔" in shown
