"""Render every printed document of every region to PNG in ``docs/forms/`` (issue 15 item 6).

A throwaway demo office per region is seeded (the same ``seed_demo`` the app's ``--demo``
uses), each document kind is printed from the first demo record whose state allows it (the
print gate decides, as at the counter), rendered to PDF by the app's renderer and rasterised
with poppler's ``pdftoppm`` (first page: a 备案表's second copy is the same page). Run it after
changing a form in ``forms/``:

    .venv/bin/python tools/render_forms.py            # all regions
    .venv/bin/python tools/render_forms.py wuhu       # one region
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from sqlmodel import select

from counter_app.printing.forms import DOCUMENT_KINDS
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import (
    PrintContext,
    build_checked,
    claim_documents,
    filing_documents,
    load_claim,
)
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.models import Claim, Filing

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "forms"
REGIONS = ("jiangsu", "beijing", "wuhu", "hunan")
TODAY = date(2026, 11, 23)
RESOLUTION = 60  # dpi: the whole A4 page legible on a screen, small in the repository


def first_records(db: Database) -> dict[str, str]:
    """For each document kind, the number of the first demo record that may print it."""
    found: dict[str, str] = {}
    with db.read() as session:
        filings = [f.number for f in session.exec(select(Filing).order_by(Filing.id)).all()]  # type: ignore[arg-type]
        claims = [c.number for c in session.exec(select(Claim).order_by(Claim.id)).all()]  # type: ignore[arg-type]
    for number in filings:
        for kind in filing_documents(db, number):
            found.setdefault(kind, number)
    for number in claims:
        source = load_claim(db, number)
        if source is not None:
            for kind in claim_documents(source):
                found.setdefault(kind, number)
    return found


def render_region(region: str, folder: Path) -> list[Path]:
    """The PNGs of one region's documents."""
    db = Database.open(folder / f"{region}.db")
    seed_demo(db, build_engine(region), TODAY)
    # A fixed signing key: the QR codes (and so the PNGs) are the same on every run.
    context = PrintContext(db, TODAY, qr_key="docs-forms-rendering")
    written: list[Path] = []
    for kind, number in sorted(
        first_records(db).items(), key=lambda k: list(DOCUMENT_KINDS).index(k[0])
    ):
        pdf = folder / f"{region}-{kind}.pdf"
        pdf.write_bytes(render_pdf(build_checked(kind, number, context)).data)
        target = OUT / f"{region}-{kind}"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-gray",
                "-r",
                str(RESOLUTION),
                "-singlefile",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(target),
            ],
            check=True,
        )
        written.append(target.with_suffix(".png"))
    db.close()
    return written


def main(argv: list[str]) -> int:
    regions = argv or list(REGIONS)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for region in regions:
            for path in render_region(region, Path(tmp)):
                print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
