"""Automatic backups in the running counter: at start-up when due, after the day close; the
header and the day report say how old the newest backup is."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from counter_app.storage.backup import check_file, list_backups
from counter_app.ui.dialogs.text_input import SupervisorDialog
from counter_app.ui.screens.day_close import DayCloseScreen
from tests.functional.driving import settle, sign_in


async def _idle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await settle(pilot)


async def test_the_counter_backs_up_by_itself_and_reports_it(make_app, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    app = make_app("wuhu", backup={"enabled": True, "places": [usb], "interval_minutes": 60})
    db_path = app.settings.database_path()
    async with app.run_test(size=(120, 30)) as pilot:
        await sign_in(pilot)
        await _idle(app, pilot)
        first = list_backups(db_path, [usb])
        assert len(first) == 1 and check_file(first[0].path) is None  # none yet: due at once
        app.refresh_sync_header()
        await _idle(app, pilot)
        assert "备份刚刚" in app.sub_title and "⚠" not in app.sub_title

        await pilot.press("j")
        await _idle(app, pilot)
        report = str(app.screen.query_one("#report", Static).render())
        assert "备份：最新备份" in report and str(usb) in report
        await pilot.press("f10")
        await settle(pilot)
        if not isinstance(app.screen, SupervisorDialog):
            await pilot.press("y")
            await settle(pilot)
        await pilot.press(*"admin", "enter", *"admin1234", "enter")
        await _idle(app, pilot)
        assert isinstance(app.screen, DayCloseScreen)
        later = list_backups(db_path, [usb])
        assert later[0].taken_at >= first[0].taken_at
        assert any("日结后已自动备份" in n.message for n in app._notifications)


async def test_the_demo_does_not_back_up_and_the_header_says_nothing(
    make_app, tmp_path: Path
) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(120, 30)) as pilot:
        await sign_in(pilot)
        await _idle(app, pilot)
        assert not (app.settings.database_path().parent / "backups").exists()
        assert "备份" not in app.sub_title


async def test_a_place_that_fails_is_said_once_and_the_header_warns(
    make_app, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app = make_app(
        "wuhu", backup={"enabled": True, "places": [blocked / "usb"], "interval_minutes": 1}
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await sign_in(pilot)
        await _idle(app, pilot)
        from counter_app.ui.backups import back_up

        back_up(app, "timer")  # the timer's next attempt fails the same way
        await _idle(app, pilot)
        app.refresh_sync_header()
        await _idle(app, pilot)
        said = [n for n in app._notifications if "自动备份未完成" in n.message]
        assert len(said) == 1 and str(blocked / "usb") in said[0].message
        assert "⚠从未备份" in app.sub_title
