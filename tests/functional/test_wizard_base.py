"""The wizard base and typed navigation: typed steps, one step order, messages the app handles,
the one worker-state handler for ``CounterError``, one load helper, and the rules screen asking
what the filing wizard asks on the app's business date."""

from __future__ import annotations

import contextlib
import inspect
import re
import threading
from datetime import date
from pathlib import Path
from typing import ClassVar, get_args

from textual.widgets import Checkbox, Input, Select
from textual.worker import WorkerFailed

from counter_app.domain.errors import CounterError
from counter_app.domain.results import ClaimResult, FilingResult
from counter_app.ui.claims.page import ClaimScreen
from counter_app.ui.claims.state import ClaimState
from counter_app.ui.claims.steps import STEPS as CLAIM_STEPS
from counter_app.ui.claims.steps import CaseStep, ClaimStep
from counter_app.ui.filings.state import FilingState
from counter_app.ui.filings.steps import FLAGS, STEPS, CategoryStep, FilingStep
from counter_app.ui.messages import OpenClaim, OpenPerson, StartClaim, StartFiling
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.filing_rules import FilingRulesScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.widgets.verdict import Verdict
from counter_app.ui.workers import load_in_worker, run_in_worker
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import settle, sign_in
from tests.functional.test_filing_flows import _add_person

UI = Path(__file__).resolve().parents[2] / "counter_app" / "ui"


# -- typed steps, one order ---------------------------------------------------------------


def test_each_flow_s_steps_are_typed_by_its_state_and_result() -> None:
    assert get_args(FilingStep.__orig_bases__[0]) == (FilingState, FilingResult)  # type: ignore[attr-defined]
    assert get_args(ClaimStep.__orig_bases__[0]) == (ClaimState, ClaimResult)  # type: ignore[attr-defined]
    for steps in STEPS.values():
        assert all(issubclass(step, FilingStep) for step in steps)
    assert all(issubclass(step, ClaimStep) for step in CLAIM_STEPS)
    assert "type: ignore" not in inspect.getsource(ClaimStep)


def test_the_step_order_is_written_once() -> None:
    every = [*CLAIM_STEPS, *(s for steps in STEPS.values() for s in steps)]
    assert not any(hasattr(step, "LATER") for step in every)
    source = "".join(p.read_text(encoding="utf-8") for p in UI.rglob("*.py"))
    assert not re.search(r"\.LATER\s*=", source)


def test_transient_fields_stay_out_of_the_draft() -> None:
    state = ClaimState(person_id=1, person_name="甲", person_id_number="x", values={}, step=2)
    state.draft_id, state.accept_on_arrival = 7, True
    data = state.to_draft()
    assert "draft_id" not in data and "accept_on_arrival" not in data
    back = ClaimState.from_draft(data, 7)
    assert back == state.__class__(**{**data, "draft_id": 7}) and back.step == 2
    assert back.draft_id == 7 and back.accept_on_arrival is False


def test_no_screen_calls_the_app_by_an_untyped_name() -> None:
    untyped = [
        f"{path.name}: {line.strip()}"
        for path in UI.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"self\.app\.\w+\(.*type: ignore\[attr-defined\]", line)
    ]
    assert untyped == []


# -- navigation messages --------------------------------------------------------------------


