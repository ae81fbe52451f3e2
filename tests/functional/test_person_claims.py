"""The person page lists the person's claims with status and due date, and opens them."""

from __future__ import annotations

from sqlmodel import select

from counter_app.storage.models import Claim, Person
from counter_app.ui.claims.page import ClaimScreen
from counter_app.ui.screens.person import PersonScreen
from tests.functional.conftest import open_db
from tests.functional.driving import focus, open_person, settle, sign_in


async def test_person_page_lists_and_opens_claims(make_app) -> None:
    app = make_app("hunan")
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        with db.read() as session:
            claim = session.exec(select(Claim).order_by(Claim.id)).first()
            assert claim is not None
            person = session.get(Person, claim.person_id)
            assert person is not None
            theirs = session.exec(select(Claim).where(Claim.person_id == person.id)).all()
        db.close()
        await open_person(pilot, person.id_number)
        page = app.screen
        assert isinstance(page, PersonScreen)
        table = page.query_one("#person_claims")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert sorted(r[0] for r in rows) == sorted(c.number for c in theirs)
        row = next(r for r in rows if r[0] == claim.number)
        assert row[2] not in ("", claim.status)  # the status in words, not its code
        assert row[3] == (str(claim.due_date) if claim.due_date else "－")
        await focus(pilot, "person_claims")
        index = [r[0] for r in rows].index(claim.number)
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        assert isinstance(app.screen, ClaimScreen)
        assert app.screen.number == claim.number
