"""Office details: set with ``counter-app office set`` and by a supervisor in the UI, printed on
the forms; the sign-in title names the same office as the dashboard."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from counter_app.cli import app as cli
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.storage.models import Filing, Office
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.office import OfficeScreen
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import fill, settle, sign_in
from tests.support.printing import pdf_text


async def test_supervisor_sets_the_office_details_and_they_are_printed(
    make_app, tmp_path: Path
) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        db = open_db(app)
        with db.read() as session:
            office = session.exec(select(Office)).one()
        db.close()
        assert app.title == office.name  # sign-in shows the database's office, as the dashboard
        await sign_in(pilot, "demo", "demo1234")
        assert isinstance(app.screen, DashboardScreen)
        app.action_office()  # a clerk may not
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.title == office.name
    supervisor = make_app("wuhu")
    async with supervisor.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "admin", "admin1234")
        commands = [c.title for c in supervisor.get_system_commands(supervisor.screen)]
        assert "本机构信息" in commands
        supervisor.action_office()
        await settle(pilot)
        assert isinstance(supervisor.screen, OfficeScreen)
        await fill(pilot, "office_phone", "0553-7654321")
        await fill(pilot, "office_address", "芜湖市镜湖区政务中心三楼")
        await fill(pilot, "office_hours", "周一至周五 9:00-17:00")
        await pilot.press("f10")
        await settle(pilot)
    db = open_db(supervisor)
    with db.read() as session:
        office = session.exec(select(Office)).one()
        number = session.exec(select(Filing.number)).first()
    assert (office.phone, office.hours) == ("0553-7654321", "周一至周五 9:00-17:00")
    assert number is not None
    document = build(
        "filing_receipt", load_record(db, "filing_receipt", number), PrintContext(db, TODAY)
    )
    out = tmp_path / "receipt.pdf"
    out.write_bytes(render_pdf(document).data)
    text = pdf_text(out)
    db.close()
    assert "0553-7654321" in text and "政务中心三楼" in text and "9:00-17:00" in text


def test_office_set_from_the_command_line(make_app, tmp_path: Path) -> None:
    app = make_app("wuhu")
    from counter_app.rules_engine import build_engine
    from counter_app.storage.db import Database
    from counter_app.storage.demo import seed_demo

    db = Database.open(app.settings.database_path())
    seed_demo(db, build_engine("wuhu"), TODAY, persons=2)
    db.close()
    result = CliRunner().invoke(
        cli,
        ["office", "set", "--phone", "0553-1111111", "--hours", "周一至周五"],
        env={"COUNTER_DB": str(app.settings.database_path())},
    )
    assert result.exit_code == 0, result.output
    assert "0553-1111111" in result.output
    db = open_db(app)
    with db.read() as session:
        office = session.exec(select(Office)).one()
    db.close()
    assert (office.phone, office.hours) == ("0553-1111111", "周一至周五")
