"""Claim documents printed from stored claims: the loader over the claim table, the same content
as the claim screens (domain.claim_documents), the CLI as a subprocess, and the day report's claim
figures against the stored claims.

A demo office (芜湖) is seeded on a real SQLite file with claims in every status; the PDFs are
checked with pdftotext, the receipts by decoding the ESC/POS stream.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, select

from counter_app.domain.claim_documents import acceptance_receipt, one_time_notice
from counter_app.domain.claim_lifecycle import ACCEPTED, PENDING, SETTLED
from counter_app.printing.pdf import render_pdf
from counter_app.printing.receipt import render_receipt
from counter_app.printing.sources import (
    NotFound,
    PrintContext,
    build,
    claim_documents,
    load_claim,
    load_record,
)
from counter_app.printing.verify import verify_payload
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.demo import DEMO_HOSPITAL
from counter_app.storage.models import AuditLog, Claim, Person
from counter_app.sync.day_close import day_report
from counter_app.workflows.claims import take_claim
from tests.support.demo import demo_database
from tests.support.printing import TODAY, pdf_text
from tests.unit.test_printing_qr import _cli

ENGINE = build_engine("wuhu")
HANZI = re.compile(rb"\x1c&(.*?)\x1c\.", re.S)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, SignedIn, Path]:
    path = tmp_path_factory.mktemp("claims") / "office.db"
    db, signed = demo_database(path, ENGINE, TODAY)
    return db, signed, path


def _claim(db: Database, status: str) -> Claim:
    with db.read() as session:
        return session.exec(select(Claim).where(Claim.status == status)).first()  # type: ignore[return-value]


def _pdf(db: Database, kind: str, number: str, tmp_path: Path) -> str:
    context = PrintContext(db, TODAY)
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(render_pdf(build(kind, load_record(db, kind, number), context)).data)
    return pdf_text(path)


def _receipt_text(db: Database, kind: str, number: str) -> str:
    document = build(kind, load_record(db, kind, number), PrintContext(db, TODAY))
    stream = render_receipt(document, "80", "gb18030", "native").data
    return "".join(part.decode("gb18030") for part in HANZI.findall(stream))


def _squeeze(text: str) -> str:
    return "".join(text.split())


def test_settlement_slip_of_a_settled_claim(office, tmp_path: Path) -> None:
    db, _, _ = office
    claim = _claim(db, SETTLED)
    source = load_claim(db, claim.number)
    # the receipt describes an earlier state: printed again only from the print history
    assert source is not None and claim_documents(source) == ["settlement_slip"]
    text = _pdf(db, "settlement_slip", claim.number, tmp_path)
    payment = claim.result["payment"]
    assert claim.number in text
    assert "基金支付合计金额" + payment["fund_total"] in text
    assert "个人现金支付金额" + payment["personal_cash"] in text
    for fund in payment["funds"]:  # the fund lines by the home pool's names
        assert fund["name"] + fund["amount"] in text
    assert DEMO_HOSPITAL["name"] in text and DEMO_HOSPITAL["place"] in text
    with db.read() as session:
        person = session.get(Person, claim.person_id)
    assert person is not None and person.id_number in text  # the official slip's 社会保障号码
    receipt = _receipt_text(db, "settlement_slip", claim.number)
    assert (
        "安徽省异地就医住院结算单" in receipt and _squeeze(payment["funds"][0]["name"]) in receipt
    )
    # its QR code, scanned, names the claim's person and status
    document = build("settlement_slip", source, PrintContext(db, TODAY))
    scanned = verify_payload(db, document.qr_payload)
    assert scanned.genuine and scanned.person_id == claim.person_id
    assert "报销状态 已结算" in scanned.message


def test_receipt_and_notice_carry_the_screen_content(office, tmp_path: Path) -> None:
    db, _, _ = office
    accepted = _claim(db, ACCEPTED)
    source = load_claim(db, accepted.number)
    assert source is not None and claim_documents(source) == ["claim_receipt"]
    screen = acceptance_receipt(source)
    text = _pdf(db, "claim_receipt", accepted.number, tmp_path)
    due = screen["due"]
    assert accepted.number in text and due["date"] == accepted.due_date.isoformat()
    # 芜湖's documents set no claim deadline: the pack's example value is printed as the date,
    # with no article (another region's) and no "示例"
    assert f"{due['date']}（办结时限以本经办机构公布为准）" in text
    assert "示例" not in text and "苏规程" not in text and screen["office"]["name"] in text

    pending = _claim(db, PENDING)
    source = load_claim(db, pending.number)
    assert source is not None and claim_documents(source) == ["missing_notice"]
    notice = one_time_notice(source)
    assert notice["items"], "the demo's pending claim misses materials"
    text = _pdf(db, "missing_notice", pending.number, tmp_path)
    for item in notice["items"]:  # 芜湖's checklist follows 苏规程 第二十七条: not cited on paper
        assert _squeeze(item["text"]) in text
        assert "苏规程" in item["citation"] and "苏规程" not in text
    for label in notice["presented"]:
        assert _squeeze(label) in text
    assert _squeeze(notice["come_back"]["where"]) in text
    receipt = _receipt_text(db, "missing_notice", pending.number)
    assert _squeeze(notice["items"][0]["text"]) in _squeeze(receipt)


def test_injury_commitment_is_offered_for_the_flag(office, tmp_path: Path) -> None:
    db, signed, _ = office
    base = _claim(db, ACCEPTED)
    request = {**base.request, "flags": {"injury_no_third_party": True}}
    result = ENGINE.claim(request)
    committed = take_claim(db, ENGINE, signed, base.person_id, request, seen=result)
    source = load_claim(db, committed.number)
    assert source is not None and "injury_commitment" in claim_documents(source)
    text = _pdf(db, "injury_commitment", committed.number, tmp_path)
    assert source["person"]["id_number"] in text and source["person"]["name"] in text
    with pytest.raises(NotFound, match="没有编号为 BX404 的报销记录"):
        load_record(db, "settlement_slip", "BX404")


def test_cli_prints_a_stored_claim(office, tmp_path: Path) -> None:
    db, _, path = office
    claim = _claim(db, SETTLED)
    out = tmp_path / "结算单.pdf"
    done = _cli("print", "settlement_slip", claim.number, "--out", str(out), db=path)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "安徽省异地就医住院结算单" in pdf_text(out) and claim.number in pdf_text(out)
    ticket = tmp_path / "回执.bin"
    done = _cli("print", "claim_receipt", claim.number, "--out", str(ticket), db=path)
    # a settled claim's 受理回执 was never printed: the gate refuses it (no 补打 without history)
    assert done.returncode == 2 and "受理回执只在受理后、结算前出具" in done.stdout
    assert not ticket.exists()
    accepted = _claim(db, ACCEPTED)
    done = _cli("print", "claim_receipt", accepted.number, "--out", str(ticket), db=path)
    assert done.returncode == 0, done.stderr + done.stdout
    assert accepted.number.encode() in ticket.read_bytes()
    missing = _cli("print", "settlement_slip", "BX404", "--out", str(out), db=path)
    assert missing.returncode == 2 and "没有编号为 BX404 的报销记录" in missing.stdout
    with db.read() as session:  # each document written out is audited, the failed one is not
        printed = session.exec(
            select(AuditLog).where(AuditLog.action == "print_cli").order_by(col(AuditLog.id))
        ).all()
    assert [(a.entity_id, a.detail["kind"]) for a in printed] == [
        (claim.number, "settlement_slip"),
        (accepted.number, "claim_receipt"),
    ]


def test_day_report_figures_are_the_stored_claims(office) -> None:
    db, _, _ = office
    settled = _claim(db, SETTLED)
    assert settled.settled_on == TODAY - timedelta(days=40)  # the demo's business date
    with db.read() as session:
        claims = list(session.exec(select(Claim)).all())
    report = day_report(db, settled.settled_on)
    by_status, money = report.sections[2], report.sections[3]
    counts: dict[str, int] = {}
    for claim in claims:
        counts[claim.status] = counts.get(claim.status, 0) + 1
    assert sum(n for _, n, _ in by_status.rows) == len(claims)
    assert ("已结算", counts[SETTLED], None) in by_status.rows
    assert ("待补材料", counts[PENDING], None) in by_status.rows
    assert money.rows == [
        ("基金支付", 1, Decimal(settled.result["payment"]["fund_total"])),
        ("个人现金支付", 1, Decimal(settled.result["payment"]["personal_cash"])),
    ]
    assert f"  基金支付：1 笔  金额 ￥{settled.fund_total:,.2f}" in report.lines()
    assert day_report(db, TODAY).sections[3].rows == []  # nothing settled on another day
