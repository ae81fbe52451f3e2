"""The print queue against real printers on loopback: a TCP listener that receives the bytes,
a port that refuses, one that never answers; retry on another printer; reprints audited."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from counter_app.printing.jobs import list_jobs, reprint, retry, submit
from counter_app.settings import PrinterConfig, Settings
from counter_app.storage.clerks import SignedIn, sign_in
from counter_app.storage.db import Database
from counter_app.storage.demo import DEMO_PASSWORD, DEMO_USER
from tests.support.printing import TODAY, seeded

HANZI_RECEIPT_TITLE = "异地就医备案回执".encode("gb18030")


class Listener:
    """A receipt printer on 127.0.0.1: accepts connections and keeps every byte received."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.received += chunk
        self.done.set()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def office(tmp_path: Path) -> tuple[Database, SignedIn, str]:
    db, number, _ = seeded(tmp_path, "jiangsu")
    signed = sign_in(db, DEMO_USER, DEMO_PASSWORD)
    assert signed is not None
    return db, signed, number


def _settings(tmp_path: Path, *printers: PrinterConfig) -> Settings:
    return Settings(
        policy="jiangsu", today=TODAY, printers=list(printers), db_path=tmp_path / "x.db"
    )


def _audit(db: Database, action: str) -> int:
    with db.read() as session:
        return session.execute(
            text("SELECT count(*) FROM audit_log WHERE action = :a"), {"a": action}
        ).scalar_one()


def test_network_printer_receives_the_receipt(tmp_path: Path, office, listener: Listener) -> None:
    db, signed, number = office
    printer = PrinterConfig(name="1号小票机", kind="network", address=f"127.0.0.1:{listener.port}")
    settings = _settings(tmp_path, printer)
    outcome = submit(db, settings, signed, "1号小票机", "filing_receipt", number, copies=2)
    assert outcome.ok, outcome.message
    assert listener.done.wait(5)
    data = bytes(listener.received)
    assert data.startswith(b"\x1b@") and data.count(HANZI_RECEIPT_TITLE) == 2
    assert data.count(b"\x1dV") == 2  # two copies, each cut
    job = list_jobs(db)[0]
    assert (job.status, job.copies, job.printer, job.attempts) == ("done", 2, "1号小票机", 1)
    assert job.clerk_id == signed.clerk_id and job.kind == "filing_receipt"
    assert _audit(db, "print") == 1


def test_printer_that_is_off_fails_fast_and_the_job_waits(
    tmp_path: Path, office, listener: Listener
) -> None:
    db, signed, number = office
    off = PrinterConfig(name="坏的", kind="network", address=f"127.0.0.1:{_free_port()}")
    good = PrinterConfig(name="好的", kind="network", address=f"127.0.0.1:{listener.port}")
    settings = _settings(tmp_path, off, good)
    started = time.monotonic()
    outcome = submit(db, settings, signed, "坏的", "filing_receipt", number)
    assert time.monotonic() - started < 3
    assert not outcome.ok and "拒绝连接" in outcome.message and "开机" in outcome.message
    job = list_jobs(db)[0]
    assert (job.status, job.attempts) == ("queued", 1) and "拒绝连接" in job.error
    assert _audit(db, "print_failed") == 1

    again = retry(db, settings, outcome.job_id, "好的")
    assert again.ok and again.job_id == outcome.job_id
    assert listener.done.wait(5) and HANZI_RECEIPT_TITLE in listener.received
    job = list_jobs(db)[0]
    assert (job.status, job.printer, job.attempts, job.error) == ("done", "好的", 2, "")


def test_printer_that_never_answers_times_out(tmp_path: Path, office) -> None:
    db, signed, number = office
    # A listener whose backlog is full: the kernel drops further SYNs, so connect hangs.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        mute = PrinterConfig(
            name="不响应", kind="network", address=f"127.0.0.1:{port}", paper="a4", timeout=0.5
        )
        started = time.monotonic()
        outcome = submit(db, _settings(tmp_path, mute), signed, "不响应", "filing_form", number)
        assert time.monotonic() - started < 5
        assert not outcome.ok and "没有响应" in outcome.message
        assert list_jobs(db)[0].status == "queued"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_file_printer_gets_the_pdf_and_a_reprint_is_audited(tmp_path: Path, office) -> None:
    db, signed, number = office
    folder = tmp_path / "prints"
    a4 = PrinterConfig(name="A4", kind="file", address=str(folder), paper="a4")
    settings = _settings(tmp_path, a4)
    first = submit(db, settings, signed, "A4", "filing_form", number)
    assert first.ok
    again = reprint(db, settings, signed, first.job_id)
    assert again.ok and again.job_id != first.job_id
    pdfs = sorted(folder.glob("filing_form-*.pdf"))
    assert len(pdfs) == 2 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    jobs = list_jobs(db)
    assert jobs[0].reprint_of == first.job_id
    assert _audit(db, "reprint") == 1 and _audit(db, "print") == 2


