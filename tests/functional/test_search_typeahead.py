"""Scanner-safe search and type-ahead: keys typed while a screen opens land where meant."""

from __future__ import annotations

from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.search import SearchScreen
from tests.functional.driving import settle, sign_in, type_text
from tests.functional.test_filing_flows import TEST_ID, _add_person


def _blast(pilot: Pilot, keys: list[str]) -> None:
    """Send keys to the driver without waiting between them, as a fast typist or a scanner does."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else None
        name = {"/": "slash", " ": "space"}.get(key, key)
        driver.send_message(events.Key(name, character if name != "tab" else "\t"))


def _chars(text: str) -> list[str]:
    return list(text)


async def test_sign_in_typed_ahead_while_the_database_opens(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        # Straight away: the start-up worker has not opened the database yet.
        _blast(pilot, [*_chars("demo"), "tab", *_chars("demo1234"), "enter"])
        # The sign-in's password check (argon2) runs in a worker after the database opens; on a
        # loaded machine that takes more rounds, so wait (boundedly) for the dashboard.
        for _ in range(60):
            await settle(pilot)
            if isinstance(app.screen, DashboardScreen):
                break
        assert isinstance(app.screen, DashboardScreen), app.screen
        assert app.ready.clerk.username == "demo"


async def test_search_typed_ahead_right_after_slash(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        _add_person(app)
        await sign_in(pilot)
        _blast(pilot, ["/", *_chars(TEST_ID), "enter"])
        for _ in range(4):
            await settle(pilot)
        assert isinstance(app.screen, PersonScreen), app.screen


async def test_a_scan_after_returning_from_a_person_replaces_the_old_text(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "z")  # several hits: Enter moves focus to the results
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.focused, DataTable), (app.screen, app.focused, app.screen.rows)
        await pilot.press("enter")  # opens the first hit
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        await pilot.press("escape")
        await settle(pilot)
        search = app.screen
        assert isinstance(search, SearchScreen)
        box = search.query_one("#query", Input)
        assert app.focused is box and box.selected_text == "z"
        # Even with the results focused, a scan goes to the box and replaces the old text.
        await pilot.press("down")
        assert isinstance(app.focused, DataTable)
        await type_text(pilot, TEST_ID)
        assert box.value == TEST_ID
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert app.screen.person_id == person_id
        # Esc back: the box has focus with the number selected; the next scan replaces it.
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is search
        assert app.focused is box
        assert box.selected_text == TEST_ID
        await type_text(pilot, TEST_ID)
        assert box.value == TEST_ID
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert app.screen.person_id == person_id


async def test_slash_and_f2_put_focus_in_the_box(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await sign_in(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "z")
        await settle(pilot)
        box = app.screen.query_one("#query", Input)
        for key in ("slash", "f2"):
            await pilot.press("down")
            assert isinstance(app.focused, DataTable)
            await pilot.press(key)
            assert app.focused is box
            assert box.selected_text == "z"


async def _hits(pilot: Pilot, query: str) -> list[str]:
    await pilot.press("slash")
    await settle(pilot)
    await type_text(pilot, query)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    return [row.name for row in screen.rows]


async def test_a_single_character_of_the_given_name_finds_people(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        _add_person(app, "李秀霞")
        await sign_in(pilot)
        names = await _hits(pilot, "霞")
        assert "李秀霞" in names  # the character is inside the name, not its start
        assert all("霞" in name for name in names)


async def test_spaced_full_pinyin_finds_people(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        _add_person(app, "赵霞")
        await sign_in(pilot)
        assert "赵霞" in await _hits(pilot, "zhao xia")
