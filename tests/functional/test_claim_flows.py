"""零星报销 by keyboard for every region: each case and kind of treatment through to settlement.

Each claim is taken in on the person page (B), walked through the wizard, accepted, then found in
the claims queue (L on the dashboard), reviewed (A) and settled (S, Y). The stored claim must hold
exactly the engine's answer to the stored request: the same result, fund total, personal cash and
due date. A second test saves an incomplete claim, shows the 一次性告知书, resumes it from the queue
and accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlmodel import select
from textual.widgets import DataTable, Input, Label

from counter_app.domain.results import ClaimResult
from counter_app.storage.claims import claim_queue
from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.models import (
    AuditLog,
    Claim,
    ClaimHistory,
    ClaimLine,
    Draft,
    OutboxEvent,
)
from counter_app.storage.persons import save_person
from counter_app.ui.claims.documents import DocumentScreen
from counter_app.ui.claims.page import ClaimScreen
from counter_app.ui.claims.queue import ClaimsQueueScreen
from counter_app.ui.claims.steps import (
    AmountsStep,
    ClaimMaterialsStep,
    ClaimReviewStep,
    FlagsStep,
    LinesStep,
    TreatmentStep,
    error_id,
)
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.printing import PrintScreen
from tests.functional.conftest import TODAY, engine_for, open_db
from tests.functional.driving import (
    choose,
    fill,
    missing_now,
    next_step,
    open_person,
    settle,
    sign_in,
    tick,
    toggle,
)

POLICIES = ["jiangsu", "beijing", "wuhu", "hunan"]
TEST_ID = "11010519491231002X"


@dataclass(frozen=True)
class Scenario:
    """One claim as the clerk takes it in."""

    case: str  # the case the engine must find (chosen explicitly when ``state_case``)
    filing: str
    treatment: str
    amounts: dict[str, str]
    state_case: bool = False
    flags: tuple[str, ...] = ()
    level: int = 3
    admission: str | None = "2026-10-08"
    discharge: str | None = "2026-10-20"
    visit: str | None = None
    insurance: str = "employee"
    extra: dict[str, str] = field(default_factory=dict)


INPATIENT = {"total": "32000", "in_scope": "28000", "class_b_self": "1500",
             "over_limit_self": "500", "self_pay": "2000"}  # fmt: skip
OUTPATIENT = {"total": "860.5", "in_scope": "800.5", "self_pay": "60"}


def scenarios(policy: str) -> list[Scenario]:
    """Every case of the region's pack and every kind of treatment at least once."""
    cases = {c.id for c in engine_for(policy).pack.claim.cases}
    plan = [
        Scenario("filed_not_settled", "long_term", "inpatient", INPATIENT),
        Scenario(
            "emergency_unfiled",
            "none",
            "emergency",
            {"total": "5600", "in_scope": "5000", "self_pay": "600"},
            flags=("rescue",),
            level=2,
            admission=None,
            discharge=None,
            visit="2026-11-02",
        ),
        Scenario(
            "other",
            "none",
            "outpatient",
            OUTPATIENT,
            level=1,
            admission=None,
            discharge=None,
            visit="2026-11-10",
            insurance="resident",
        ),
        Scenario(
            "maternity" if "maternity" in cases else "filed_not_settled",
            "other_temporary",
            "maternity",
            {"total": "7800", "in_scope": "7000", "self_pay": "800"},
            state_case="maternity" in cases,
            admission="2026-09-28",
            discharge="2026-10-03",
        ),
    ]
    if "student_vacation" in cases:
        plan.append(
            Scenario(
                "student_vacation",
                "none",
                "outpatient",
                OUTPATIENT,
                state_case=True,
                admission=None,
                discharge=None,
                visit="2026-08-05",
                insurance="resident",
            )
        )
    assert {s.case for s in plan} == cases
    return plan