def test_unknown_number_or_printer_stays_queued_with_a_message(tmp_path: Path, office) -> None:
    db, signed, _ = office
    settings = _settings(tmp_path)  # no printers: only the file printer that saves PDFs
    missing = submit(db, settings, signed, "保存为文件", "filing_form", "BA000")
    assert not missing.ok and "没有编号为 BA000 的备案记录" in missing.message
    claim = submit(db, settings, signed, "保存为文件", "settlement_slip", "BX1")
    assert not claim.ok and "没有编号为 BX1 的报销记录" in claim.message
    nowhere = submit(db, settings, signed, "不存在的打印机", "filing_form", "BA000")
    assert not nowhere.ok and "没有名为“不存在的打印机”的打印机" in nowhere.message
    with pytest.raises(ValueError, match="份数"):
        submit(db, settings, signed, "保存为文件", "filing_form", "BA000", copies=0)


class StatusPrinter(Listener):
    """A printer that answers DLE EOT 4 with a paper status byte before taking the job."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            query = conn.recv(3)
            if query == b"\x10\x04\x04":
                conn.sendall(bytes([self.status]))
            while chunk := conn.recv(65536):
                self.received += chunk
        self.done.set()


def test_paper_status_is_asked_and_an_empty_roll_keeps_the_job(tmp_path: Path, office) -> None:
    db, signed, number = office
    out_of_paper, loaded = StatusPrinter(0x72), StatusPrinter(0x12)
    try:
        empty = PrinterConfig(
            name="缺纸", kind="network", address=f"127.0.0.1:{out_of_paper.port}", check_paper=True
        )
        full = PrinterConfig(
            name="有纸", kind="network", address=f"127.0.0.1:{loaded.port}", check_paper=True
        )
        settings = _settings(tmp_path, empty, full)
        outcome = submit(db, settings, signed, "缺纸", "filing_receipt", number)
        assert not outcome.ok and "缺纸" in outcome.message
        assert out_of_paper.done.wait(5) and out_of_paper.received == b""  # nothing was sent
        assert retry(db, settings, outcome.job_id, "有纸").ok
        assert loaded.done.wait(5) and HANZI_RECEIPT_TITLE in loaded.received
    finally:
        out_of_paper.close()
        loaded.close()


def test_the_commitment_letter_is_offered_only_where_one_was_signed(tmp_path: Path) -> None:
    from counter_app.printing.sources import filing_documents
    from counter_app.storage.models import Filing, FilingMaterial

    db, _, _ = seeded(tmp_path, "jiangsu")
    with db.read() as session:
        filings = session.exec(select(Filing)).all()
        signed = {
            m.filing_id
            for m in session.exec(select(FilingMaterial)).all()
            if m.material_id == "commitment_letter"
        }
    assert {f.basis for f in filings} == {"commitment", "materials"}
    for filing in filings:
        with_letter = filing.basis == "commitment" or filing.id in signed
        expected = ["filing_form", "commitment", "filing_receipt"]
        if not with_letter:
            expected.remove("commitment")
        assert filing_documents(db, filing.number) == expected
    assert any(filing_documents(db, f.number) == ["filing_form", "filing_receipt"] for f in filings)


def test_serial_printer_on_a_pseudo_terminal_receives_the_receipt(tmp_path: Path, office) -> None:
    import os
    import tty

    db, signed, number = office
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        printer = PrinterConfig(
            name="串口小票机", kind="serial", address=os.ttyname(slave), paper="58", timeout=1
        )
        outcome = submit(
            db, _settings(tmp_path, printer), signed, "串口小票机", "filing_receipt", number
        )
        assert outcome.ok, outcome.message
        os.set_blocking(master, False)
        received = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except BlockingIOError:
                break
            received += chunk
        assert received.startswith(b"\x1b@") and HANZI_RECEIPT_TITLE in received
    finally:
        os.close(master)
        os.close(slave)


def test_serial_and_usb_printers_that_are_absent_fail_with_a_message(
    tmp_path: Path, office
) -> None:
    db, signed, number = office
    serial = PrinterConfig(
        name="串口", kind="serial", address=str(tmp_path / "ttyNONE"), paper="58"
    )
    usb = PrinterConfig(name="USB", kind="usb", address="0416:5011", paper="80")
    bad_usb = PrinterConfig(name="USB2", kind="usb", address="printer", paper="80")
    settings = _settings(tmp_path, serial, usb, bad_usb)
    assert (
        "串口打印机“串口”" in submit(db, settings, signed, "串口", "filing_receipt", number).message
    )
    assert (
        "USB 打印机“USB”" in submit(db, settings, signed, "USB", "filing_receipt", number).message
    )
    message = submit(db, settings, signed, "USB2", "filing_receipt", number).message
    assert "厂商ID:产品ID" in message
    assert [job.status for job in list_jobs(db)] == ["queued"] * 3
