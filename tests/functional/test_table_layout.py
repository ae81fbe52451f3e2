"""Tables that line up and hide nothing (issue 14 item 4).

Columns stay under their headers in a terminal that draws ambiguous-width characters two cells
wide (a cell never holds one, nor a line break); a long destination or history note is clipped in
its table so the other columns stay on screen at 80×24, and the highlighted row's whole text is in
the detail line under the table.
"""

from __future__ import annotations

from decimal import Decimal

from rich.cells import cell_len
from rich.text import Text
from sqlmodel import select
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.geometry import Region
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


# Cells of every kind a screen puts in a table: plain, markup, an emoji code, styled and spanned
# Text, alignment, None, numbers, empty, wider than a fixed-width column, a control character.
MIXED_ROWS = [
    ("张三", "320102********1234", "男", "职工医保", None, 3),
    (
        "李四[b]x[/b]",
        "a:smile:b",
        Text("红", style="bold red"),
        Text("右", justify="right"),
        1.5,
        Decimal("12.30"),
    ),
    ("", Text("span"), Text.from_markup("[i]it[/i]"), LONG_PLACE, "x", "y"),
    ("a\x07b", Text("", style="red"), Text("l", justify="left"), "zz", "08:30", "末"),
]


class _TwoTables(App[None]):
    """A CounterTable and a plain DataTable side by side (fed the CounterTable's cleaned cells)."""

    def compose(self) -> ComposeResult:
        yield CounterTable(id="counter", zebra_stripes=True)
        yield DataTable(id="plain", zebra_stripes=True)


async def test_counter_table_draws_what_data_table_draws() -> None:
    """CounterTable measures and draws one-line cells itself: the same columns, characters and
    styles as DataTable, for every cursor kind, fixed columns, focus and zebra stripes."""
    app = _TwoTables()
    async with app.run_test(size=(100, 30)) as pilot:
        counter = app.query_one("#counter", CounterTable)
        plain = app.query_one("#plain", DataTable)
        cases = (("row", 0, 0), ("cell", 0, 1), ("cell", 1, 1), ("column", 0, 2), ("row", 1, 3))
        for cursor_type, fixed, at in cases:
            for table in (counter, plain):
                table.clear(columns=True)
                table.cursor_type = cursor_type
                table.fixed_columns = fixed
                table.add_column("姓名")
                table.add_column("身份证号")
                table.add_column("性别", width=4)
                table.add_column("险种", width=6)
                table.add_column(Text("备案", style="green"))
                table.add_column("电话")
            counter.add_rows(MIXED_ROWS)
            plain.add_rows([counter.get_row_at(row) for row in range(counter.row_count)])
            for table in (counter, plain):
                table.move_cursor(row=at, column=at)
            counter.measure_now()
            await settle_tables(pilot, plain)
            assert [c.content_width for c in counter.columns.values()] == [
                c.content_width for c in plain.columns.values()
            ]
            assert counter.virtual_size == plain.virtual_size
            # The short plain cells take the direct way (else this test would prove nothing).
            assert _direct(counter, 0, 0) == ("张三", None)
            assert _direct(counter, 1, 0) is None  # markup: DataTable's way
            for focused, hover in ((False, None), (True, None), (True, Coordinate(2, 3))):
                drawn = []
                for table in (counter, plain):
                    if focused:
                        table.focus()
                    else:
                        app.set_focus(None)
                    if hover is not None:  # as the mouse over a cell leaves it
                        table.hover_coordinate = hover
                        table._set_hover_cursor(True)
                    await pilot.pause()
                    table._clear_caches()
                    region = Region(0, 0, table.size.width, table.size.height)
                    drawn.append(
                        [[(s.text, s.style) for s in line] for line in table.render_lines(region)]
                    )
                assert drawn[0] == drawn[1], (cursor_type, fixed, focused, hover)


def _direct(table: CounterTable, row: int, column: int) -> object:
    """What CounterTable draws itself for a cell (None: DataTable draws it)."""
    row_key = table._row_locations.get_key(row)
    return table._cell_line(row_key, table._column_locations.get_key(column), 20, 1)


async def settle_tables(pilot, table: DataTable) -> None:  # type: ignore[no-untyped-def]
    """Let a plain DataTable measure its new rows (it does when its queue goes idle)."""
    for _ in range(50):
        if not table._require_update_dimensions:
            return
        await pilot.pause()
    raise AssertionError("the table never measured its rows")
