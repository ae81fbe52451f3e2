"""Every screen at 80×24 and 100×30, checked by what it renders (not only by snapshots).

On each screen: no ASCII word from Textual's built-ins and no raw stored code; the 更多 (F1) key
is in the footer and every footer key is whole; every key the counter defines on the screen is in
the footer or in the 更多 list; drop-down and checklist labels fit whole; no line starts with
``、`` or ``）`` (a badly wrapped line); every table is a ``CounterTable`` and no header or cell
holds an ambiguous-width character or a line break (so headers align with their rows).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Checkbox, DataTable, Select, SelectionList
from textual.widgets._footer import FooterKey

from counter_app.ui.dialogs.keys import KeysDialog
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.lock import LockScreen
from counter_app.ui.screens.office import OfficeScreen
from counter_app.ui.widgets.footer import MORE_ACTION, KeysFooter, screen_keys
from counter_app.ui.widgets.table import CounterTable, is_ambiguous
from tests.functional.driving import choose, choose_destination, fill, settle, sign_in, type_text
from tests.functional.screen_text import (
    bad_line_starts,
    english_words,
    region_lines,
    screen_lines,
)
from tests.functional.test_claim_flows import scenarios
from tests.functional.test_lock_screen import unlock

SIZES = [(80, 24), (100, 30)]


def problems(pilot: Pilot, where: str) -> list[str]:
    """What is wrong on the current screen."""
    app = pilot.app
    screen = app.screen
    lines = screen_lines(app)
    found: list[str] = []
    words = english_words(lines)
    if words:
        found.append(f"{where}: English words {sorted(words)}")
    found += [
        f"{where}: wrapped line starts badly: {line.strip()!r}" for line in bad_line_starts(lines)
    ]
    if lines and lines[0].rstrip().endswith("…") and not isinstance(screen, ModalScreen):
        found.append(f"{where}: header cut: {lines[0].strip()}")
    footers = list(screen.query(KeysFooter))
    if not isinstance(screen, ModalScreen):
        if not footers:
            found.append(f"{where}: no footer")
        for footer in footers:
            keys = list(footer.query(FooterKey))
            if not keys or keys[0].action != MORE_ACTION:
                found.append(f"{where}: 更多 is not the first footer key")
            for key in keys:
                if key.region.right > app.size.width or key.region.width < cell_len(
                    key.description
                ):
                    found.append(f"{where}: footer key cut: {key.description}")
        entries = screen_keys(screen)
        if any(e.action == MORE_ACTION for e in entries) is False:
            found.append(f"{where}: no 更多 key")
    for select in screen.query(Select):
        if not select.display or select.value is Select.BLANK:
            continue
        label = select.query_one("#label")
        prompt = next(str(p) for p, v in select._options if v == select.value)
        # A wrapped CJK line may leave its last cell empty.
        room = (
            label.size.width
            if label.size.height == 1
            else (label.size.width - 1) * label.size.height
        )
        if cell_len(prompt) > room:
            found.append(f"{where}: drop-down label cut: {prompt}")
    for checklist in screen.query(SelectionList):
        if any("…" in line for line in region_lines(app, checklist.region)):
            found.append(f"{where}: checklist label cut")
    for table in screen.query(DataTable):
        # Headers line up with their rows only when no cell holds a character whose width
        # depends on the terminal, or a line break.
        if not isinstance(table, CounterTable):
            found.append(f"{where}: table #{table.id} is not a CounterTable")
        cells = [str(column.label) for column in table.columns.values()]
        cells += [str(cell) for row in range(table.row_count) for cell in table.get_row_at(row)]
        for text in cells:
            if any(is_ambiguous(c) for c in text) or "\n" in text:
                found.append(f"{where}: table #{table.id} cell breaks alignment: {text!r}")
    for box in screen.query(Checkbox):
        if box.display and cell_len(str(box.label)) + 4 > box.size.width:
            found.append(f"{where}: checkbox label cut: {box.label}")
    return found


async def back_to_dashboard(pilot: Pilot) -> None:
    """Esc until the dashboard (answering Y when asked whether to leave)."""
    for _ in range(20):  # the claim wizard's seven steps, the person, the search
        if isinstance(pilot.app.screen, DashboardScreen):
            return
        key = "y" if type(pilot.app.screen).__name__ == "ConfirmDialog" else "escape"
        await pilot.press(key)
        await settle(pilot)
    raise AssertionError(f"stuck on {pilot.app.screen}")


Step = Callable[[Pilot], Awaitable[None]]
Visit = Callable[..., Awaitable[None]]


async def _keys(pilot: Pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


#: The tour in three legs, each from the dashboard back to it (run as separate tests, so the
#: tour spreads over the test workers): together they visit every screen.
LEGS = ["dashboard", "person", "claim_wizard"]


async def tour(pilot: Pilot, leg: str) -> list[str]:
    """Visit every screen of one leg of the tour by keyboard; return what is wrong on each."""
    found: list[str] = []

    async def visit(where: str, *keys: str) -> None:
        await _keys(pilot, *keys)
        found.extend(problems(pilot, where))

    await settle(pilot)
    if leg == "dashboard":
        found += problems(pilot, "sign-in")
    await sign_in(pilot)
    if leg == "dashboard":
        await dashboard_leg(pilot, visit)
    elif leg == "person":
        await person_leg(pilot, visit)
    else:
        await claim_wizard_leg(pilot, visit, found)
    await back_to_dashboard(pilot)
    return found


async def dashboard_leg(pilot: Pilot, visit: Visit) -> None:
    """The dashboard, its dialogs and lists, a claim from the queue, the lock screen."""
    await visit("dashboard")
    await visit("更多 dialog", "f1")
    assert isinstance(pilot.app.screen, KeysDialog)
    await _keys(pilot, "escape")
    for key, where in [
        ("d", "drafts"),
        ("r", "rules"),
        ("l", "claims queue"),
        ("s", "sync"),
        ("o", "applications"),
        ("j", "day close"),
        ("f9", "print queue"),
    ]:
        await visit(where, key)
        await back_to_dashboard(pilot)
    await visit("claims queue rows", "l", "tab", "enter")
    await visit("claim page", "enter")
    claim_page = pilot.app.screen
    await visit("claim documents", "g")
    await _keys(pilot, "escape")
    assert pilot.app.screen is claim_page
    await _keys(pilot, "f8")
    for _ in range(40):  # the documents are read in a worker thread
        if type(pilot.app.screen).__name__ == "PrintScreen":
            break
        await pilot.pause(0.05)
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "PrintScreen", pilot.app.screen
    await visit("claim print")
    await back_to_dashboard(pilot)
    await _keys(pilot, "o")
    if pilot.app.screen.query(DataTable).first().row_count:
        await visit("online application detail", "enter")
    await back_to_dashboard(pilot)
    await visit("lock screen", "ctrl+l")
    assert isinstance(pilot.app.screen, LockScreen)
    await unlock(pilot)


async def person_leg(pilot: Pilot, visit: Visit) -> None:
    """A person found by search, the person forms, the palette, the filing wizard (the print
    screen is visited from a claim in the dashboard leg)."""
    await _keys(pilot, "slash")
    await type_text(pilot, "z")
    await visit("search")
    await visit("person", "enter", "enter")
    await visit("person form", "e")
    await _keys(pilot, "escape")
    await visit("person 更多", "f1")
    await _keys(pilot, "escape")
    assert type(pilot.app.screen).__name__ == "PersonScreen"
    await _keys(pilot, "escape")
    await visit("new person form", "f3")  # from the search screen
    await _keys(pilot, "escape", "enter", "enter")
    await visit("palette", "ctrl+p")
    await _keys(pilot, "escape")
    await visit("filing wizard: category", "n")
    await visit("filing wizard: destination", "f10")
    await type_text(pilot, "hainan")
    await choose_destination(pilot, "")
    await visit("filing wizard: materials", "f10")
    await visit("filing wizard: dates", "f10")
    await visit("filing wizard: review", "f10")


async def claim_wizard_leg(pilot: Pilot, visit: Visit, found: list[str]) -> None:
    """Every step of the claim wizard of a person found by search."""
    await _keys(pilot, "slash")
    await type_text(pilot, "z")
    await _keys(pilot, "enter", "enter")
    await visit("claim wizard: first step", "b")
    await visit("claim wizard: treatment", "f10")
    scenario = scenarios("jiangsu")[0]
    await choose(pilot, "treatment", scenario.treatment)
    await choose(pilot, "hospital_level", scenario.level)
    for name in ("admission", "discharge", "visit"):
        if getattr(scenario, name):
            await fill(pilot, f"{name}_date", getattr(scenario, name))
    await visit("claim wizard: flags", "f10")
    await visit("claim wizard: materials", "f10")
    await visit("claim wizard: lines", "f10")
    await visit("claim wizard: amounts", "f10")
    for name, value in scenario.amounts.items():
        await fill(pilot, name, value)
    found.extend(problems(pilot, "claim wizard: amounts filled"))
    await visit("claim wizard: review", "f10")
    assert type(pilot.app.screen).__name__ == "ClaimReviewStep", pilot.app.screen


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_supervisor_screens_whole_and_in_chinese(make_app, size: tuple[int, int]) -> None:
    """The office details screen (supervisors only) and the day close as a supervisor."""
    app = make_app("jiangsu")
    async with app.run_test(size=size) as pilot:
        await sign_in(pilot, "admin", "admin1234")
        if type(app.screen).__name__ == "ConfirmDialog":
            await _keys(pilot, "n")
        found = problems(pilot, "supervisor dashboard")
        app.action_office()
        await settle(pilot)
        assert isinstance(app.screen, OfficeScreen)
        found += problems(pilot, "office details")
        await back_to_dashboard(pilot)
        await _keys(pilot, "j")
        found += problems(pilot, "day close (supervisor)")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("leg", LEGS)
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_every_screen_whole_and_in_chinese(make_app, size: tuple[int, int], leg: str) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=size) as pilot:
        found = await tour(pilot, leg)
    assert found == [], "\n".join(found)


async def test_more_lists_every_key_of_the_screen_and_runs_one(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await _keys(pilot, "slash")
        await type_text(pilot, "z")
        await _keys(pilot, "enter", "enter")
        person = app.screen
        footer = [key.description for key in person.query(FooterKey)]
        expected = {e.description for e in screen_keys(person)} - {"更多"}
        assert {"打印", "锁屏", "显示证件号"} <= expected
        await _keys(pilot, "f1")
        dialog = app.screen
        assert isinstance(dialog, KeysDialog)
        listed = {e.description for e in dialog.entries}
        assert listed == expected  # footer keys and the ones that did not fit
        assert set(footer) - {"更多"} <= listed
        # Enter on 显示证件号 runs it on the person page.
        index = next(i for i, e in enumerate(dialog.entries) if e.description == "显示证件号")
        await _keys(pilot, *["down"] * index, "enter")
        assert app.screen is person
        assert person.revealed
