"""Tables that line up and hide nothing (issue 14 item 4).

Columns stay under their headers in a terminal that draws ambiguous-width characters two cells
wide (a cell never holds one, nor a line break); a long destination or history note is clipped in
its table so the other columns stay on screen at 80×24, and the highlighted row's whole text is in
the detail line under the table.
"""

from __future__ import annotations

from rich.cells import cell_len
from sqlmodel import select
from textual.widgets import DataTable, Static

from counter_app.storage.models import Filing, FilingHistory, Person
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.widgets.table import CLIP_MARK, CounterTable, is_ambiguous, table_text
from tests.functional.conftest import open_db
from tests.functional.driving import settle, sign_in, type_text

LONG_PLACE = "新疆维吾尔自治区巴音郭楞蒙古自治州和静县"
LONG_NOTE = (
    "异地长期居住人员备案：已核对居住证明（居住证有效期至2028年5月）、本人承诺书及身份证复印件，"
    "参保人自述已在就医地连续居住满六个月——按规程第十条办理"
)


def test_table_text_is_one_unambiguous_line() -> None:
    assert table_text("—") == "－"
    assert table_text("a…b·c×2") == "a⋯b・cx2"
    assert table_text("①号") == "1号"
    assert table_text("第一行\n第二行\t末") == "第一行 第二行 末"
    clipped = table_text(LONG_PLACE, 12)
    assert clipped.endswith(CLIP_MARK)
    assert cell_len(clipped) <= 12
    assert LONG_PLACE.startswith(clipped.removesuffix(CLIP_MARK))
    assert table_text("湖南省株洲市", 12) == "湖南省株洲市"
    assert not any(is_ambiguous(c) for c in table_text(LONG_NOTE))


def _text(widget: Static) -> str:
    return "".join(str(widget.render()).split())


async def test_long_destination_and_note_whole_at_80x24(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        with db.write() as session:
            filing = session.exec(select(Filing).order_by(Filing.id)).first()
            assert filing is not None
            filing.destination_name = LONG_PLACE
            session.add(filing)
            for step in session.exec(
                select(FilingHistory).where(FilingHistory.filing_id == filing.id)
            ).all():
                step.reasons = [{"severity": "info", "message": LONG_NOTE}]
                session.add(step)
            person = session.get(Person, filing.person_id)
            assert person is not None
            id_number = person.id_number
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, id_number)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PersonScreen)
        filings = screen.query_one("#filings", DataTable)
        history = screen.query_one("#history", DataTable)
        assert isinstance(filings, CounterTable) and isinstance(history, CounterTable)
        # The tables fit the 80 columns: every column, 状态 included, is on screen.
        for table in (filings, history):
            assert table.virtual_size.width <= table.size.width, table.id
        assert str(filings.get_row_at(0)[2]).endswith(CLIP_MARK)
        # The detail lines hold the whole texts.
        filing_line = _text(screen.query_one("#filing_detail", Static))
        assert "".join(LONG_PLACE.split()) in filing_line
        # The validity period is said once (the status 有效 names it; no second copy beside it).
        assert filing_line.count("有效期") == 1, filing_line
        detail = _text(screen.query_one("#history_detail", Static))
        assert "".join(LONG_NOTE.split()) in detail
