"""The print gate in the window (issue 15 item 3, issue 14 item 5): a claim's print screen offers
only the documents its state allows, a print screen asked for a 结算单 of an unsettled claim
refuses with the reason and records no job, and a returned claim shows and prints its
退回通知书 with the reason the clerk typed."""

from __future__ import annotations

from sqlmodel import func, select

from counter_app.domain.claim_lifecycle import ACCEPTED
from counter_app.storage.models import Claim, PrintJob
from counter_app.ui.claims.documents import DocumentScreen
from counter_app.ui.claims.page import ClaimScreen
from counter_app.ui.screens.printing import PrintScreen
from tests.functional.conftest import open_db
from tests.functional.driving import settle, sign_in, type_text
from tests.functional.test_claim_flows import open_from_queue


def _accepted(app) -> str:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.status == ACCEPTED)).first()
    db.close()
    assert claim is not None
    return claim.number


def _jobs(app) -> int:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        count = session.exec(select(func.count()).select_from(PrintJob)).one()
    db.close()
    return count


async def test_the_window_prints_only_what_the_claims_state_allows(make_app) -> None:
    app = make_app("beijing")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        number = _accepted(app)
        page = await open_from_queue(pilot, number)
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, PrintScreen)
        assert app.screen.kinds == ["claim_receipt"]  # no 结算单 before settlement

        # a print screen asked for the slip anyway (opened before the state changed) refuses
        app.push_screen(PrintScreen(app.services, number, ["settlement_slip"], "某人"))
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        status = str(app.screen.query_one("#print_status").render())
        assert "不能打印" in status and "零星报销结算单只在结算后出具" in status
        assert _jobs(app) == 0
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert app.screen is page

        # 退回 with a reason: G shows the 退回通知书, F8 offers it alone
        await pilot.press("t")
        await settle(pilot)
        await type_text(pilot, "发票抬头与参保人姓名不符")
        await pilot.press("enter")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert isinstance(app.screen, ClaimScreen)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, DocumentScreen)
        shown = str(app.screen.query_one("#document_text").render())
        assert "退回原因：发票抬头与参保人姓名不符" in shown and "退回的材料" in shown
        assert "零星报销退回通知书" in str(app.screen.query_one(".title").render())
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, PrintScreen)
        assert app.screen.kinds == ["return_notice"]


async def test_the_claim_wizard_takes_the_slips_details(make_app) -> None:
    """入院方式 from the list, 住院号, 科室 and diagnoses with ICD-10 codes: a bad code is named
    and keeps the clerk on the step; the review lists them; they are stored with the claim."""
    from counter_app.ui.claims.steps import ClaimMaterialsStep, ClaimReviewStep, TreatmentStep
    from tests.functional.driving import choose, fill, missing_now, next_step, open_person, tick
    from tests.functional.test_claim_flows import INPATIENT, _add_person

    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await sign_in(pilot)
        await open_person(pilot, "测试甲")
        await pilot.press("b")
        await settle(pilot)
        await choose(pilot, "filing", "long_term")
        await next_step(pilot)
        assert isinstance(app.screen, TreatmentStep)
        await fill(pilot, "admission_date", "2026-10-08")
        await fill(pilot, "discharge_date", "2026-10-20")
        await choose(pilot, "hospital_admission_mode", "急诊")
        details = {
            "name": "江苏省人民医院",
            "place": "南京市",
            "inpatient_no": "ZY20261008-017",
            "department": "呼吸内科",
            "diagnosis_main": "社区获得性肺炎",
            "diagnosis_main_icd": "J18",  # no point: still a valid category code
            "diagnosis_other_icd": "I10",  # a code without its diagnosis
        }
        for name, value in details.items():
            await fill(pilot, f"hospital_{name}", value)
        await next_step(pilot)
        assert isinstance(app.screen, TreatmentStep)  # refused, the reason under the fields
        shown = str(app.screen.query_one("#hospital_errors").render())
        assert "ICD-10：请先填写诊断名称" in shown
        await fill(pilot, "hospital_diagnosis_other", "原发性高血压")
        await next_step(pilot)
        await next_step(pilot)  # 特殊情况
        assert isinstance(app.screen, ClaimMaterialsStep)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)  # 明细: none
        for name, value in INPATIENT.items():
            await fill(pilot, name, value)
        await next_step(pilot)
        assert isinstance(app.screen, ClaimReviewStep)
        review = str(app.screen.query_one("#review_request").render())
        for text in ("入院方式：急诊", "住院号：ZY20261008-017", "主要诊断：社区获得性肺炎"):
            assert text in review
        await pilot.press("f10")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)

    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.person_id == person_id)).one()
    db.close()
    assert claim.status == ACCEPTED
    assert claim.hospital == {
        **details,
        "admission_mode": "急诊",
        "diagnosis_other": "原发性高血压",
    }


async def test_a_supervisor_is_told_the_claim_deadline_is_an_example(make_app) -> None:
    """京 sets no claim deadline: the supervisor signing in sees the warning; 苏 sets one."""
    for policy, expected in (("beijing", True), ("jiangsu", False)):
        app = make_app(policy)
        async with app.run_test(size=(100, 40)) as pilot:
            await sign_in(pilot, "admin", "admin1234")
            await app.workers.wait_for_complete()
            await settle(pilot)
            messages = [n.message for n in app._notifications]
            warned = any("零星报销办结时限为示例值" in m for m in messages)
            assert warned == expected, (policy, messages)
