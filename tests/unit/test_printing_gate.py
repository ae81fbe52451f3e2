"""The one gate for what may print (issue 15 item 3): the decision table over claim and filing
states, the print queue refusing before a job is recorded, a reprint of an earlier state's
document from the print history marked 补打 with its original date, and ``counter-app print``
exiting 2 with the reason. Real SQLite, the real engine, PDFs read back with pdftotext."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from counter_app.printing import gate
from counter_app.printing.jobs import submit
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import (
    PrintContext,
    build_checked,
    claim_documents,
    filing_documents,
    load_claim,
    load_filing,
    print_history,
)
from counter_app.rules_engine import build_engine
from counter_app.settings import Settings
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing, PrintJob
from counter_app.workflows.claims import advance_claim
from tests.support.demo import demo_database
from tests.support.printing import TODAY, pdf_text
from tests.unit.test_printing_qr import _cli

P, A, R, S, X = (gate.PENDING, gate.ACCEPTED, gate.REVIEWING, gate.SETTLED, gate.RETURNED)
# status → the documents it may print with no print history (injury flag set)
EXPECTED = {
    P: ["missing_notice", "injury_commitment"],
    A: ["claim_receipt", "injury_commitment"],
    R: ["claim_receipt", "injury_commitment"],
    S: ["settlement_slip", "injury_commitment"],
    X: ["return_notice"],
}


def _claim_source(status: str, injury: bool = True) -> dict:
    return {
        "number": "BX1",
        "status": status,
        "request": {"flags": {"injury_no_third_party": injury}},
    }


@pytest.mark.parametrize("status", list(EXPECTED))
def test_each_claim_state_prints_only_the_documents_that_describe_it(status: str) -> None:
    assert gate.allowed(_claim_source(status)) == EXPECTED[status]
    without_flag = gate.allowed(_claim_source(status, injury=False))
    assert without_flag == [k for k in EXPECTED[status] if k != "injury_commitment"]
    slip = gate.verdict("settlement_slip", _claim_source(status))
    assert slip.allowed == (status == S)
    if status != S:
        assert "结算单只在结算后出具" in slip.reason


def test_an_earlier_states_document_is_a_reprint_from_history() -> None:
    printed = {"claim_receipt": TODAY, "missing_notice": TODAY}
    kinds = gate.allowed(_claim_source(S, injury=False), printed)
    assert kinds == ["settlement_slip", "missing_notice", "claim_receipt"]
    receipt = gate.verdict("claim_receipt", _claim_source(S), printed)
    assert receipt.allowed and receipt.reprint_of == TODAY
    # never printed: no reprint either
    assert not gate.verdict("return_notice", _claim_source(S), printed).allowed


def test_a_filing_prints_a_commitment_only_when_it_rests_on_one() -> None:
    base = {"number": "BA1", "materials": ["id_card"], "commitment_ticks": True}
    assert gate.allowed({**base, "basis": "commitment"}) == [
        "filing_form",
        "commitment",
        "filing_receipt",
    ]
    assert gate.allowed({**base, "basis": "materials"}) == ["filing_form", "filing_receipt"]
    # a signed letter among the materials, but the region's 承诺书 has no box for the category
    unticked = {**base, "basis": "materials", "materials": ["commitment_letter"]}
    assert "commitment" not in gate.allowed({**unticked, "commitment_ticks": False})
    assert "commitment" in gate.allowed(unticked)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, SignedIn, Path]:
    path = tmp_path_factory.mktemp("gate") / "office.db"
    db, signed = demo_database(path, build_engine("jiangsu"), TODAY)
    return db, signed, path


def _number(db: Database, status: str) -> str:
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.status == status)).first()
    assert claim is not None
    return claim.number


def _jobs(db: Database) -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(PrintJob)).one()


def test_queue_refuses_before_recording_and_reprints_as_补打(office, tmp_path: Path) -> None:
    db, signed, _ = office
    settings = Settings(policy="jiangsu", today=TODAY, db_path=tmp_path / "x.db")
    number = _number(db, A)
    before = _jobs(db)
    with pytest.raises(gate.NotPrintable, match="当前为“受理”：零星报销结算单只在结算后出具"):
        submit(db, settings, signed, "保存为文件", "settlement_slip", number)
    assert _jobs(db) == before  # nothing recorded, nothing sent

    done = submit(db, settings, signed, "保存为文件", "claim_receipt", number)
    assert done.ok, done.message
    advance_claim(db, build_engine("jiangsu"), signed, number, "review", today=TODAY)
    advance_claim(db, build_engine("jiangsu"), signed, number, "settle", today=TODAY)
    source = load_claim(db, number)
    assert source is not None
    assert claim_documents(source) == ["settlement_slip"]
    assert claim_documents(source, db) == ["settlement_slip", "claim_receipt"]

    with db.read() as session:
        job = session.exec(select(PrintJob).where(PrintJob.number == number)).one()
    path = tmp_path / "补打.pdf"
    document = build_checked("claim_receipt", number, PrintContext(db, TODAY))
    path.write_bytes(render_pdf(document).data)
    text = pdf_text(path)
    day = print_history(db, number)["claim_receipt"]
    assert job.status == "done" and f"补打（原件出具日期：{day.isoformat()}）" in text
    assert "零星报销受理回执" in text and number in text
    # the slip of the now settled claim prints, with its settlement date
    slip = submit(db, settings, signed, "保存为文件", "settlement_slip", number)
    assert slip.ok, slip.message


def test_filing_documents_follow_the_gate(office) -> None:
    db, _, _ = office
    with db.read() as session:
        filings = session.exec(select(Filing)).all()
    for filing in filings:
        record = load_filing(db, filing.number)
        assert record is not None
        kinds = filing_documents(db, filing.number)
        assert ("commitment" in kinds) == (
            filing.basis == "commitment"
            or ("commitment_letter" in record["materials"] and record["commitment_ticks"])
        )


def test_cli_refuses_an_unsettled_slip_with_exit_2(office, tmp_path: Path) -> None:
    db, _, path = office
    number = _number(db, R)
    out = tmp_path / "slip.pdf"
    done = _cli("print", "settlement_slip", number, "--out", str(out), db=path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"报销 {number} 当前为“审核”：零星报销结算单只在结算后出具" in done.stdout
    assert not out.exists()
    returned = _number(db, X)
    done = _cli("print", "return_notice", returned, "--out", str(out), db=path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = pdf_text(out)
    assert "零星报销退回通知书" in text and "票据为复印件，请提供原件" in text
