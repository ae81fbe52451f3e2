"""The one PDF renderer: a ``Document`` on A4 with the bundled CJK font embedded as a subset.

Every string is escaped before it reaches a ``Paragraph`` (user text is never markup) and wraps
the CJK way inside its cell; checkboxes are vector squares (the font has no ☐☑); the QR code is
drawn as vectors too. Characters the font lacks are returned as warnings, never dropped silently.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from counter_app.printing.document import (
    Choice,
    Document,
    Line,
    Note,
    Paragraphs,
    Signature,
    Table,
    Title,
)
from counter_app.printing.fonts import CJK_FONT, missing_glyphs, register, runs

log = logging.getLogger(__name__)

BODY_SIZE = 10
BOX = 8  # side of a checkbox in points


@dataclass(frozen=True)
class Rendered:
    """The rendered bytes and what could not be drawn."""

    data: bytes
    warnings: list[str] = field(default_factory=list)


def glyph_warnings(document: Document) -> list[str]:
    """A warning naming the characters the bundled font lacks (empty when all are there)."""
    missing = missing_glyphs(document.strings())
    if not missing:
        return []
    codes = "、".join(f"U+{ord(c):04X}" for c in missing)
    return [f"字体缺少以下字符，打印时会显示为空白：{codes}，请核对后手写补全"]


FIT_SCALES = (1.0, 0.9, 0.8, 0.7, 0.6)
"""Table text sizes tried in turn until each copy fits on one page (long names, addresses)."""


def _styles(font: str, scale: float = 1.0) -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle(
        "body", fontName=font, fontSize=BODY_SIZE, leading=BODY_SIZE * 1.45, wordWrap="CJK"
    )
    return {
        "body": base,
        "scale": scale,
        "cell": ParagraphStyle("cell", base, fontSize=9.5 * scale, leading=13 * scale),
        "label": ParagraphStyle(
            "label", base, fontSize=9.5 * scale, leading=13 * scale, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title", base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=8
        ),
        "left": ParagraphStyle("left", base, alignment=TA_LEFT, spaceBefore=4, spaceAfter=4),
        "center": ParagraphStyle("center", base, alignment=TA_CENTER),
        "right": ParagraphStyle("right", base, alignment=TA_RIGHT, spaceBefore=4, spaceAfter=4),
        "heading": ParagraphStyle("heading", base, fontSize=10.5, spaceBefore=6, spaceAfter=2),
        "item": ParagraphStyle("item", base, firstLineIndent=2 * BODY_SIZE, spaceAfter=1),
        "note": ParagraphStyle("note", base, fontSize=8.5, leading=12, spaceBefore=6),
        "copy": ParagraphStyle("copy", base, fontSize=8, alignment=TA_RIGHT),
    }


def markup(text: str) -> str:
    """Escaped Paragraph markup of a plain string, runs the CJK font lacks in the Latin font.

    Ideographic spaces (the blanks left for a signature or a date) would collapse like any
    whitespace; they become non-breaking spaces, which a Paragraph keeps.
    """
    text = text.replace("\u3000", "\xa0\xa0\xa0")
    return "".join(
        escape(part) if font == CJK_FONT else f'<font face="{font}">{escape(part)}</font>'
        for font, part in runs(text)
    ).replace("\n", "<br/>")


def _para(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(markup(text), style)


#: The tallest a table cell may grow (points): a table row cannot break across pages, so a longer
#: text is set smaller, and as a last resort cut (with a warning) rather than fail the document.
MAX_CELL_HEIGHT = 160.0
_SMALLER = (8.5, 7.5, 6.5, 6.0)
_CUT = "…（过长，已截断）"


def fitted_para(text: str, style: Any, width: float, notes: list[str] | None = None) -> Any:
    """A Paragraph that fits ``width`` × ``MAX_CELL_HEIGHT``: wrapped, shrunk, or cut."""
    from reportlab.lib.styles import ParagraphStyle

    def height(candidate: str, candidate_style: Any) -> float:
        return float(_para(candidate, candidate_style).wrap(width, 1e6)[1])

    if height(text, style) <= MAX_CELL_HEIGHT:
        return _para(text, style)
    smaller = style
    for size in _SMALLER:
        if size >= style.fontSize:
            continue
        smaller = ParagraphStyle(f"{style.name}-{size}", style, fontSize=size, leading=size * 1.3)
        if height(text, smaller) <= MAX_CELL_HEIGHT:
            return _para(text, smaller)
    low, high = 0, len(text)  # the longest prefix that fits with the mark
    while low < high:
        middle = (low + high + 1) // 2
        if height(text[:middle] + _CUT, smaller) <= MAX_CELL_HEIGHT:
            low = middle
        else:
            high = middle - 1
    if notes is not None:
        notes.append(f"“{text[:12]}…”过长（{len(text)} 字），表格中只印出前 {low} 字")
    return _para(text[:low] + _CUT, smaller)


def _choice_flowable(choice: Choice, font: str) -> Any:
    """Options laid out left to right, wrapping; each a vector box, ticked with a check mark."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Flowable

    size, gap, line_height = 9.5, 10.0, 13.0

    class ChoiceBoxes(Flowable):
        def wrap(self, avail_width: float, _avail_height: float) -> tuple[float, float]:
            self._places: list[tuple[float, float, str, bool]] = []
            x, y = 0.0, 0.0
            for label, ticked in choice.options:
                width = BOX + 3 + sum(stringWidth(p, f, size) for f, p in runs(label))
                if x > 0 and x + width > avail_width:
                    x, y = 0.0, y + line_height
                self._places.append((x, y, label, ticked))
                x += width + gap
            self._height = y + line_height
            return avail_width, self._height

        def draw(self) -> None:
            canvas = self.canv
            canvas.setLineWidth(0.7)
            for x, y, label, ticked in self._places:
                base = self._height - y - line_height + 3
                canvas.rect(x, base - 0.5, BOX, BOX)
                if ticked:
                    path = canvas.beginPath()
                    path.moveTo(x + 1.5, base + 3.5)
                    path.lineTo(x + 3.5, base + 1.2)
                    path.lineTo(x + BOX - 1.2, base + BOX - 1.2)
                    canvas.drawPath(path, stroke=1, fill=0)
                text = canvas.beginText(x + BOX + 3, base)
                for run_font, part in runs(label):
                    text.setFont(run_font, size)
                    text.textOut(part)
                canvas.drawText(text)

    return ChoiceBoxes()