def _add_person(app) -> int:  # type: ignore[no-untyped-def]
    db = open_db(app)
    signed = storage_sign_in(db, "demo", "demo1234")
    assert signed is not None
    person_id = save_person(
        db, signed.clerk_id, name="测试甲", id_number=TEST_ID, insurance="employee", today=TODAY
    )
    db.close()
    return person_id


async def take_in(pilot, scenario: Scenario, *, complete: bool = True, hospital=None) -> None:  # type: ignore[no-untyped-def]
    """From the person page: B, then every step of the wizard, to the review step."""
    await pilot.press("b")
    await settle(pilot)
    # 情形
    if scenario.state_case:
        await choose(pilot, "case", scenario.case)
    await choose(pilot, "insurance", scenario.insurance)
    await choose(pilot, "filing", scenario.filing)
    await next_step(pilot)
    # 就医情况
    await choose(pilot, "treatment", scenario.treatment)
    await choose(pilot, "hospital_level", scenario.level)
    for name, value in (
        ("admission_date", scenario.admission),
        ("discharge_date", scenario.discharge),
        ("visit_date", scenario.visit),
    ):
        if value:
            await fill(pilot, name, value)
    for name, value in (hospital or {}).items():  # optional, for the settlement slip
        await fill(pilot, f"hospital_{name}", value)
    await next_step(pilot)
    # 特殊情况
    for flag in scenario.flags:
        await toggle(pilot, flag)
    await next_step(pilot)
    # 材料
    assert isinstance(pilot.app.screen, ClaimMaterialsStep)
    wanted = missing_now(pilot)
    await tick(pilot, wanted if complete else wanted[:1])
    await next_step(pilot)
    await next_step(pilot)  # 明细: none
    # 金额
    assert isinstance(pilot.app.screen, AmountsStep)
    for name, value in scenario.amounts.items():
        await fill(pilot, name, value)
    await next_step(pilot)
    assert isinstance(pilot.app.screen, ClaimReviewStep), type(pilot.app.screen)


async def open_from_queue(pilot, number: str) -> ClaimScreen:  # type: ignore[no-untyped-def]
    """(Dashboard → L →) the claim's row in the queue → Enter."""
    while not isinstance(pilot.app.screen, ClaimsQueueScreen | DashboardScreen):
        await pilot.press("escape")
        await settle(pilot)
    if isinstance(pilot.app.screen, DashboardScreen):
        await pilot.press("l")
        await settle(pilot)
    queue = pilot.app.screen
    assert isinstance(queue, ClaimsQueueScreen)
    index = [r.number for r in queue.rows].index(number)
    current = queue.query_one(DataTable).cursor_row
    for _ in range(abs(index - current)):
        await pilot.press("down" if index > current else "up")
    await pilot.press("enter")
    await settle(pilot)
    page = pilot.app.screen
    assert isinstance(page, ClaimScreen) and page.number == number
    return page


def assert_stored_is_the_engine_answer(app, claim: Claim) -> ClaimResult:  # type: ignore[no-untyped-def]
    engine = engine_for(app.settings.policy)
    result = engine.claim(claim.request)
    assert claim.result == result.model_dump(mode="json")
    assert result.payment is not None and result.due is not None
    assert claim.total == Decimal(claim.request["amounts"]["total"])
    assert (claim.fund_total, claim.personal_cash) == (
        result.payment.fund_total,
        result.payment.personal_cash,
    )
    assert claim.total == claim.fund_total + claim.personal_cash
    assert claim.due_date == result.due.date
    assert claim.cost_check_candidate == result.cost_check_candidate
    return result


