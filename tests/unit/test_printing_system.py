"""Printer kind ``system``: the A4 PDF handed to CUPS with ``lp`` (issue 15 item 4).

A private CUPS scheduler (``cupsd``, Debian's ``cups`` package) runs for the test on a Unix
socket in a temporary folder, with one queue whose device is CUPS's own ``socket`` backend
pointed at a listener on 127.0.0.1 — so the job goes lp → cupsd → backend → "printer" for real,
and the bytes the printer receives are the PDF (read back with pdftotext). Skipped, saying so,
where CUPS is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.printing.jobs import submit
from counter_app.printing.printers import PrinterError, send
from counter_app.settings import PrinterConfig, Settings
from counter_app.storage.clerks import sign_in
from counter_app.storage.demo import DEMO_PASSWORD, DEMO_USER
from tests.support.printing import TODAY, pdf_text, seeded
from tests.unit.test_printing_queue import Listener

NEEDED = ("cupsd", "lp", "lpadmin")
pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in NEEDED),
    reason="CUPS (cupsd, lp, lpadmin) is not installed: apt-get install cups cups-client",
)

CUPSD_CONF = """Listen {socket}
LogLevel info
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
"""
FILES_CONF = """ServerRoot {root}/server
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/spool
ErrorLog {root}/error_log
AccessLog {root}/access_log
PageLog {root}/page_log
Sandboxing Relaxed
"""


@pytest.fixture
def cups() -> Iterator[tuple[str, Listener]]:
    """A running cupsd with the queue ``counter`` printing to a listener; yields the queue's
    address for the printer config (``counter@socket``) and the listener."""
    # The backend runs as the ``lp`` user: the spool must be reachable, unlike pytest's 0700
    # temporary folders.
    root = Path(tempfile.mkdtemp(prefix="counter-cups-"))
    root.chmod(0o755)
    for folder in ("server", "spool", "cache", "state"):
        (root / folder).mkdir(parents=True)
    socket_path = root / "cups.sock"
    (root / "cupsd.conf").write_text(CUPSD_CONF.format(socket=socket_path))
    (root / "cups-files.conf").write_text(FILES_CONF.format(root=root))
    daemon = subprocess.Popen(
        ["cupsd", "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listener = Listener()
    try:
        for _ in range(100):
            if socket_path.exists():
                break
            time.sleep(0.05)
        subprocess.run(
            [
                "lpadmin",
                "-h",
                str(socket_path),
                "-p",
                "counter",
                "-E",
                "-m",
                "raw",
                "-v",
                f"socket://127.0.0.1:{listener.port}",
            ],
            check=True,
            capture_output=True,
        )
        yield f"counter@{socket_path}", listener
    finally:
        listener.close()
        daemon.terminate()
        daemon.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def test_a_system_printer_prints_the_pdf_through_cups(tmp_path: Path, cups) -> None:
    address, listener = cups
    db, number, _ = seeded(tmp_path, "jiangsu")
    signed = sign_in(db, DEMO_USER, DEMO_PASSWORD)
    assert signed is not None
    printer = PrinterConfig(name="办公室激光打印机", kind="system", address=address, paper="a4")
    settings = Settings(
        policy="jiangsu", today=TODAY, printers=[printer], db_path=tmp_path / "x.db"
    )
    outcome = submit(db, settings, signed, "办公室激光打印机", "filing_form", number)
    assert outcome.ok, outcome.message
    assert "CUPS counter-" in outcome.message  # the CUPS job id, for the queue
    assert listener.done.wait(30), "CUPS never delivered the job to the printer"
    assert bytes(listener.received).startswith(b"%PDF")
    received = tmp_path / "received.pdf"
    received.write_bytes(bytes(listener.received))
    text = pdf_text(received)
    assert number in text and "登记备案表" in text


def test_an_unknown_queue_is_a_message_not_a_crash(cups) -> None:
    address, _ = cups
    server = address.partition("@")[2]
    printer = PrinterConfig(name="激光", kind="system", address=f"nosuch@{server}", paper="a4")
    with pytest.raises(PrinterError, match="激光"):
        send(printer, b"%PDF-1.4", "x.pdf")


def test_without_lp_the_clerk_is_told_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    printer = PrinterConfig(name="激光", kind="system", address="counter", paper="a4")
    with pytest.raises(PrinterError, match="没有 CUPS 的 lp 命令"):
        send(printer, b"%PDF-1.4", "x.pdf")
