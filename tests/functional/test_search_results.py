"""The search screen's result table (issue 17 item 2): the newest search's answer only.

Each keystroke starts a search in a worker thread; threads answer in any order. A slow search
answering after a faster later one must not overwrite the newer rows, even when both searched the
same text (typed, changed, typed back: the older answer may predate a change to the records).
"""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Input

from counter_app.storage.persons import search_persons
from counter_app.ui.screens.search import SearchScreen
from tests.functional.driving import settle, sign_in, type_text


async def _search_screen(pilot) -> SearchScreen:  # type: ignore[no-untyped-def]
    """Signed in, on the search screen."""
    await sign_in(pilot)
    await pilot.press("slash")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    return screen


def _names(table: DataTable) -> list[str]:
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


async def test_a_late_answer_never_overwrites_a_newer_one(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        screen = await _search_screen(pilot)
        box = screen.query_one("#query", Input)
        table = screen.query_one("#results", DataTable)

        await type_text(pilot, "z")
        await settle(pilot)
        first = screen._asked  # the first search for "z"
        await pilot.press("backspace", "w", "backspace", "z")
        await settle(pilot)
        assert box.value == "z" and screen._asked > first
        newest = _names(table)
        services = app.ready
        other = search_persons(services.db, "w", today=services.today)
        assert other and [row.name for row in other] != [row.name for row in screen.rows]

        # The first "z" search answers only now, with other rows: the same text, but older.
        screen._show(first, "z", other)
        await settle(pilot)
        assert _names(table) == newest
        assert [row.id for row in screen.rows] != [row.id for row in other]

        # An answer for text the box no longer holds is dropped too.
        screen._show(screen._asked, "w", other)
        await settle(pilot)
        assert _names(table) == newest

        # The newest search's own answer is shown (the check above is not vacuous).
        screen._show(screen._asked, "z", other)
        await settle(pilot)
        assert _names(table) == [row.name for row in other]
        assert screen.rows == other


async def test_keys_typed_at_scanner_speed_show_the_last_text_s_results(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        screen = await _search_screen(pilot)
        driver = app._driver
        assert driver is not None
        for char in "zhang":
            driver.send_message(events.Key(char, char))
        for _ in range(4):
            await settle(pilot)
        services = app.ready
        expected = search_persons(services.db, "zhang", today=services.today)
        assert expected  # the demo office has people named 张
        assert screen.query_one("#query", Input).value == "zhang"
        assert [row.id for row in screen.rows] == [row.id for row in expected]
        assert screen.query_one("#results", DataTable).row_count == len(expected)
