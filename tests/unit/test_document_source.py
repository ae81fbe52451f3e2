"""One record → document path (issue 13 item 3): documents are built from the stored record and
the office's own policy pack (``Settings.pack_file``), through the print queue as through a
direct build; an office pack of another region is not used; the screens' preview is the very
document the printer gets, and building it records no printed facts.

A demo office (芜湖) on a real SQLite file; PDFs are checked with pdftotext.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import func, select

from counter_app.domain.claim_lifecycle import ClaimStatus
from counter_app.packs import policies_dir, shipped_pack
from counter_app.printing.gate import state_document
from counter_app.printing.jobs import submit
from counter_app.printing.pdf import render_pdf
from counter_app.printing.receipt import layout
from counter_app.printing.sources import (
    PrintContext,
    build_checked,
    load_claim,
    load_filing,
    office_pack,
    preview,
    print_context,
)
from counter_app.rules_engine import build_engine
from counter_app.settings import PrinterConfig, Settings
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.models import Claim, Filing, PrintedFacts
from tests.support.printing import TODAY, pdf_text

OWN_POOL = "芜湖市本级（本机构策略包）"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, SignedIn]:
    db = Database.open(tmp_path_factory.mktemp("source") / "office.db")
    return db, seed_demo(db, build_engine("wuhu"), TODAY)


def own_pack(folder: Path, region: str = "wuhu", pool: str = OWN_POOL) -> Path:
    """A copy of the shipped pack with the office's own home-pool name."""
    text = (policies_dir() / f"{region}.toml").read_text(encoding="utf-8")
    shipped = shipped_pack(region).pack.home_pool_name
    needle = f'home_pool_name = "{shipped}"'
    assert needle in text
    path = folder / f"{region}-own.toml"
    path.write_text(text.replace(needle, f'home_pool_name = "{pool}"'), encoding="utf-8")
    return path


def _number(db: Database, status: str) -> str:
    with db.read() as session:
        number = session.exec(select(Claim.number).where(Claim.status == status)).first()
    assert number is not None
    return number


def test_an_office_pack_changes_the_printed_slip(office, tmp_path: Path) -> None:
    db, _ = office
    number = _number(db, ClaimStatus.SETTLED)
    own = own_pack(tmp_path)
    shipped = build_checked("settlement_slip", number, PrintContext(db, TODAY))
    printed = build_checked("settlement_slip", number, PrintContext(db, TODAY, pack_file=own))
    assert OWN_POOL not in shipped.text() and "芜湖市" in shipped.text()
    assert OWN_POOL in printed.text()
    pdf = tmp_path / "slip.pdf"
    pdf.write_bytes(render_pdf(printed).data)
    assert OWN_POOL in pdf_text(pdf)
    assert load_claim(db, number, pack_file=own)["home_pool"] == OWN_POOL  # type: ignore[index]


def test_the_print_queue_prints_with_the_office_pack(office, tmp_path: Path) -> None:
    db, signed = office
    number = _number(db, ClaimStatus.SETTLED)
    folder = tmp_path / "prints"
    settings = Settings(
        policy="wuhu",
        today=TODAY,
        db_path=tmp_path / "x.db",
        pack_file=own_pack(tmp_path),
        printers=[PrinterConfig(name="存档", kind="file", address=str(folder), paper="a4")],
    )
    assert print_context(db, settings).pack_file == settings.pack_file
    outcome = submit(db, settings, signed, "存档", "settlement_slip", number)
    assert outcome.ok, outcome.message
    [pdf] = folder.glob("*.pdf")
    assert OWN_POOL in pdf_text(pdf)


def test_a_filing_is_read_with_the_office_pack(office, tmp_path: Path) -> None:
    db, _ = office
    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.basis == "commitment")).first()
    assert filing is not None
    own = own_pack(tmp_path)
    assert load_filing(db, filing.number)["home_pool"] == "芜湖市"  # type: ignore[index]
    assert load_filing(db, filing.number, pack_file=own)["home_pool"] == OWN_POOL  # type: ignore[index]
    document = build_checked("commitment", filing.number, PrintContext(db, TODAY, pack_file=own))
    assert OWN_POOL in document.text()


def test_a_pack_of_another_region_is_not_used(tmp_path: Path) -> None:
    other = own_pack(tmp_path, "jiangsu", "南京市（本机构）")
    assert office_pack("wuhu", other) is shipped_pack("wuhu")
    assert office_pack("jiangsu", other).pack.home_pool_name == "南京市（本机构）"
    assert office_pack("jiangsu") is shipped_pack("jiangsu")


def test_an_edited_pack_file_is_read_again(tmp_path: Path) -> None:
    path = own_pack(tmp_path, pool="甲")
    assert office_pack("wuhu", path).pack.home_pool_name == "甲"
    own_pack(tmp_path, pool="乙")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert office_pack("wuhu", path).pack.home_pool_name == "乙"


@pytest.mark.parametrize("status", list(ClaimStatus))
def test_the_preview_is_the_printed_document(office, status: ClaimStatus) -> None:
    db, _ = office
    number = _number(db, status)
    kind = state_document(status)
    assert kind is not None
    with db.read() as session:
        kept = session.exec(select(func.count()).select_from(PrintedFacts)).one()
    shown = preview(kind, number, PrintContext(db, TODAY))
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(PrintedFacts)).one() == kept
    printed = build_checked(kind, number, PrintContext(db, TODAY, keep_facts=False))
    assert shown.text_lines() == printed.text_lines()
    assert shown.text() == "\n".join(line.text for line in printed.text_lines())
    # the receipt printer lays out the same lines (wrapped): nothing on paper the screen lacks
    receipt = "".join("".join(line.text.split()) for line in layout(printed, 48))
    assert "".join(shown.text().split()) in receipt.replace("-" * 48, "")


def test_each_state_has_its_document() -> None:
    assert state_document("pending_materials") == "missing_notice"
    assert state_document("accepted") == "claim_receipt"
    assert state_document("reviewing") == "claim_receipt"
    assert state_document("settled") == "settlement_slip"
    assert state_document("returned") == "return_notice"
    assert state_document("nothing") is None
