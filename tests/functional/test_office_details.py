"""Office details: set with ``counter-app office set`` and by a supervisor in the UI, printed on
the forms; the sign-in title names the same office as the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from counter_app.cli import app as cli
from counter_app.printing.forms import DOCUMENT_KINDS
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import (
    PrintContext,
    build,
    build_checked,
    claim_documents,
    filing_documents,
    load_claim,
    load_record,
)
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import set_office_details
from counter_app.storage.models import Claim, Filing, Office
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.office import OfficeScreen
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import fill, settle, sign_in
from tests.support.demo import demo_database
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
    db, _ = demo_database(app.settings.database_path(), build_engine("wuhu"), TODAY, persons=2)
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


@pytest.mark.parametrize("policy", ["jiangsu", "beijing", "wuhu", "hunan"])
def test_every_printed_form_names_the_office_address_phone_and_hours(
    policy: str, tmp_path: Path
) -> None:
    """Each document kind, printed from the first demo record its gate allows, shows the
    office's name, phone, address and hours (issue 14 item 8), and no empty 联系电话."""
    db, _ = demo_database(tmp_path / f"{policy}.db", build_engine(policy), TODAY)
    with db.read() as session:
        office = session.exec(select(Office)).one()
        filings = [f.number for f in session.exec(select(Filing).order_by(Filing.id)).all()]  # type: ignore[arg-type]
        claims = [c.number for c in session.exec(select(Claim).order_by(Claim.id)).all()]  # type: ignore[arg-type]
    set_office_details(
        db, office.code, phone="0551-7654321", address="政务中心三楼", hours="工作日9至17时"
    )
    found: dict[str, str] = {}
    for number in filings:
        for kind in filing_documents(db, number):
            found.setdefault(kind, number)
    for number in claims:
        source = load_claim(db, number)
        assert source is not None
        for kind in claim_documents(source):
            found.setdefault(kind, number)
    # Every kind the region prints (the commitment only where the region has one).
    assert set(found) >= set(DOCUMENT_KINDS) - {"commitment"}, sorted(found)
    context = PrintContext(db, TODAY)
    for kind, number in found.items():
        out = tmp_path / f"{kind}.pdf"
        out.write_bytes(render_pdf(build_checked(kind, number, context)).data)
        text = pdf_text(out)
        for value in (office.name, "0551-7654321", "政务中心三楼", "工作日9至17时"):
            assert value in text, f"{policy} {kind}: {value} missing"
        assert "联系电话：。" not in text and "联系电话：，" not in text, kind
    db.close()