async def test_screens_post_messages_the_app_handles(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        person_id = _add_person(app)
        assert isinstance(app.screen, DashboardScreen)
        app.screen.post_message(OpenPerson(person_id))
        await settle(pilot)
        page = app.screen
        assert isinstance(page, PersonScreen) and page.person_id == person_id
        assert page.person is not None

        page.post_message(StartFiling(page.person, "new", None, page.filings))
        await settle(pilot)
        step = app.screen
        assert isinstance(step, CategoryStep) and step.state.action == "new"
        # The pending fields come from the one list: what the later steps of "new" fill in.
        assert step.later == tuple(STEPS["new"][1:])
        assert step.pending_fields() == {"destination", "start_date", "end_date"}
        await pilot.press("escape")  # the first step: leave without a draft
        await settle(pilot)
        assert app.screen is page

        page.post_message(StartClaim(page.person, page.filings))
        await settle(pilot)
        assert isinstance(app.screen, CaseStep) and app.screen.index == 0


async def test_a_message_posted_from_a_worker_thread_reaches_the_app(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        from counter_app.storage.claims import claim_queue

        number = claim_queue(db, TODAY)[0].number
        db.close()
        screen = app.screen
        thread = threading.Thread(target=lambda: screen.post_message(OpenClaim(number)))
        thread.start()
        thread.join()
        await settle(pilot)
        assert isinstance(app.screen, ClaimScreen) and app.screen.number == number


# -- the one worker-state handler and the one load helper ------------------------------------


class _ShutterClosed(CounterError):
    title: ClassVar[str] = "窗口已关闭"


async def test_a_counter_error_in_a_worker_is_shown_in_chinese_under_its_heading(
    make_app,
) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)

        def fail() -> None:
            raise _ShutterClosed("今日窗口已关闭，请明日再办")

        # A screen's worker: Textual's state change stays on the screen; the app is told.
        worker = run_in_worker(app.screen, fail, group="t", description="读取测试")
        with contextlib.suppress(WorkerFailed):
            await worker.wait()
        for _ in range(3):
            await pilot.pause()
        shown = [(n.title, n.message) for n in app._notifications]
        assert ("窗口已关闭", "读取测试失败：今日窗口已关闭，请明日再办") in shown
        assert isinstance(app.screen, DashboardScreen)  # the app carries on


async def test_an_older_load_replaced_by_a_newer_one_is_not_shown(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        gate, shown = threading.Event(), []

        def slow() -> str:
            gate.wait(10)
            return "旧"

        load_in_worker(app.screen, slow, shown.append, group="t", description="读取")
        await pilot.pause()
        load_in_worker(app.screen, lambda: "新", shown.append, group="t", description="读取")
        await pilot.pause()
        gate.set()
        await settle(pilot)
        assert shown == ["新"]


# -- the rules screen asks what the wizard asks ---------------------------------------------


async def _rules(pilot) -> FilingRulesScreen:  # type: ignore[no-untyped-def]
    await sign_in(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FilingRulesScreen)
    return screen


async def test_the_rules_screen_offers_the_wizard_s_circumstances(make_app) -> None:
    app = make_app("hunan")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _rules(pilot)
        offered = {box.id for box in screen.query(Checkbox)}
        # the wizard's common circumstances, 医院一站式转诊 included, and 湘办法 第十二条's one
        assert {flag for flag, _ in FLAGS} | {"continued_treatment"} <= offered
        assert screen.query_one("#referral_one_stop", Checkbox).region.height == 1  # in view
        screen.query_one("#category", Select).value = "referral"
        screen.query_one("#destination", Input).value = "460100"  # 海口: cross-province
        await pilot.pause()
        verdict = screen.query_one(Verdict)
        assert "转诊转院证明材料" in str(verdict.render())
        # 湘办法 第九条（四）: a referral through the hospital's one-stop service needs no
        # referral certificate.
        screen.query_one("#referral_one_stop", Checkbox).value = True
        await pilot.pause()
        assert screen._request()["referral_one_stop"] is True
        assert "转诊转院证明材料" not in str(verdict.render())


async def test_the_rules_screen_decides_on_the_app_s_business_date(make_app) -> None:
    business = date(2025, 6, 30)
    app = make_app("wuhu", today=business)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _rules(pilot)
        assert screen._request()["today"] == business.isoformat()
        screen.query_one("#scope", Select).value = "in_province"
        screen.query_one("#destination", Input).value = "340100"
        for material in ("id_card", "filing_form", "residence_proof"):
            screen.query_one("#materials").select(material)  # type: ignore[attr-defined]
        await pilot.pause()
        text = str(screen.query_one(Verdict).render())
        assert "可以办理" in text, text
        assert f"有效期：{business}" in text


def test_rules_screen_and_wizard_share_one_option_list() -> None:
    rules_source = Path(inspect.getfile(FilingRulesScreen)).read_text(encoding="utf-8")
    assert "region_flags" in rules_source and "date.today()" not in rules_source
    assert "职工医保" not in rules_source  # the labels come from one place (ui.services)
