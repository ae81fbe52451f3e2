"""The day-close dialog: who signs, a wrong password keeps it open, the title bar stays visible;
top-level screens replace each other instead of piling up."""

from __future__ import annotations

from textual.widgets import Label

from counter_app.ui.dialogs.text_input import SupervisorDialog
from counter_app.ui.screens.applications import ApplicationsScreen
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.day_close import DayCloseScreen
from counter_app.ui.screens.sync import SyncScreen
from tests.functional.driving import settle, sign_in
from tests.functional.screen_text import screen_lines


def _label(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Label).render())


async def test_day_close_names_the_signer_and_keeps_the_dialog_on_a_wrong_password(
    make_app,
) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("j")
        await settle(pilot)
        assert "须由科长签署" in _label(app, "#signed")
        await pilot.press("f10")
        await settle(pilot)
        if not isinstance(app.screen, SupervisorDialog):  # unsent events: confirm first
            await pilot.press("y")
            await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SupervisorDialog)
        assert "演示科长" in _label(app, "#who")
        # The dialog sits in the middle: the title bar above it is still readable.
        assert dialog.query_one("#dialog").region.y > 0
        assert "医疗保障服务中心" in screen_lines(app)[0]
        await pilot.press(*"admin", "enter", *"not-the-password", "enter")
        await settle(pilot)
        assert app.screen is dialog
        assert "不正确" in _label(app, "#message")
        assert dialog.query_one("#password").value == ""
        await pilot.press(*"admin1234", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DayCloseScreen)
        assert "由科长 演示科长 签署" in _label(app, "#signed")


async def test_top_level_screens_replace_each_other(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        depth = len(app.screen_stack)
        for key, kind in (("s", SyncScreen), ("j", DayCloseScreen), ("s", SyncScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind)
            assert len(app.screen_stack) == depth + 1
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, ApplicationsScreen)
        assert len(app.screen_stack) == depth + 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
