"""Status from time on the screens, on the day before, of and after a filing's end: the search
results, the person page, the dashboard's expiring queue, a scanned QR in the search box and the
rules screen (which weighs the person's existing filings).

The app's business day is the fixed ``TODAY``; a 湖南 demo temporary filing is made to end the
day after (the day before its end), on ``TODAY`` (its last day), or the day before (expired).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from textual.widgets import DataTable, Input, Label, Select

from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.storage.models import Filing, Person
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.filing_rules import FilingRulesScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.search import SearchScreen
from counter_app.ui.widgets.verdict import Verdict
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import settle, sign_in, type_text

CASES = [
    pytest.param(1, "有效", id="day-before-end"),
    pytest.param(0, "有效", id="day-of-end"),
    pytest.param(-1, "已过期", id="day-after-end"),
]


def _row(table: DataTable, key_column: int, key: str) -> list[str]:
    for index in range(table.row_count):
        row = [str(cell) for cell in table.get_row_at(index)]
        if row[key_column] == key:
            return row
    raise AssertionError(f"{key} not in the table")


@pytest.mark.parametrize(("offset", "label"), CASES)
async def test_status_on_the_screens(make_app, offset: int, label: str) -> None:
    app = make_app("hunan")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        end = TODAY + timedelta(days=offset)
        with db.write() as session:
            filing = session.exec(
                select(Filing).where(Filing.category == "other_temporary").order_by(Filing.id)
            ).first()
            assert filing is not None
            # the person's only filing, ending on ``end``
            for other in session.exec(
                select(Filing).where(Filing.person_id == filing.person_id, Filing.id != filing.id)
            ).all():
                session.delete(other)
            filing.valid_until = end
            session.add(filing)
            person = session.get(Person, filing.person_id)
            assert person is not None
            number, name, id_number = filing.number, person.name, person.id_number
            destination = filing.destination_code
        record = load_record(db, "filing_receipt", number)
        payload = build("filing_receipt", record, PrintContext(db, TODAY)).qr_payload

        # dashboard: the expiring queue lists the filing through its last day
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("f5")
        await settle(pilot)
        expiring = app.screen.query_one("#expiring", DataTable)
        listed = [str(expiring.get_row_at(i)[0]) for i in range(expiring.row_count)]
        assert (str(end) in listed) == (offset >= 0)

        # search results: the 备案 column
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await type_text(pilot, id_number)
        await settle(pilot)
        table = app.screen.query_one("#results", DataTable)
        assert _row(table, 0, name)[4] == label

        # a scanned 备案回执 QR code in the search box
        search = app.screen.query_one("#query", Input)
        search.value = payload
        await pilot.press("enter")
        await settle(pilot)
        # the person opens at once; the answer stays on the search screen under it
        search_screen = next(s for s in app.screen_stack if isinstance(s, SearchScreen))
        verdict = str(search_screen.query_one("#kind", Label).render())
        assert f"备案状态：{label}" in verdict
        assert ("真实有效" in verdict) == (offset >= 0)

        # the person page: the filing's status
        if not isinstance(app.screen, PersonScreen):
            await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        filings = app.screen.query_one("#filings", DataTable)
        assert _row(filings, 0, number)[4] == label

        # the rules screen: the existing filing blocks a duplicate only while it stands
        while not isinstance(app.screen, DashboardScreen):
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        rules = app.screen
        assert isinstance(rules, FilingRulesScreen)
        rules.query_one("#category", Select).value = "other_temporary"
        rules.query_one("#name", Input).value = name
        rules.query_one("#destination", Input).value = destination
        rules.query_one("#id_number", Input).value = id_number
        await settle(pilot)
        assert f"{number}" in str(rules.query_one("#existing", Label).render())
        assert label in str(rules.query_one("#existing", Label).render())
        text = str(rules.query_one(Verdict).render())
        assert ("已有该就医地有效期内的临时备案" in text) == (offset >= 0), text


async def test_overdue_commitment_completed_on_the_person_page(make_app) -> None:
    """湘办法 第二十二条: an overdue 承诺书 filing shows 逾期未补; M records the materials."""
    app = make_app("hunan")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        with db.write() as session:
            filing = session.exec(
                select(Filing).where(
                    Filing.basis == "commitment", Filing.category == "long_term_resident"
                )
            ).first()
            assert filing is not None
            filing.followup_due = TODAY - timedelta(days=1)
            session.add(filing)
            person = session.get(Person, filing.person_id)
            assert person is not None
            number, id_number = filing.number, person.id_number
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, id_number)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PersonScreen)
        table = screen.query_one("#filings", DataTable)
        assert _row(table, 0, number)[4] == "逾期未补"
        index = next(i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == number)
        table.move_cursor(row=index)
        await pilot.press("m")
        await settle(pilot)
        from textual.widgets import SelectionList

        app.screen.query_one(SelectionList).select("residence_proof")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert _row(app.screen.query_one("#filings", DataTable), 0, number)[4] == "有效"
        with db.read() as session:
            stored = session.exec(select(Filing).where(Filing.number == number)).one()
        assert stored.followup_done_on == TODAY