@pytest.mark.parametrize("half", [0, 1])
@pytest.mark.parametrize("policy", POLICIES)
async def test_every_case_and_treatment_through_to_settlement(
    make_app, policy: str, half: int
) -> None:
    # The region's scenarios in two halves, each run for one person (so the later claims are
    # recalculated when an earlier one settles): together every case and treatment, in half
    # the time each, on two test workers.
    app = make_app(policy)
    plan = scenarios(policy)[half::2]
    assert len(plan) >= 2
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        numbers = []
        for scenario in plan:
            assert isinstance(pilot.app.screen, PersonScreen)
            await take_in(pilot, scenario)
            await pilot.press("f10")  # 受理
            await settle(pilot)
            assert isinstance(pilot.app.screen, DocumentScreen), pilot.app.screen
            assert pilot.app.screen.document["kind"] == "acceptance_receipt"
            numbers.append(pilot.app.screen.document["number"])
            await pilot.press("escape")  # back on the person page
            await settle(pilot)
        for number in numbers:
            page = await open_from_queue(pilot, number)
            for key, words in (("a", "已审核"), ("s", "已结算")):  # 审核, 结算: both confirmed
                await pilot.press(key)
                await settle(pilot)
                dialog = pilot.app.screen
                assert isinstance(dialog, ConfirmDialog), dialog
                said = dialog.question + dialog.detail
                assert number in said and words in said and "基金支付" in said
                assert "事件" not in said  # plain words, not the outbox's
                await pilot.press("y")
                await settle(pilot)
            assert page.view is not None
            if page.view.claim.status == "reviewing":
                # An earlier claim of the person was settled since this one was taken: the
                # settlement recalculated it on the new year-to-date figures; settle those.
                assert [h.action for h in page.view.history][-1] == "recalculate"
                await pilot.press("s", "y")
                await settle(pilot)
            assert page.view.claim.status == "settled"

    db = open_db(app)
    with db.read() as session:
        claims = session.exec(select(Claim).where(Claim.person_id == person_id)).all()
        assert [c.status for c in claims] == ["settled"] * len(plan)
        for claim, scenario in zip(claims, plan, strict=True):
            result = assert_stored_is_the_engine_answer(app, claim)
            assert (result.case, claim.treatment) == (scenario.case, scenario.treatment)
            history = session.exec(
                select(ClaimHistory.action).where(ClaimHistory.claim_id == claim.id)
            ).all()
            assert [a for a in history if a != "recalculate"] == ["accept", "review", "settle"]
        ours = {c.number for c in claims}
        events = session.exec(select(OutboxEvent)).all()
        kinds = [e.kind for e in events if e.payload.get("number") in ours]
        assert sorted(kinds) == sorted(["claim.accept", "claim.review", "claim.settle"] * len(plan))
        assert session.exec(select(Draft).where(Draft.kind == "claim")).all() == []
    db.close()


HOSPITAL = {"name": "江苏省人民医院", "place": "南京市"}