def _table(block: Table, width: float, styles: dict[str, Any], font: str, notes: list[str]) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    columns = len(block.widths)
    unit = width / sum(block.widths)
    data: list[list[Any]] = []
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for r, row in enumerate(block.rows):
        cells: list[Any] = []
        for c, cell in enumerate(row):
            if isinstance(cell, Choice):
                cells.append(_choice_flowable(cell, font))
            else:
                style = styles["label" if c % 2 == 0 else "cell"]
                cell_width = _cell_width(block, r, c, len(row)) * unit
                cells.append(fitted_para(cell, style, cell_width - 6, notes))
        if block.spans:  # cells placed on the grid, each over its columns
            cells, commands = _spanned(cells, block.spans[r], r, columns, commands)
        elif len(row) < columns:
            commands.append(("SPAN", (len(row) - 1, r), (columns - 1, r)))
            cells += [""] * (columns - len(row))
        data.append(cells)
    table = RLTable(
        data,
        colWidths=[w * unit for w in block.widths],
        minRowHeights=[24 * styles["scale"]] * len(data),
    )
    table.setStyle(TableStyle(commands))
    return table


def _cell_width(block: Table, r: int, c: int, cells: int) -> float:
    """The width (in the table's units) of cell ``c`` of row ``r``: the columns it covers."""
    columns = len(block.widths)
    if block.spans:
        spans = list(block.spans[r])
        spans[-1] += max(0, columns - sum(spans))  # a short row's last cell spans the rest
        start = sum(spans[:c])
        return float(sum(block.widths[start : start + spans[c]]))
    last = c == cells - 1 and cells < columns  # a short row's last cell spans the rest
    return float(sum(block.widths[c:] if last else block.widths[c : c + 1]))


