"""The claim's document on screen is the printed one (issue 13 item 3): G on a claim shows the
``Document`` the printer gets for the claim's state — 一次性告知书, 受理回执, 结算单, 退回通知书 —
line for line, built with the office's own policy pack, so screen and paper cannot disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.domain.claim_lifecycle import ClaimStatus
from counter_app.printing.gate import state_document
from counter_app.printing.sources import PrintContext, build_checked
from counter_app.storage.models import Claim
from counter_app.ui.claims.documents import DocumentScreen
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import settle, sign_in
from tests.functional.test_claim_flows import open_from_queue
from tests.unit.test_document_source import OWN_POOL, own_pack


def _numbers(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        rows = session.exec(select(Claim.status, Claim.number)).all()
    db.close()
    return {status: number for status, number in rows}


@pytest.mark.parametrize(
    "status", [ClaimStatus.PENDING, ClaimStatus.REVIEWING, ClaimStatus.SETTLED]
)
async def test_the_screen_shows_the_printed_document(
    make_app, tmp_path: Path, status: ClaimStatus
) -> None:
    own = own_pack(tmp_path)
    app = make_app("wuhu", pack_file=own)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        if status == ClaimStatus.SETTLED:  # settle one: the slip comes up (the queue's 待办)
            number = _numbers(app)[ClaimStatus.REVIEWING]
            await open_from_queue(pilot, number)
            await pilot.press("s", "y")
        else:
            number = _numbers(app)[status]
            await open_from_queue(pilot, number)
            await pilot.press("g")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DocumentScreen) and screen.printed is not None
        kind = state_document(status)
        assert kind is not None and screen.printed.kind == kind
        db = open_db(app)
        paper = build_checked(
            kind, number, PrintContext(db, TODAY, pack_file=own, keep_facts=False)
        )
        db.close()
        assert screen.printed.text_lines() == paper.text_lines()
        shown = str(screen.query_one("#document_text").render())
        # the widget only re-wraps the lines to its width
        assert "".join(shown.split()) == "".join(paper.text().split())
        if status == ClaimStatus.SETTLED:
            assert OWN_POOL in shown  # the office's pack, as on paper
