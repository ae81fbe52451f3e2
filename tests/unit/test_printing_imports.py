"""Printing is headless and lazy: importing it loads no Textual, and reportlab, Pillow, qrcode
and escpos only when a document is actually rendered or sent."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import counter_app.printing
from tests.unit.test_purity import loaded_after_importing

PRINTING_MODULES = sorted(
    f"counter_app.printing.{m.name}" for m in pkgutil.iter_modules(counter_app.printing.__path__)
)


def test_printing_imports_no_ui_and_no_rendering_library(tmp_path: Path) -> None:
    loaded = loaded_after_importing(PRINTING_MODULES, tmp_path)
    heavy = ("textual", "reportlab", "PIL", "qrcode", "escpos")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
