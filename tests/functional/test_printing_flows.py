"""Printing from the counter by keyboard: F8 on a filing, a printer that is off, the queue
(retry on another printer, reprint), and a scanned QR code in the search field."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlmodel import select

from counter_app.printing.qr import office_key, sign
from counter_app.printing.sources import PrintContext, build, filing_documents, load_record
from counter_app.settings import PrinterConfig
from counter_app.storage.models import AuditLog, Filing, Office, Person, PrintJob
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.printing import PrintQueueScreen, PrintScreen
from counter_app.ui.screens.search import SearchScreen
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import open_person, settle, sign_in, type_text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _printers(tmp_path: Path) -> list[PrinterConfig]:
    return [
        PrinterConfig(name="窗口小票机", kind="network", address=f"127.0.0.1:{_free_port()}"),
        PrinterConfig(name="存档PDF", kind="file", address=str(tmp_path / "prints"), paper="a4"),
    ]


def _a_filing(app) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        filing, person = session.exec(
            select(Filing, Person).join(Person, Person.id == Filing.person_id)  # type: ignore[arg-type]
        ).first()  # type: ignore[misc]
    db.close()
    return filing.number, person.id_number, person.id


def _jobs(app) -> list[PrintJob]:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        jobs = list(session.exec(select(PrintJob).order_by(PrintJob.id)).all())  # type: ignore[arg-type]
    db.close()
    return jobs


async def test_print_from_the_person_page_and_work_the_queue(make_app, tmp_path: Path) -> None:
    app = make_app("jiangsu", printers=_printers(tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        number, id_number, _ = _a_filing(app)
        await open_person(pilot, id_number)
        assert isinstance(app.screen, PersonScreen)
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, PrintScreen)
        assert number in str(app.screen.query_one(".title").render())
        db = open_db(app)
        assert app.screen.kinds == filing_documents(db, number)
        db.close()

        await pilot.press("f8")  # the first printer is off: fails fast, the window keeps going
        await settle(pilot)
        status = str(app.screen.query_one("#print_status").render())
        assert "拒绝连接" in status and "打印队列" in status
        assert [(j.status, j.printer) for j in _jobs(app)] == [("queued", "窗口小票机")]

        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, PrintQueueScreen)
        await pilot.press("shift+tab", "enter", "down", "enter")  # choose the other printer
        await pilot.press("tab")
        await pilot.press("r")
        await settle(pilot)
        jobs = _jobs(app)
        assert [(j.status, j.printer, j.attempts) for j in jobs] == [("done", "存档PDF", 2)]
        assert list((tmp_path / "prints").glob(f"filing_form-{number}-*.pdf"))

        await pilot.press("p")
        await settle(pilot)
        jobs = _jobs(app)
        assert len(jobs) == 2 and jobs[1].reprint_of == jobs[0].id and jobs[1].status == "done"
        db = open_db(app)
        with db.read() as session:
            actions = [a.action for a in session.exec(select(AuditLog)).all()]
        db.close()
        assert "reprint" in actions and "print_failed" in actions
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)


async def test_scanned_qr_opens_the_person_or_is_refused(make_app, tmp_path: Path) -> None:
    app = make_app("beijing", printers=_printers(tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        number, _, person_id = _a_filing(app)
        db = open_db(app)
        with db.read() as session:
            code = session.exec(select(Office)).one().code
        key = office_key(db, code)
        assert key is not None
        genuine = build(
            "filing_form", load_record(db, "filing_form", number), PrintContext(db, TODAY)
        ).qr_payload
        db.close()
        assert sign(key, "filing_form", number, code, genuine.split(":")[4]) == genuine

        await pilot.press("slash")
        await settle(pilot)
        forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
        await type_text(pilot, forged)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        assert "伪造" in str(app.screen.query_one("#kind").render())

        app.screen.query_one("#query").value = ""  # type: ignore[attr-defined]
        await type_text(pilot, genuine)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen) and app.screen.person_id == person_id


async def test_settle_a_claim_then_print_its_slip(make_app, tmp_path: Path) -> None:
    from counter_app.storage.models import Claim
    from counter_app.ui.claims.documents import DocumentScreen
    from tests.functional.test_claim_flows import open_from_queue
    from tests.support.printing import pdf_text

    folder = tmp_path / "prints"
    printer = PrinterConfig(name="存档PDF", kind="file", address=str(folder), paper="a4")
    app = make_app("wuhu", printers=[printer])
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        db = open_db(app)
        with db.read() as session:
            number = session.exec(select(Claim.number).where(Claim.status == "reviewing")).first()
        db.close()
        assert number is not None
        await open_from_queue(pilot, number)
        await pilot.press("s", "y")  # 结算, confirmed: the slip's content comes up
        await settle(pilot)
        assert isinstance(app.screen, DocumentScreen)
        assert "零星报销结算" in str(app.screen.query_one(".title").render())
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, PrintScreen)
        # the 受理回执 was never printed while the claim was open: no 补打 of it (the gate)
        assert app.screen.kinds == ["settlement_slip"]
        await pilot.press("f8")  # the slip, on the PDF file printer
        await settle(pilot)
        assert "已发送" in str(app.screen.query_one("#print_status").render())

    (job,) = _jobs(app)
    assert (job.status, job.kind, job.number, job.printer) == (
        "done",
        "settlement_slip",
        number,
        "存档PDF",
    )
    pdf = folder / f"settlement_slip-{number}-{job.id}.pdf"
    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.number == number)).one()
    db.close()
    text = pdf_text(pdf)
    assert claim.status == "settled" and number in text
    assert f"基金支付合计金额{claim.fund_total:.2f}" in text


async def test_scanning_a_receipt_of_a_record_that_moved_on_shows_both_states(
    make_app, tmp_path: Path
) -> None:
    """Printed as 有效, cancelled since: genuine, the search box shows then and now side by side
    and waits (Enter again opens the person)."""
    from sqlalchemy import text

    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        number, _, person_id = _a_filing(app)
        db = open_db(app)
        payload = build(
            "filing_receipt", load_record(db, "filing_receipt", number), PrintContext(db, TODAY)
        ).qr_payload
        with db.write() as session:
            session.execute(
                text("UPDATE filing SET status = 'cancelled' WHERE number = :n"), {"n": number}
            )
        db.close()
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, payload)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        shown = str(app.screen.query_one("#kind").render())
        assert f"打印于 {TODAY} 时为 有效；现为 已取消" in shown
        # genuine, and says the filing no longer stands (its status is read from today)
        assert "真实（备案已不在有效期内）" in shown and "不是伪造" in shown
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen) and app.screen.person_id == person_id
