"""Keyboard-only helpers for Pilot tests: sign in, find a person, walk the wizards, fill forms."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, SelectionList
from textual.worker import WorkerCancelled

from counter_app.ui.wizard.steps import WizardStep


async def settle(pilot: Pilot) -> None:
    """Let workers finish and messages flow (instead of sleeping).

    A table measures its new rows when its message queue goes idle; on a loaded machine that can
    come after the pauses above, so wait (a bounded number of pauses) until every table of the
    screen has measured its rows — a snapshot taken earlier shows columns as wide as their headers.
    """
    for _ in range(3):
        for _ in range(20):
            try:
                await pilot.app.workers.wait_for_complete()
                break
            except WorkerCancelled:
                # An exclusive worker was replaced by a newer one of its group (a search typed
                # ahead): wait for the others.
                continue
        await pilot.pause()
    for _ in range(50):
        if not any(
            table._require_update_dimensions or table._updated_cells
            for table in pilot.app.screen.query(DataTable)
        ):
            break
        await pilot.pause()


async def type_text(pilot: Pilot, text: str) -> None:
    """Type text key by key (Chinese included)."""
    await pilot.press(*text)


async def sign_in(pilot: Pilot, username: str = "demo", password: str = "demo1234") -> None:
    """Sign in from the sign-in screen."""
    await settle(pilot)
    await type_text(pilot, username)
    await pilot.press("enter")
    await type_text(pilot, password)
    await pilot.press("enter")
    await settle(pilot)


async def open_person(pilot: Pilot, query: str) -> None:
    """From the dashboard: search and open the single hit."""
    await pilot.press("slash")
    await settle(pilot)
    await type_text(pilot, query)
    await pilot.press("enter")
    await settle(pilot)


async def choose_destination(pilot: Pilot, query: str) -> None:
    """On the destination step: type, then Enter twice (to the list, pick the first)."""
    await type_text(pilot, query)
    await settle(pilot)
    await pilot.press("enter")
    await pilot.press("enter")
    await settle(pilot)


async def tick(pilot: Pilot, materials: list[str]) -> None:
    """On the materials step: Tab to the checklist, move to each material and press space."""
    screen = pilot.app.screen
    assert isinstance(screen, WizardStep)
    selection = screen.query_one(SelectionList)
    if not selection.has_focus:
        await pilot.press("tab")
    for material in materials:
        index = next(
            i
            for i in range(selection.option_count)
            if selection.get_option_at_index(i).value == material
        )
        current = selection.highlighted or 0
        key = "down" if index > current else "up"
        for _ in range(abs(index - current)):
            await pilot.press(key)
        await pilot.press("space")
        await pilot.pause()


def missing_now(pilot: Pilot) -> list[str]:
    """What the engine says is still missing on the current step."""
    screen = pilot.app.screen
    assert isinstance(screen, WizardStep)
    outcome = screen.state.evaluate(screen.services)
    assert not isinstance(outcome, list), outcome
    return list(outcome.missing)


async def next_step(pilot: Pilot) -> None:
    """F10."""
    await pilot.press("f10")
    await settle(pilot)


async def focus(pilot: Pilot, widget_id: str, limit: int = 40) -> None:
    """Tab until the widget ``widget_id`` has focus (as a clerk would)."""
    for _ in range(limit):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"could not tab to #{widget_id}")


async def choose(pilot: Pilot, widget_id: str, value: object) -> None:
    """Pick ``value`` in a Select: Tab to it, Enter opens the list, arrows, Enter."""
    await focus(pilot, widget_id)
    select = pilot.app.screen.query_one(f"#{widget_id}", Select)
    if select.value == value:
        return
    values = [v for _, v in select._options]
    current, target = values.index(select.value), values.index(value)
    await pilot.press("enter")
    await pilot.pause()
    key = "down" if target > current else "up"
    for _ in range(abs(target - current)):
        await pilot.press(key)
    await pilot.press("enter")
    await settle(pilot)
    assert select.value == value, (widget_id, select.value, value)


async def toggle(pilot: Pilot, widget_id: str) -> None:
    """Tab to a checkbox and press space."""
    await focus(pilot, widget_id)
    await pilot.press("space")
    await pilot.pause()


async def fill(pilot: Pilot, widget_id: str, text: str) -> None:
    """Tab to an input, clear it with backspace, type ``text``."""
    await focus(pilot, widget_id)
    field = pilot.app.screen.query_one(f"#{widget_id}", Input)
    await pilot.press("end", *["backspace"] * len(field.value))
    await type_text(pilot, text)
    await pilot.pause()
