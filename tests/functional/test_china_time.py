"""Dates in China time: stored in UTC, shown in the office's zone; the business date is the
office's local date (a clock at 23:30 UTC, and at 00:30 China time, is already the next day)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from counter_app.settings import Settings
from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.drafts import save_draft
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