async def test_incomplete_notice_resume_accept(make_app) -> None:
    app = make_app("jiangsu")
    scenario = scenarios("jiangsu")[0]
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await take_in(pilot, scenario, complete=False, hospital=HOSPITAL)
        await pilot.press("f10")  # refused: the materials are incomplete
        await settle(pilot)
        assert isinstance(pilot.app.screen, ClaimReviewStep)
        await pilot.press("f9")  # 存为待补材料
        await settle(pilot)
        notice = pilot.app.screen
        assert isinstance(notice, DocumentScreen)
        assert notice.document["kind"] == "one_time_notice"
        labels = [item["label"] for item in notice.document["items"]]
        assert "住院费用清单" in labels and len(labels) >= 2
        number = notice.document["number"]
        await pilot.press("f8")  # the notice can be printed from here
        await settle(pilot)
        assert isinstance(pilot.app.screen, PrintScreen)
        assert (pilot.app.screen.number, pilot.app.screen.kinds) == (number, ["missing_notice"])
        await pilot.press("escape")
        await settle(pilot)

        # The person comes back: found again, B offers the claim waiting for materials.
        while not isinstance(pilot.app.screen, DashboardScreen):
            await pilot.press("escape")
            await settle(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmDialog)
        assert number in pilot.app.screen.detail
        await pilot.press("y")
        await settle(pilot)
        page = pilot.app.screen
        assert isinstance(page, ClaimScreen)
        assert page.view is not None and page.view.claim.status == "pending_materials"
        await pilot.press("m")  # 补材料: the wizard at the materials step
        await settle(pilot)
        assert isinstance(pilot.app.screen, ClaimMaterialsStep)
        await tick(pilot, missing_now(pilot))
        assert missing_now(pilot) == []
        await pilot.press("f10")  # complete now: F10 on the materials step accepts (README)
        await settle(pilot)
        receipt = pilot.app.screen
        assert isinstance(receipt, DocumentScreen)
        assert receipt.document["kind"] == "acceptance_receipt"
        assert receipt.document["number"] == number
        assert receipt.document["due"]["working_days"] == 10

    db = open_db(app)
    [row] = [r for r in claim_queue(db, TODAY) if r.person_id == person_id]
    assert (row.number, row.status, row.cost_check_candidate) == (number, "accepted", True)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.person_id == person_id)).one()
        assert_stored_is_the_engine_answer(app, claim)
        assert claim.accepted_on == TODAY and claim.version == 2
        assert claim.hospital == HOSPITAL  # typed at intake, kept through the resume
        actions = session.exec(
            select(AuditLog.action).where(
                AuditLog.entity == "claim",
                AuditLog.entity_id == number,
                AuditLog.action != "view",
            )
        ).all()
        assert list(actions) == ["save", "accept"]
    db.close()


def _message(pilot, field: str) -> str:  # type: ignore[no-untyped-def]
    label = pilot.app.screen.query_one(f"#{error_id(field)}", Label)
    return str(label.render()) if label.display else ""


async def test_bad_input_is_named_under_the_field_and_ytd_override_is_audited(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("b")
        await settle(pilot)
        await next_step(pilot)
        assert isinstance(pilot.app.screen, TreatmentStep)
        await fill(pilot, "admission_date", "2026-10-20")
        await fill(pilot, "discharge_date", "2026-10-08")
        assert _message(pilot, "discharge_date") == "出院日期 2026-10-08 早于入院日期 2026-10-20"
        await fill(pilot, "visit_date", "2026-12-01")
        assert "晚于今天（2026-11-23），不能是将来的日期" in _message(pilot, "visit_date")
        await next_step(pilot)  # refused: the step has bad fields
        assert isinstance(pilot.app.screen, TreatmentStep)
        await fill(pilot, "discharge_date", "2026-10-28")
        await fill(pilot, "visit_date", "")
        assert _message(pilot, "discharge_date") == _message(pilot, "visit_date") == ""
        await next_step(pilot)
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(pilot.app.screen, AmountsStep)
        await fill(pilot, "total", "1.234")
        await fill(pilot, "in_scope", "-5")
        assert _message(pilot, "amounts.total") == "金额“1.234”最多保留两位小数"
        assert _message(pilot, "amounts.in_scope") == "金额“-5”不能为负数"
        await fill(pilot, "total", "100")
        await fill(pilot, "in_scope", "90")
        assert _message(pilot, "amounts.total").startswith(
            "总费用 100.00 不等于统筹基金支付范围内费用、乙类先行自付、超限价自付、自费之和 90.00"
        )
        await next_step(pilot)  # refused
        assert isinstance(pilot.app.screen, AmountsStep)
        await fill(pilot, "self_pay", "10")
        assert _message(pilot, "amounts.total") == ""
        assert pilot.app.screen.query_one("#fund_paid", Input).value == "0.00"
        await fill(pilot, "fund_paid", "5000")
        await next_step(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DocumentScreen)

    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.person_id == person_id)).one()
        assert claim.request["ytd"]["fund_paid"] == "5000.00"
        assert claim.ytd_override == {
            "entered": {
                "deductible_paid": "0.00",
                "fund_paid": "5000.00",
                "above_cap_paid": "0.00",
            },
            "computed": {"deductible_paid": "0.00", "fund_paid": "0.00", "above_cap_paid": "0.00"},
        }
        audited = session.exec(select(AuditLog).where(AuditLog.action == "ytd_override")).one()
        assert audited.entity_id == claim.number
        assert_stored_is_the_engine_answer(app, claim)
    db.close()


