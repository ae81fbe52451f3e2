"""Free text typed (or pasted) in the forms is checked where it enters, with the field named."""

from __future__ import annotations

from sqlmodel import select
from textual.widgets import Input, Label

from counter_app.storage.models import Person
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.person_form import PersonFormScreen
from tests.functional.conftest import open_db
from tests.functional.driving import fill, settle, sign_in

ID = "11010519491231002X"


async def test_the_person_form_refuses_control_characters_and_caps_lengths(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, PersonFormScreen)
        await fill(pilot, "id_number", ID)
        # A pasted name with a line break that would start a new receipt line.
        form.query_one("#name", Input).value = "张三\n姓名：李四"
        await pilot.press("f10")
        await settle(pilot)
        message = str(form.query_one("#message", Label).content)
        assert message.startswith("姓名：不能含控制字符") and "换行" in message
        assert app.focused is form.query_one("#name", Input)
        # The address field takes no more than the forms print.
        await fill(pilot, "name", "张三")
        address = form.query_one("#address", Input)
        address.focus()
        await pilot.press(*("长" * 130))
        assert len(address.value) == 120
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
    db = open_db(app)
    with db.read() as session:
        person = session.exec(select(Person).where(Person.id_number == ID)).one()
    db.close()
    assert person.name == "张三" and len(person.address) == 120
