"""Receipts: the ESC/POS byte stream decoded (GB18030/GBK between FS & and FS .), no printer
command from user text, Hanzi taking two columns, the PNG preview at the paper's width."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from counter_app.printing.build import assemble
from counter_app.printing.document import Document, Paragraphs, Table, Title
from counter_app.printing.forms import load_form
from counter_app.printing.receipt import COLUMNS, layout, render_preview, render_receipt
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.printing.text import clean, text_width
from counter_app.storage.db import Database
from tests.support.printing import TODAY, claim_record, office_of, seeded

HANZI = re.compile(rb"\x1c&(.*?)\x1c\.", re.S)
QR_STORE = re.compile(rb"\x1d\(k(..)1P0", re.S)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, str]:
    db, number, _ = seeded(tmp_path_factory.mktemp("office"), "jiangsu")
    return db, number


def _receipt(office, name: str | None = None) -> Document:  # type: ignore[no-untyped-def]
    db, _ = office
    record = claim_record("jiangsu", office_of(db))
    if name is not None:
        record["person"]["name"] = name
    return build("claim_receipt", record, PrintContext(db, TODAY))


def _text_of(stream: bytes, encoding: str) -> str:
    """The receipt's text as the printer decodes it."""
    return "".join(part.decode(encoding) for part in HANZI.findall(stream))


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
@pytest.mark.parametrize("paper", ["58", "80"])
def test_hanzi_mode_stream_decodes_to_the_receipt(office, paper: str, encoding: str) -> None:
    document = _receipt(office)
    data = render_receipt(document, paper, encoding, "native").data  # type: ignore[arg-type]
    assert data.startswith(b"\x1b@")
    assert data.endswith(b"\x1dV\x42\x03")
    text = _text_of(data, encoding)
    for expected in ("零星报销受理回执", "王秀英", "110105********002X", "￥12000.00", "办结期限"):
        assert expected in text
    assert "11010519491231002X" not in text  # receipts carry the masked number only
    assert b"?" not in b"".join(HANZI.findall(data))
    stored = QR_STORE.search(data)
    assert stored is not None
    length = int.from_bytes(stored.group(1), "little") - 3
    start = stored.end()
    assert data[start : start + length].decode("ascii") == document.qr_payload


def test_injected_commands_in_user_text_never_reach_the_printer(office) -> None:
    document = _receipt(office, "张三\x1b@\x1dV\x00\x1bp\x00\x19\xfa\x9b")
    data = render_receipt(document, "58", "gb18030", "image").data
    assert data.count(b"\x1b@") == 1  # only our own reset at the start
    data = render_receipt(document, "58", "gb18030", "native").data
    assert data.count(b"\x1b@") == 1
    assert b"\x1bp" not in data  # no cash-drawer kick
    assert data.count(b"\x1dV") == 1  # only our own cut at the end
    text = _text_of(data, "gb18030")
    assert "张三@V" in text and "\x1b" not in text and "\x9b" not in text


def test_clean_strips_controls_and_fixes_the_yen_sign() -> None:
    assert clean("张三\x1b@\x1dV\x00\x7f\x85\n李四\t¥5") == "张三@V\n李四 ￥5"


@pytest.mark.parametrize("paper", ["58", "80"])
def test_lines_fit_the_paper_with_hanzi_two_columns_wide(office, paper: str) -> None:
    db, number = office
    document = build("filing_form", load_record(db, "filing_form", number), PrintContext(db, TODAY))
    lines = layout(document, COLUMNS[paper])
    assert all(text_width(line.text) <= COLUMNS[paper] for line in lines)
    assert text_width("张三ab") == 6
    full = [line.text for line in lines if text_width(line.text) == COLUMNS[paper]]
    assert full  # long notices do fill whole lines


def test_a_character_gbk_lacks_is_printed_as_an_image_and_reported(office) -> None:
    document = _receipt(office, "王𬍛明")  # U+2C35B: in GB18030, not in GBK
    rendered = render_receipt(document, "80", "gbk", "native")
    assert any("𬍛" in warning for warning in rendered.warnings)
    assert b"\x1dv0" in rendered.data  # that line went as a raster image
    assert "王𬍛明" not in _text_of(rendered.data, "gbk")
    assert b"?" not in b"".join(HANZI.findall(rendered.data))
    in_gb18030 = render_receipt(document, "80", "gb18030", "native")
    assert in_gb18030.warnings == []
    assert "王𬍛明" in _text_of(in_gb18030.data, "gb18030")


def test_image_mode_and_image_qr_send_rasters_only(office) -> None:
    data = render_receipt(_receipt(office), "58", "image", "image").data
    assert HANZI.search(data) is None
    assert b"\x1d(k" not in data
    header = re.search(rb"\x1dv0\x00(..)(..)", data, re.S)
    assert header is not None and int.from_bytes(header.group(1), "little") == 384 // 8


@pytest.mark.parametrize(("paper", "width"), [("58", 384), ("80", 576)])
def test_png_preview_has_the_paper_width(office, paper: str, width: int, tmp_path: Path) -> None:
    rendered = render_preview(_receipt(office), paper)  # type: ignore[arg-type]
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == "PNG"
    assert image.width == width
    assert image.height > 300
    # ink on the page: the text and the QR code were drawn
    assert image.convert("L").getextrema()[0] == 0


def test_layout_of_a_form_uses_its_blocks() -> None:
    form = load_form("missing_notice", "hunan")
    document = assemble(
        form,
        "BX1",
        {
            "number": "BX1",
            "name": "张三",
            "id_masked": "110105********002X",
            "treatment_label": "住院",
            "office_name": "某中心",
            "office_phone": "1",
            "office_address": "某路1号",
            "office_hours": "工作日",
            "clerk_name": "李",
            "today": "2026-11-23",
            "come_back_where": "某中心零星报销窗口",
            "come_back_when": "材料补齐后任一工作日",
        },
        {"missing_items": ["诊断证明", "出院小结"], "present_items": ["发票"]},
        "YB1:GZS:BX1:1:AAAA",
    )
    assert isinstance(document.blocks[0], Title)
    assert isinstance(document.blocks[1], Table)
    assert any(isinstance(b, Paragraphs) and "诊断证明" in b.items for b in document.blocks)
    texts = [line.text for line in layout(document, 32)]
    assert "1. 诊断证明" in texts and "2. 出院小结" in texts