def _spanned(
    cells: list[Any], spans: tuple[int, ...], r: int, columns: int, commands: list[Any]
) -> tuple[list[Any], list[Any]]:
    """A row's cells on the table grid: each followed by blanks for the columns it spans."""
    widths = list(spans)
    widths[-1] += max(0, columns - sum(widths))  # a short row's last cell spans the rest
    placed: list[Any] = []
    for cell, span in zip(cells, widths, strict=True):
        if span > 1:
            commands.append(("SPAN", (len(placed), r), (len(placed) + span - 1, r)))
        placed += [cell] + [""] * (span - 1)
    return placed, commands


@lru_cache(maxsize=64)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (error correction M, 2-module quiet zone), encoded once per payload."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(payload)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def _qr(payload: str, side: float = 64.0) -> Any:
    """The QR code as one vector path of dark modules, right-aligned."""
    from reportlab.platypus import Flowable

    matrix = qr_matrix(payload)
    module = side / len(matrix)

    class QrFlowable(Flowable):
        def wrap(self, _avail_width: float, _avail_height: float) -> tuple[float, float]:
            return side, side

        def draw(self) -> None:
            path = self.canv.beginPath()
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    if dark:
                        path.rect(c * module, side - (r + 1) * module, module, module)
            self.canv.drawPath(path, stroke=0, fill=1)

    flowable = QrFlowable()
    flowable.hAlign = "RIGHT"
    return flowable


def _story(
    document: Document, width: float, styles: dict[str, Any], font: str, notes: list[str]
) -> list[Any]:
    from reportlab.platypus import KeepTogether, Spacer

    story: list[Any] = []
    for block in document.blocks:
        if isinstance(block, Title):
            story.append(_para(block.text, styles["title"]))
        elif isinstance(block, Line):
            story.append(_para(block.text, styles.get(block.align, styles["left"])))
        elif isinstance(block, Table):
            story.append(_table(block, width, styles, font, notes))
        elif isinstance(block, Paragraphs):
            if block.heading:
                story.append(_para(block.heading, styles["heading"]))
            for index, item in enumerate(block.items, 1):
                text = f"{index}. {item}" if block.numbered else item
                story.append(_para(text, styles["item"]))
        elif isinstance(block, Signature):
            story += [Spacer(1, 18), _para(block.text, styles["right"])]
        elif isinstance(block, Note):
            story.append(_para(block.text, styles["note"]))
    story += [Spacer(1, 6), KeepTogether([_qr(document.qr_payload)])]
    story.append(_para(f"扫码核验：{document.qr_payload}", styles["copy"]))
    return story


def render_pdf(document: Document) -> Rendered:
    """The document on A4, ``copies`` times (each copy from a new page, labelled)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    font = register()
    for scale in FIT_SCALES:  # the first table size at which each copy is one page
        buffer = io.BytesIO()
        template = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=f"{document.name} {document.number}",
            author="counter_app",
            invariant=1,
        )
        styles = _styles(font, scale)
        story: list[Any] = []
        notes: list[str] = []
        for copy in range(document.copies):
            if copy:
                story.append(PageBreak())
            if document.copy_labels:
                label = document.copy_labels[copy % len(document.copy_labels)]
                story.append(_para(label, styles["copy"]))
            story += _story(document, template.width, styles, font, notes)
        template.build(story)
        if template.page <= document.copies:
            break
    warnings = glyph_warnings(document) + list(dict.fromkeys(notes))
    for warning in warnings:
        log.warning("%s %s: %s", document.kind, document.number, warning)
    return Rendered(buffer.getvalue(), warnings)
