"""Printing throughput: PDFs per second for the 登记备案表 and the 零星报销结算单, and the bytes
of a receipt job per paper width and Hanzi mode.

    python benchmarks/print_bench.py [--seconds 5] [--policy jiangsu]

Seeds a demo office database in a temporary folder, then for a few seconds each builds the
document (reading the filing from SQLite, signing the QR code) and renders it to PDF, and prints
documents per second. The font registration (once per process) is timed on its own. Not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import select

from counter_app.printing.fonts import register
from counter_app.printing.pdf import render_pdf
from counter_app.printing.receipt import render_preview, render_receipt
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.models import Filing, Office

TODAY = date(2026, 11, 23)


def _claim(policy: str, office: Office) -> dict[str, Any]:
    request = {
        "policy": policy,
        "today": "2026-03-02",
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "long_term",
        "treatment": "inpatient",
        "hospital_level": 3,
        "admission_date": "2026-02-01",
        "discharge_date": "2026-02-10",
        "materials": ["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"],
        "amounts": {"total": "12000.00", "in_scope": "10000.00", "class_b_self": "1000.00",
                    "over_limit_self": "500.00", "self_pay": "500.00"},
    }  # fmt: skip
    result = build_engine(policy).claim(request).model_dump(mode="json")
    return {
        "number": "BX3201022026030200001",
        "status": "accepted",
        "person": {"name": "王秀英", "id_number": "11010519491231002X", "sex": "女",
                   "phone": "13800138000", "address": "南京市玄武区中山路1号"},
        "request": request,
        "result": result,
        "accepted_on": "2026-03-02",
        "due_date": result["due_date"],
        "office": {"code": office.code, "name": office.name, "phone": office.phone},
        "clerk_name": "演示经办人",
        "hospital": {"name": "北京大学第一医院", "place": "北京市", "diagnosis_main": "肺炎"},
    }  # fmt: skip


def _rate(seconds: float, job: Callable[[], int]) -> tuple[float, float, int]:
    """Jobs per second of wall time and of this process's CPU time (the machine is shared:
    the CPU figure is what one core does when the others are busy), and the last size."""
    count, size = 0, 0
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        size = job()
        count += 1
    wall = time.perf_counter() - started
    return count / wall, count / (time.process_time() - cpu), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--policy", default="jiangsu")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(Path(folder) / "bench.db")
        seed_demo(db, build_engine(args.policy), TODAY, persons=10)
        with db.read() as session:
            number = session.exec(select(Filing.number)).first()
            office = session.exec(select(Office)).one()
        assert number is not None
        context = PrintContext(db, TODAY)
        claim = _claim(args.policy, office)

        started = time.perf_counter()
        register()
        print(
            f"字体注册（每进程一次） font registration, once: {time.perf_counter() - started:.3f} s"
        )

        def filing_form() -> int:
            document = build("filing_form", load_record(db, "filing_form", number), context)
            return len(render_pdf(document).data)

        def slip() -> int:
            return len(render_pdf(build("settlement_slip", claim, context)).data)

        for label, job in (("登记备案表 filing form (2 copies)", filing_form),
                           ("零星报销结算单 settlement slip", slip)):  # fmt: skip
            rate, cpu_rate, size = _rate(args.seconds, job)
            print(
                f"{label}: {rate:.1f} PDF/s wall, {cpu_rate:.1f} PDF/s CPU, {size / 1024:.0f} KiB"
            )

        receipt = build("claim_receipt", claim, context)
        print("受理回执 claim receipt, bytes per job:")
        for paper in ("58", "80"):
            for hanzi in ("gb18030", "gbk", "image"):
                for qr in ("native", "image"):
                    data = render_receipt(receipt, paper, hanzi, qr).data  # type: ignore[arg-type]
                    print(f"  {paper} mm, hanzi={hanzi:<7} qr={qr:<6}: {len(data):>6} bytes")
        rate, cpu_rate, _ = _rate(args.seconds / 2, lambda: len(render_preview(receipt, "80").data))
        print(f"小票预览 PNG receipt previews: {rate:.1f}/s wall, {cpu_rate:.1f}/s CPU")
        db.close()


if __name__ == "__main__":
    main()
