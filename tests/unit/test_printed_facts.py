"""The QR binds the content as printed: a slip with an altered figure fails ``counter-app verify``,
and a receipt printed before its record moved on verifies as genuine, showing both states.

Real SQLite files seeded with the demo office (芜湖: settled claims, active filings), documents
printed by the CLI in a subprocess, and PDFs read with pdftotext, as a clerk's tools would.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from counter_app.printing import facts as printed_facts
from counter_app.printing.document import Paragraphs, Table
from counter_app.printing.paper import payload_in
from counter_app.printing.pdf import render_pdf
from counter_app.printing.qr import parse
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.printing.verify import verify_payload
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing, PrintedFacts
from tests.support.demo import demo_database
from tests.support.printing import TODAY, pdf_text
from tests.unit.test_printing_qr import _cli as _run

FIXED_DAY = {"COUNTER_TODAY": TODAY.isoformat()}


def _cli(*args: str, db: Path):  # type: ignore[no-untyped-def]
    """``counter-app`` on the office database, on the tests' fixed day."""
    return _run(*args, db=db, env=FIXED_DAY)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, Path]:
    path = tmp_path_factory.mktemp("facts") / "office.db"
    db, _ = demo_database(path, build_engine("wuhu"), TODAY)
    return db, path


def _settled(db: Database) -> Claim:
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.status == "settled")).first()
    assert claim is not None and claim.fund_total is not None
    return claim


def _altered(document, old: str, new: str):  # type: ignore[no-untyped-def]
    """The same document with one figure changed everywhere it is printed; the QR copied."""

    def cell(value):  # type: ignore[no-untyped-def]
        return value.replace(old, new) if isinstance(value, str) else value

    blocks = []
    for block in document.blocks:
        if isinstance(block, Table):
            block = replace(block, rows=tuple(tuple(cell(c) for c in row) for row in block.rows))
        elif isinstance(block, Paragraphs):
            block = replace(block, items=tuple(cell(i) for i in block.items))
        elif hasattr(block, "text"):
            block = replace(block, text=cell(block.text))
        blocks.append(block)
    return replace(document, blocks=tuple(blocks))


def test_the_signature_covers_the_printed_facts(office) -> None:
    db, _ = office
    claim = _settled(db)
    document = build(
        "settlement_slip", load_record(db, "settlement_slip", claim.number), PrintContext(db, TODAY)
    )
    values = document.facts["values"]
    assert values["fund_total"] == f"{claim.fund_total:.2f}"
    assert values["status_label"] and values["name"] and values["id_masked"]
    assert len(values[printed_facts.ID_DIGEST]) == 16
    assert "fund_total" in document.facts["on_paper"]
    # No full 身份证号 in the facts kept with the print.
    with db.read() as session:
        kept = session.exec(select(PrintedFacts).where(PrintedFacts.number == claim.number)).all()
    assert kept and all(not re.search(r"\d{17}[\dX]", str(row.facts)) for row in kept)
    payload = parse(document.qr_payload)
    assert payload is not None
    assert payload.digest == printed_facts.digest("settlement_slip", claim.number, document.facts)
    # A different figure is a different digest: the copied QR's signature does not cover it.
    other = {**document.facts, "values": {**values, "fund_total": "99999.00"}}
    assert printed_facts.digest("settlement_slip", claim.number, other) != payload.digest
    # A payload with another digest (as a forger would need) fails the signature.
    forged = document.qr_payload.replace(payload.digest, "A" * 16)
    assert not verify_payload(db, forged).genuine


