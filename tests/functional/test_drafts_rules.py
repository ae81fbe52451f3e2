"""Drafts only for real work: none for Esc on a first step or a locked change; Home/End in the
list; a draft declined at sign-in is not offered again at the next sign-in (it stays in D)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.drafts import list_drafts, save_draft
from counter_app.storage.filings import as_existing
from counter_app.storage.models import Draft
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.drafts import DraftsScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.wizard.steps import WizardStep
from counter_app.workflows.filings import commit_filing
from tests.functional.conftest import TODAY, engine_for, open_db
from tests.functional.driving import next_step, open_person, settle, sign_in
from tests.functional.test_filing_flows import TEST_ID, _add_person


def _drafts(app) -> list[Draft]:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        drafts = list(session.exec(select(Draft)).all())
    db.close()
    return drafts


async def test_esc_on_the_first_step_leaves_no_draft(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        before = len(_drafts(app))
        for key in ("n", "b"):  # the filing wizard and the claim wizard
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, WizardStep) or "Step" in type(app.screen).__name__
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, PersonScreen), app.screen
        assert len(_drafts(app)) == before


async def test_a_step_forward_keeps_a_draft_and_asks_on_leaving(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        before = len(_drafts(app))
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)
        await pilot.press("escape")  # back to the first step
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert len(_drafts(app)) == before + 1


async def test_a_change_the_rules_lock_leaves_no_draft(make_app) -> None:
    """芜规程 第十条: a long-term filing may change only 6 months after it took effect."""
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        db = open_db(app)
        engine = engine_for("wuhu")
        signed = storage_sign_in(db, "demo", "demo1234")
        assert signed is not None
        request = {
            "policy": "wuhu",
            "action": "new",
            "today": (TODAY - timedelta(days=10)).isoformat(),
            "person": {"name": "测试甲", "id_number": TEST_ID},
            "insurance": "employee",
            "category": "long_term_resident",
            "scope": "cross_province",
            "destination": "460100",
            "materials": ["id_card", "filing_form", "residence_proof"],
            "existing": as_existing([]),
        }
        result = engine.filing(request)
        commit_filing(db, engine, signed, person_id, request, seen=result)
        db.close()
        before = len(_drafts(app))
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("c")
        await settle(pilot)
        await next_step(pilot)
        for _ in range(4):
            if isinstance(app.screen, PersonScreen):
                break
            await pilot.press("y" if isinstance(app.screen, ConfirmDialog) else "escape")
            await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert len(_drafts(app)) == before


async def test_drafts_list_home_and_end(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        db = open_db(app)
        signed = storage_sign_in(db, "demo", "demo1234")
        assert signed is not None
        for i in range(5):
            save_draft(db, signed.clerk_id, "filing", {}, step="0", title=f"草稿{i}")
        db.close()
        await sign_in(pilot)
        if isinstance(app.screen, ConfirmDialog):
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DraftsScreen)
        table = app.screen.query_one("#drafts")
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 > 0
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_a_declined_draft_is_offered_once(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        db = open_db(app)
        signed = storage_sign_in(db, "demo", "demo1234")
        assert signed is not None
        save_draft(db, signed.clerk_id, "filing", {}, step="0", title="新增备案 · 测试")
        db.close()
        await sign_in(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    again = make_app("wuhu")
    async with again.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        assert isinstance(again.screen, DashboardScreen)  # not asked a second time
        db = open_db(again)
        assert [d.title for d in list_drafts(db)] == ["新增备案 · 测试"]  # still in D
        db.close()
