"""Filing flows: the review shows the end date and the materials ticked; a cancel asks only what
a cancel needs; a refusal says why in words."""

from __future__ import annotations

from textual.widgets import Label

from counter_app.ui.filings.steps import MaterialsStep, ReviewStep
from tests.functional.driving import (
    choose_destination,
    missing_now,
    next_step,
    settle,
    tick,
)
from tests.functional.test_filing_flows import _add_person, _add_temporary, _to_person


def _review_text(pilot) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(label.render()) for label in pilot.app.screen.query(".review-line"))


async def test_review_shows_end_date_and_materials(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        _add_person(app)
        await _to_person(pilot)
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)
        await choose_destination(pilot, "hainan")
        await next_step(pilot)
        materials = missing_now(pilot)
        await tick(pilot, materials)
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(app.screen, ReviewStep)
        text = _review_text(pilot)
        assert "结束日期：" in text
        labels = app.ready.engine.pack.material_labels
        assert all(labels.get(m, m) in text for m in materials)


async def test_cancel_asks_only_what_a_cancel_needs(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        _add_temporary(app, person_id, "wuhu")
        await _to_person(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, MaterialsStep)
        assert not app.screen.query("#basis")  # no 备案依据 for a cancel
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        assert isinstance(app.screen, ReviewStep)
        text = _review_text(pilot)
        assert "取消" in text and "已收材料" in text
        assert "备案依据" not in text and "人员类别" not in text
        message = app.screen.query_one("#commit_message", Label)
        assert "规则判断不允许办理" not in str(message.render())
