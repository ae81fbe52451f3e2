"""The print queue: every job recorded (document, copies, printer, clerk, time, result).

``submit`` records the job, renders the document for the printer's paper and sends it; a printer
that is off fails fast and the job stays queued with the error, to ``retry`` on the same or
another printer. ``reprint`` repeats a finished job as a new one. Every print is audited (a
printed form carries personal data); the UI runs these in a worker.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace

from sqlmodel import col, select

from counter_app.printing.document import Document
from counter_app.printing.forms import DOCUMENT_KINDS, FormError
from counter_app.printing.gate import NotPrintable
from counter_app.printing.pdf import Rendered, render_pdf
from counter_app.printing.printers import PrinterError, send
from counter_app.printing.qr import parse
from counter_app.printing.receipt import render_receipt
from counter_app.printing.sources import NotFound, PrintContext, build_checked, check, print_context
from counter_app.settings import PrinterConfig, Settings
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import PrintJob, utcnow
from counter_app.storage.records import audit

QUEUED, DONE = "queued", "done"


@dataclass(frozen=True)
class Outcome:
    """How a submission or retry went; ``message`` is for the clerk."""

    job_id: int
    ok: bool
    message: str
    warnings: tuple[str, ...] = ()


def find_printer(settings: Settings, name: str) -> PrinterConfig:
    """The configured printer of that name."""
    for printer in settings.printer_list():
        if printer.name == name:
            return printer
    names = "、".join(p.name for p in settings.printer_list())
    raise PrinterError(f"没有名为“{name}”的打印机（已配置：{names}）")


def render_for(
    printer: PrinterConfig, kind: str, number: str, context: PrintContext, copies: int = 1
) -> Rendered:
    """The bytes this printer needs for ``copies`` sets of the document."""
    document = build_checked(kind, number, context)
    return render_document(printer, document, copies)


def render_document(printer: PrinterConfig, document: Document, copies: int = 1) -> Rendered:
    """The bytes this printer needs for ``copies`` sets of a built document."""
    document = replace(document, copies=document.copies * copies)
    if printer.paper == "a4":
        return render_pdf(document)
    return render_receipt(document, printer.paper, printer.hanzi, printer.qr)


def _attempt(db: Database, settings: Settings, job: PrintJob, printer_name: str) -> Outcome:
    assert job.id is not None
    warnings: list[str] = []
    digest = ""
    try:
        printer = find_printer(settings, printer_name)
        context = print_context(db, settings)
        document = build_checked(job.kind, job.number, context)
        parsed = parse(document.qr_payload)
        digest = parsed.digest if parsed else ""
        rendered = render_document(printer, document, job.copies)
        warnings = rendered.warnings
        suffix = "pdf" if printer.paper == "a4" else "bin"
        where = send(printer, rendered.data, f"{job.kind}-{job.number}-{job.id}.{suffix}")
        status, error, message = DONE, "", f"已发送到“{printer.name}”（{where}）"
    except (PrinterError, NotFound, FormError, NotPrintable) as exc:
        status, error, message = QUEUED, str(exc), f"未打印，已留在打印队列：{exc}"
    with db.write() as session:
        row = session.get(PrintJob, job.id)
        assert row is not None
        row.status, row.error, row.printer = status, error, printer_name
        # The facts this attempt printed (a retry on a later day may print a moved-on record).
        row.facts_digest = digest or row.facts_digest
        row.attempts += 1
        row.updated_at = utcnow()
        session.add(row)
        audit(
            session,
            job.clerk_id,
            "print" if status == DONE else "print_failed",
            "print_job",
            job.id,
            kind=job.kind,
            number=job.number,
            printer=printer_name,
            copies=job.copies,
            facts=digest,
        )
    return Outcome(job.id, status == DONE, message, tuple(warnings))


def submit(
    db: Database,
    settings: Settings,
    clerk: SignedIn,
    printer_name: str,
    kind: str,
    number: str,
    copies: int = 1,
    reprint_of: int | None = None,
) -> Outcome:
    """Record a print job and try to print it at once. A document the record's state does not
    allow (the gate, ``sources.check``) is refused with ``NotPrintable`` before any job is
    recorded (a missing record is recorded and stays queued with the message, to retry)."""
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"文书种类无效：{kind}")
    if not 1 <= copies <= 20:
        raise ValueError("份数应在 1 到 20 之间")
    with suppress(NotFound):  # a missing record is recorded and stays queued, to retry
        check(db, kind, number, settings.pack_file)
    with db.write() as session:
        job = PrintJob(
            office_id=clerk.office_id,
            kind=kind,
            number=number,
            copies=copies,
            printer=printer_name,
            clerk_id=clerk.clerk_id,
            reprint_of=reprint_of,
        )
        session.add(job)
        session.flush()
        if reprint_of is not None:
            audit(session, clerk.clerk_id, "reprint", "print_job", reprint_of, new_job=job.id)
    return _attempt(db, settings, job, printer_name)


def retry(
    db: Database, settings: Settings, job_id: int, printer_name: str | None = None
) -> Outcome:
    """Try a queued job again, on its printer or on another one."""
    with db.read() as session:
        job = session.get(PrintJob, job_id)
    if job is None:
        raise ValueError(f"打印任务 {job_id} 不存在")
    if job.status == DONE:
        return Outcome(job_id, True, "该任务已打印；如需再打一份请用“重印”")
    return _attempt(db, settings, job, printer_name or job.printer)


def reprint(
    db: Database, settings: Settings, clerk: SignedIn, job_id: int, printer_name: str | None = None
) -> Outcome:
    """Print a job's document again as a new, audited job."""
    with db.read() as session:
        job = session.get(PrintJob, job_id)
    if job is None:
        raise ValueError(f"打印任务 {job_id} 不存在")
    return submit(
        db,
        settings,
        clerk,
        printer_name or job.printer,
        job.kind,
        job.number,
        job.copies,
        reprint_of=job_id,
    )


def list_jobs(db: Database, limit: int = 200) -> list[PrintJob]:
    """The newest jobs first (queued ones are the ones to retry)."""
    with db.read() as session:
        statement = select(PrintJob).order_by(col(PrintJob.id).desc()).limit(limit)
        return list(session.exec(statement).all())
