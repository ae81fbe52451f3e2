"""The one receipt renderer: a ``Document`` as ESC/POS bytes for 58/80 mm paper, and a PNG
preview drawn from the same layout.

Lines are laid out in printer columns (32 on 58 mm, 48 on 80 mm; a Hanzi takes two). Chinese is
sent in the printer's Hanzi mode (FS & … FS .) as GB18030 or GBK bytes that we encode ourselves
with ``errors="strict"``; a line the encoding cannot take is printed as an image and reported,
never as ``?``. The "image" Hanzi mode rasterises the whole text. User text has had its control
characters removed (``text.clean``), and is cleaned again here, so no user byte is a command.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any, Literal

from counter_app.printing.document import Document
from counter_app.printing.fonts import CJK_FONT, font_for, font_path, missing_glyphs
from counter_app.printing.pdf import Rendered
from counter_app.printing.text import char_width, clean, text_width, wrap

log = logging.getLogger(__name__)

Paper = Literal["58", "80"]
HanziMode = Literal["gb18030", "gbk", "image"]
QrMode = Literal["native", "image"]

COLUMNS = {"58": 32, "80": 48}
DOTS = {"58": 384, "80": 576}
LINE_DOTS = 30  # height of a text line in the preview and in raster printing

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
HANZI_ON, HANZI_OFF = FS + b"&", FS + b"."
CUT = GS + b"V\x42\x03"  # feed 3 lines, partial cut


@dataclass(frozen=True)
class ReceiptLine:
    """One printed line: its text (fits the columns), alignment and weight."""

    text: str
    align: Literal["left", "center"] = "left"
    bold: bool = False


def layout(document: Document, columns: int) -> list[ReceiptLine]:
    """The document as receipt lines of at most ``columns`` columns."""
    out: list[ReceiptLine] = []

    def add(text: str, indent: int = 0, **style: Any) -> None:
        out.extend(ReceiptLine(line, **style) for line in wrap(clean(text), columns, indent))

    for line in document.text_lines():  # the same lines the screen previews show
        if line.role == "title":
            add(line.text, align="center", bold=True)
            out.append(ReceiptLine("-" * columns))
        elif line.role == "signature":
            out.append(ReceiptLine(""))
            add(line.text)
        elif line.role == "heading":
            add(line.text, bold=True)
        else:
            add(line.text, indent=2 if line.role in ("field", "item") else 0)
    out.append(ReceiptLine("-" * columns))
    return out


# -- drawing (preview and raster) ----------------------------------------------------------


def _fonts(size: int) -> dict[str, Any]:
    from PIL import ImageFont

    from counter_app.printing.fonts import FONT_FILES

    return {
        name: ImageFont.truetype(str(font_path(name)), size if name == CJK_FONT else size - 5)
        for name in FONT_FILES
    }


def _draw_lines(lines: list[ReceiptLine], paper: Paper) -> Any:
    """The lines drawn on the printer's column grid (a Hanzi two columns wide), as an image."""
    from PIL import Image, ImageDraw

    dots, columns = DOTS[paper], COLUMNS[paper]
    cell = dots // columns
    fonts = _fonts(2 * cell)
    image = Image.new("L", (dots, max(1, len(lines)) * LINE_DOTS), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        col = (columns - text_width(line.text)) // 2 if line.align == "center" else 0
        for char in line.text:
            x, baseline = col * cell, row * LINE_DOTS + LINE_DOTS - 6
            for dx in (0, 1) if line.bold else (0,):
                draw.text((x + dx, baseline), char, font=fonts[font_for(char)], fill=0, anchor="ls")
            col += char_width(char)
    return image


def _qr_image(payload: str, dots: int) -> Any:
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=5)
    code.add_data(payload)
    code.make(fit=True)
    qr = code.make_image().get_image().convert("L")
    canvas = Image.new("L", (dots, qr.height + 10), 255)
    canvas.paste(qr, ((dots - qr.width) // 2, 5))
    return canvas


def _stack(images: list[Any]) -> Any:
    from PIL import Image

    width = max(i.width for i in images)
    out = Image.new("L", (width, sum(i.height for i in images)), 255)
    y = 0
    for image in images:
        out.paste(image, (0, y))
        y += image.height
    return out


def _raster(image: Any) -> bytes:
    """GS v 0 raster commands for an image (1 = black), in bands the printers' buffers take."""
    from PIL import ImageOps

    bits = ImageOps.invert(image.convert("L")).convert("1")
    width_bytes = (bits.width + 7) // 8
    out = bytearray()
    for top in range(0, bits.height, 240):
        band = bits.crop((0, top, width_bytes * 8, min(bits.height, top + 240)))
        out += GS + b"v0\x00" + width_bytes.to_bytes(2, "little")
        out += band.height.to_bytes(2, "little") + band.tobytes()
    return bytes(out)


def _native_qr(payload: str) -> bytes:
    """GS ( k: model 2, module size 6, error correction M, store, print."""
    data = payload.encode("ascii")
    store = (len(data) + 3).to_bytes(2, "little")
    return (
        ESC + b"a\x01"
        + GS + b"(k\x04\x001A2\x00"
        + GS + b"(k\x03\x001C\x06"
        + GS + b"(k\x03\x001E1"
        + GS + b"(k" + store + b"1P0" + data
        + GS + b"(k\x03\x001Q0"
        + b"\n" + ESC + b"a\x00"
    )  # fmt: skip


# -- output ----------------------------------------------------------------------------------


def _font_warnings(document: Document) -> list[str]:
    missing = missing_glyphs(document.strings())
    if not missing:
        return []
    return ["字体缺少字符 " + "、".join(f"U+{ord(c):04X}" for c in missing) + "，小票图像中为空白"]


def render_receipt(
    document: Document, paper: Paper = "80", hanzi: HanziMode = "gb18030", qr: QrMode = "native"
) -> Rendered:
    """The ESC/POS byte stream of a receipt (``copies`` times, cut after each)."""
    lines = layout(document, COLUMNS[paper])
    warnings: list[str] = []
    body = bytearray()
    if hanzi == "image":
        body += _raster(_draw_lines(lines, paper))
        warnings += _font_warnings(document)
    else:
        for number, line in enumerate(lines, 1):
            try:
                encoded = line.text.encode(hanzi, errors="strict")
            except UnicodeEncodeError as exc:
                bad = line.text[exc.start : exc.end]
                warnings.append(
                    f"第{number}行含{hanzi.upper()}编码没有的字符“{bad}”，该行已按图像打印"
                )
                body += _raster(_draw_lines([line], paper))
                continue
            body += ESC + b"a" + (b"\x01" if line.align == "center" else b"\x00")
            body += ESC + b"E" + (b"\x01" if line.bold else b"\x00")
            body += HANZI_ON + encoded + HANZI_OFF if not line.text.isascii() else encoded
            body += b"\n"
        body += ESC + b"E\x00" + ESC + b"a\x00"
    code = _native_qr(document.qr_payload) if qr == "native" else None
    if code is None:
        code = _raster(_qr_image(document.qr_payload, DOTS[paper]))
    one = bytes(body) + code + CUT
    for warning in warnings:
        log.warning("%s %s: %s", document.kind, document.number, warning)
    return Rendered(INIT + one * max(1, document.copies), warnings)


def render_preview(document: Document, paper: Paper = "80") -> Rendered:
    """A PNG of the receipt as the printer draws it (one copy), the paper's width in dots."""
    lines = layout(document, COLUMNS[paper])
    image = _stack([_draw_lines(lines, paper), _qr_image(document.qr_payload, DOTS[paper])])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return Rendered(buffer.getvalue(), _font_warnings(document))