async def test_itemised_lines_sum_into_the_categories(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("b")
        await settle(pilot)
        await choose(pilot, "filing", "long_term")
        await next_step(pilot)
        await fill(pilot, "admission_date", "2026-10-08")
        await fill(pilot, "discharge_date", "2026-10-20")
        await next_step(pilot)
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        assert isinstance(pilot.app.screen, LinesStep)
        await fill(pilot, "line_item", "床位费")
        await fill(pilot, "line_amount", "12.345")
        await pilot.press("enter")
        await settle(pilot)
        assert _message(pilot, "line.amount") == "金额“12.345”最多保留两位小数"
        for day, item, amount, category in (
            ("2026-10-08", "床位费", "1200", "in_scope"),
            ("2026-10-09", "手术费", "8800.50", "in_scope"),
            ("", "进口耗材", "950", "over_limit_self"),
            ("2026-10-12", "自费药品", "400", "self_pay"),
        ):
            await fill(pilot, "line_day", day)
            await fill(pilot, "line_item", item)
            await choose(pilot, "line_category", category)
            await fill(pilot, "line_amount", amount)
            await pilot.press("enter")
            await settle(pilot)
        await next_step(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, AmountsStep)
        shown = {
            n: screen.query_one(f"#{n}", Input).value for n in ("total", "in_scope", "self_pay")
        }
        assert shown == {"total": "11350.50", "in_scope": "10000.50", "self_pay": "400.00"}
        await next_step(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DocumentScreen)

    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.person_id == person_id)).one()
        assert claim.request["amounts"]["over_limit_self"] == "950.00"
        assert_stored_is_the_engine_answer(app, claim)
        lines = session.exec(select(ClaimLine).where(ClaimLine.claim_id == claim.id)).all()
        assert [(str(x.day), x.item, str(x.amount), x.category) for x in lines] == [
            ("2026-10-08", "床位费", "1200.00", "in_scope"),
            ("2026-10-09", "手术费", "8800.50", "in_scope"),
            ("None", "进口耗材", "950.00", "over_limit_self"),
            ("2026-10-12", "自费药品", "400.00", "self_pay"),
        ]
    db.close()


async def test_claim_draft_is_offered_after_a_restart_and_completes(make_app) -> None:
    first = make_app("hunan")
    async with first.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(first)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("b")
        await settle(pilot)
        await choose(pilot, "filing", "referral")
        await next_step(pilot)
        await fill(pilot, "admission_date", "2026-10-08")
        await fill(pilot, "discharge_date", "2026-10-20")
        await next_step(pilot)  # the draft is saved on the way to 特殊情况
        assert isinstance(pilot.app.screen, FlagsStep)
    # The window is closed without finishing (as after a power cut, the draft is all there is).

    again = make_app("hunan")
    async with again.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        assert isinstance(pilot.app.screen, ConfirmDialog)
        assert "零星报销 · 测试甲" in pilot.app.screen.question
        await pilot.press("y")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, FlagsStep)
        assert screen.state.values["filing"] == "referral"
        assert screen.state.values["discharge_date"] == "2026-10-20"
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)
        for name, value in (("total", "9000"), ("in_scope", "9000")):
            await fill(pilot, name, value)
        await next_step(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DocumentScreen)

    db = open_db(again)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.person_id == person_id)).one()
        assert claim.status == "accepted" and claim.request["filing"] == "referral"
        assert session.exec(select(Draft).where(Draft.kind == "claim")).all() == []
    db.close()
