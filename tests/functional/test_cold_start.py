"""Cold start (issue 17): the sign-in screen comes first, the database and the rules open behind it.

Each test holds the start-up with a gate before the settings are read (as a slow disk would):
the sign-in screen is up and takes keys while nothing is open; what happens when the database
arrives — a waiting password checked, a failure said on the screen, a new office sent to the
set-up, an encrypted database opened by the clerk's slot — is then checked against the real
database file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Input, Label

from counter_app.launch import ui_arguments
from counter_app.settings import Settings
from counter_app.ui.app import CounterApp
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.search import SearchScreen
from counter_app.ui.screens.setup import RegionStep
from counter_app.ui.screens.sign_in import DEMO_HINT, OPENING, SignInScreen
from tests.functional.driving import settle, type_text
from tests.functional.test_encrypted_sign_in import encrypted_office  # noqa: F401  (a fixture)
from tests.support.db_rows import rows


def _opening_slowly(make_app: Callable[..., CounterApp], gate: threading.Event, **kw: object):  # type: ignore[no-untyped-def]
    """The app ``make_app`` builds, whose start-up waits for ``gate`` before reading settings."""
    built = make_app(**kw)

    def read() -> Settings:
        assert gate.wait(60), "the test never opened the gate"
        return built.settings

    return CounterApp(read)


def _message(app: CounterApp) -> str:
    return str(app.screen.query_one("#message", Label).content)


async def _until(pilot, condition: Callable[[], bool]) -> None:  # type: ignore[no-untyped-def]
    """Settle until ``condition`` holds (bounded: argon2 is slow on a loaded machine)."""
    for _ in range(60):
        if condition():
            return
        await settle(pilot)
    assert condition()


async def test_a_password_submitted_before_the_database_opens_waits_for_it(make_app) -> None:
    gate = threading.Event()
    app = _opening_slowly(make_app, gate)
    async with app.run_test() as pilot:
        await pilot.pause()
        # The sign-in screen is up and focused with nothing open behind it.
        assert isinstance(app.screen, SignInScreen) and app.services is None
        assert app.focused is not None and app.focused.id == "username"
        await type_text(pilot, "demo")
        await pilot.press("enter")
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        await pilot.pause()
        assert _message(app) == OPENING
        assert not app.screen.query_one("#demo_hint").display  # not known to be the demo yet
        await pilot.press("slash")  # typed ahead: for the dashboard that follows
        assert app.services is None
        gate.set()
        await _until(pilot, lambda: isinstance(app.screen, SearchScreen))
        assert app.ready.clerk.username == "demo"
        assert isinstance(app.screen_stack[-2], DashboardScreen)


async def test_the_demo_account_is_shown_once_the_settings_are_read(make_app) -> None:
    gate = threading.Event()
    app = _opening_slowly(make_app, gate)
    async with app.run_test() as pilot:
        await pilot.pause()
        hint = app.screen.query_one("#demo_hint", Label)
        assert not hint.display
        gate.set()
        await settle(pilot)
        assert hint.display and str(hint.content) == DEMO_HINT
        assert app.sub_title == "请登录" and app.title  # the demo office's name


async def test_the_demo_is_seeded_behind_the_sign_in_screen(make_app) -> None:
    gate = threading.Event()
    # another today than the fixture's seeded copy: the app seeds the demo office itself
    app = _opening_slowly(make_app, gate, today=date(2026, 11, 24))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen) and app.services is None
        await type_text(pilot, "demo")
        await pilot.press("enter")
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        gate.set()
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.ready.clerk.username == "demo"
        assert rows(app.ready.db, "SELECT count(*) FROM person")[0][0] > 0


async def test_a_failed_start_is_said_on_the_sign_in_screen(make_app) -> None:
    gate = threading.Event()
    app = _opening_slowly(make_app, gate, policy="nowhere", demo=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        await type_text(pilot, "demo")
        await pilot.press("enter")
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        await pilot.pause()
        assert _message(app) == OPENING
        gate.set()
        # (not ``settle``: waiting for the workers re-raises the failed start-up's error)
        for _ in range(300):
            if app.start_error:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen) and app.services is None
        message = _message(app)
        assert message.startswith("启动失败：") and "没有这个地区的策略包" in message, message
        assert not app.screen.busy  # the keyboard is the clerk's again
        # Submitting again says the same, and does not wait for a database that will not come.
        await pilot.press("enter")
        await pilot.pause()
        assert _message(app) == message


async def test_wrong_settings_are_named_on_the_sign_in_screen(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_IDLE_LOCK_MINUTES", "0")  # at least 1
    app = make_app()
    async with app.run_test() as pilot:
        for _ in range(300):
            if app.start_error:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen) and app.services is None
        message = _message(app)
        assert message.startswith("启动失败：设置有误"), message
        assert "idle_lock_minutes" in message and "COUNTER_" in message
        app.check_idle_lock()  # the idle timer does not read the broken settings again


async def test_a_new_office_goes_from_the_sign_in_screen_to_the_set_up(make_app) -> None:
    gate = threading.Event()
    app = _opening_slowly(make_app, gate, policy="wuhu", demo=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)
        await type_text(pilot, "wang")
        await pilot.press("enter")
        await type_text(pilot, "secret-pw")
        await pilot.press("enter")
        await type_text(pilot, "more")  # typed ahead for a dashboard that will not come
        gate.set()
        await settle(pilot)
        assert isinstance(app.screen, RegionStep), app.screen
        assert not any(isinstance(screen, SignInScreen) for screen in app.screen_stack)
        assert app.setup_state == (False, False)
        # Nothing typed for the sign-in lands in the set-up's fields.
        assert not app.type_ahead.held
        for field in app.screen.query(Input):
            assert "more" not in field.value and "secret" not in field.value, field.value


async def test_an_encrypted_database_opens_with_the_password_typed_ahead(
    make_app,
    encrypted_office: Path,  # noqa: F811
) -> None:
    gate = threading.Event()
    app = _opening_slowly(make_app, gate, policy="jiangsu", demo=False, db_path=encrypted_office)
    async with app.run_test() as pilot:
        await pilot.pause()
        await type_text(pilot, "demo")
        await pilot.press("enter")
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        await pilot.pause()
        assert _message(app) == OPENING
        gate.set()
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.services is not None and not app.services.db.locked
        assert app.ready.clerk.username == "demo"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], (None, False)),
        (["--demo"], (None, True)),
        (["--policy", "wuhu"], ("wuhu", False)),
        (["--policy=hunan", "--demo"], ("hunan", True)),
        (["--demo", "--policy", "beijing"], ("beijing", True)),
        # everything else is the command line's to read (and to explain)
        (["--help"], None),
        (["--version"], None),
        (["sync", "run"], None),
        (["--policy"], None),
        (["--policy", "--demo"], None),
        (["--policy="], None),
        (["--demo", "--demo"], None),
        (["--policy", "a", "--policy", "b"], None),
        (["--polic", "wuhu"], None),
    ],
)
def test_the_script_starts_the_ui_itself_only_for_the_ui_options(
    args: list[str], expected: tuple[str | None, bool] | None
) -> None:
    assert ui_arguments(args) == expected