def test_a_slip_with_an_altered_amount_fails_verify(office, tmp_path: Path) -> None:
    db, path = office
    claim = _settled(db)
    slip = tmp_path / "slip.pdf"
    done = _cli("print", "settlement_slip", claim.number, "--out", str(slip), db=path)
    assert done.returncode == 0, done.stdout + done.stderr

    genuine = _cli("verify", "--document", str(slip), db=path)
    assert genuine.returncode == 0, genuine.stdout
    assert "纸面内容与打印时一致" in genuine.stdout
    amount = f"{claim.fund_total:.2f}"
    assert amount in genuine.stdout  # the printed facts are shown to compare with the paper

    # The forger's slip: same QR, the fund payment raised by 1,000 元.
    document = build(
        "settlement_slip",
        load_record(db, "settlement_slip", claim.number),
        PrintContext(db, TODAY, keep_facts=False),
    )
    raised = f"{claim.fund_total + 1000:.2f}"
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(render_pdf(_altered(document, amount, raised)).data)
    assert raised in pdf_text(forged) and payload_in(pdf_text(forged)) == document.qr_payload
    refused = _cli("verify", "--document", str(forged), db=path)
    assert refused.returncode == 2, refused.stdout
    assert "被改动" in refused.stdout and amount in refused.stdout

    # A typed copy of the paper with one digit changed fails the same way.
    copy = tmp_path / "copy.txt"
    copy.write_text(pdf_text(slip).replace(amount, "9" + amount), encoding="utf-8")
    assert _cli("verify", "--document", str(copy), db=path).returncode == 2

    # The scanned code alone is genuine and shows the printed amount for the clerk to compare.
    scanned = _cli("verify", document.qr_payload, db=path)
    assert scanned.returncode == 0 and amount in scanned.stdout


def test_a_receipt_printed_before_a_status_change_is_genuine_and_shows_both(
    office, tmp_path: Path
) -> None:
    db, path = office
    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.status == "active")).first()
    assert filing is not None
    receipt = tmp_path / "receipt.pdf"
    done = _cli("print", "filing_receipt", filing.number, "--out", str(receipt), db=path)
    assert done.returncode == 0, done.stdout + done.stderr
    payload = payload_in(pdf_text(receipt))
    assert payload is not None

    before = verify_payload(db, payload, today=TODAY)
    assert before.genuine and before.changes == ()
    assert f"打印于 {TODAY} 时为 有效；现为 有效" in before.message

    # The filing is cancelled afterwards: the paper is not a forgery, it is out of date.
    with db.write() as session:
        session.execute(
            text("UPDATE filing SET status = 'cancelled' WHERE number = :n"), {"n": filing.number}
        )
    try:
        after = _cli("verify", payload, db=path)
        assert after.returncode == 0, after.stdout
        assert f"打印于 {TODAY} 时为 有效；现为 已取消" in after.stdout
        assert "不是伪造" in after.stdout and "伪造的" not in after.stdout
        on_paper = _cli("verify", "--document", str(receipt), db=path)
        assert on_paper.returncode == 0 and "现为 已取消" in on_paper.stdout
        result = verify_payload(db, payload, today=TODAY)
        assert result.printed["status_label"] == "有效"
        assert result.current["status_label"] == "已取消"
        assert any(change.startswith("状态 有效 → 已取消") for change in result.changes)
    finally:
        with db.write() as session:
            session.execute(
                text("UPDATE filing SET status = 'active' WHERE number = :n"),
                {"n": filing.number},
            )


def test_each_print_job_keeps_its_facts(office, tmp_path: Path) -> None:
    from counter_app.printing.jobs import submit
    from counter_app.settings import PrinterConfig, Settings
    from counter_app.storage.clerks import sign_in

    db, path = office
    claim = _settled(db)
    settings = Settings(
        db_path=path,
        today=TODAY,
        printers=[PrinterConfig(name="文件", kind="file", address=str(tmp_path), paper="a4")],
    )  # type: ignore[call-arg]
    clerk = sign_in(db, "demo", "demo1234")
    assert clerk is not None
    outcome = submit(db, settings, clerk, "文件", "settlement_slip", claim.number)
    assert outcome.ok, outcome.message
    from counter_app.storage.models import PrintJob

    with db.read() as session:
        job = session.get(PrintJob, outcome.job_id)
        assert job is not None and job.facts_digest
        kept = session.exec(
            select(PrintedFacts).where(PrintedFacts.digest == job.facts_digest)
        ).one()
    assert kept.facts["values"]["fund_total"] == f"{claim.fund_total:.2f}"
    assert kept.printed_on == TODAY


def test_legacy_payloads_vouch_for_the_number_only(office) -> None:
    from counter_app.printing.qr import office_key, sign

    db, _ = office
    claim = _settled(db)
    with db.read() as session:
        code = session.execute(text("SELECT code FROM office")).scalar_one()
    key = office_key(db, code)
    assert key is not None
    old = sign(key, "settlement_slip", claim.number, code, "")
    assert old.startswith("YB1:")
    result = verify_payload(db, old)
    assert result.genuine and "旧版二维码" in result.message
    assert not verify_payload(db, old, paper_text="任何内容").genuine
