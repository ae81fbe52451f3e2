"""The print gate in the window (issue 15 item 3, issue 14 item 5): a claim's print screen offers
only the documents its state allows, a print screen asked for a 结算单 of an unsettled claim
refuses with the reason and records no job, and a returned claim shows and prints its
退回通知书 with the reason the clerk typed."""

from __future__ import annotations

from sqlmodel import func, select

from counter_app.storage.claims import ACCEPTED
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
