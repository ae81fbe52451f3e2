"""Snapshots of the main screens at 80×24 (and the dashboard at 120×36), on a fixed demo office.

Update after an intended change with: ``bash scripts/test.sh tests/functional/test_snapshots.py
--snapshot-update`` and look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from tests.functional.driving import (
    choose_destination,
    fill,
    missing_now,
    next_step,
    open_person,
    settle,
    sign_in,
    tick,
)


async def _steady(pilot: Pilot) -> None:
    await settle(pilot)
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def test_sign_in(snap_compare, make_app) -> None:
    assert snap_compare(make_app("wuhu"), terminal_size=(80, 24), run_before=_steady)


def test_dashboard(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await _steady(pilot)

    assert snap_compare(make_app("wuhu"), terminal_size=(80, 24), run_before=before)


def test_dashboard_large(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await _steady(pilot)

    assert snap_compare(make_app("hunan"), terminal_size=(120, 36), run_before=before)


def test_search_by_pinyin_initials(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"z")
        await _steady(pilot)

    assert snap_compare(make_app("jiangsu"), terminal_size=(80, 24), run_before=before)


def test_wizard_destination_and_verdict(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await open_person(pilot, "zenglei")  # 曾 read zeng as a surname
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)
        await choose_destination(pilot, "hainan")
        await _steady(pilot)

    assert snap_compare(make_app("wuhu"), terminal_size=(80, 24), run_before=before)


def test_wizard_materials_step(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await open_person(pilot, "zenglei")  # 曾 read zeng as a surname
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)
        await choose_destination(pilot, "kunming")
        await next_step(pilot)
        await _steady(pilot)

    assert snap_compare(make_app("beijing"), terminal_size=(80, 24), run_before=before)


def test_claims_queue(snap_compare, make_app) -> None:
    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await pilot.press("l")
        await _steady(pilot)

    assert snap_compare(make_app("jiangsu"), terminal_size=(80, 24), run_before=before)


def test_claim_review(snap_compare, make_app) -> None:
    """The review step of a demo person's claim: the engine's payment line by line."""

    async def before(pilot: Pilot) -> None:
        await sign_in(pilot)
        await open_person(pilot, "曾磊")
        await pilot.press("b")
        await settle(pilot)
        await next_step(pilot)
        await fill(pilot, "admission_date", "2026-10-08")
        await fill(pilot, "discharge_date", "2026-10-20")
        await next_step(pilot)
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)  # no itemised lines
        for name, value in (("total", "12000"), ("in_scope", "10000"), ("self_pay", "2000")):
            await fill(pilot, name, value)
        await next_step(pilot)
        await _steady(pilot)

    assert snap_compare(make_app("hunan"), terminal_size=(80, 24), run_before=before)
