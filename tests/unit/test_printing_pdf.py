"""Every document for every region as a real PDF: text extracted by pdftotext, pages rasterised
by pdftoppm, fonts checked by pdffonts (embedded subsets), with realistic and extreme data."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter_app.domain.claim_documents import one_time_notice
from counter_app.packs import shipped_pack
from counter_app.printing.build import cited
from counter_app.printing.document import Choice, Table
from counter_app.printing.forms import CLAIM_KINDS, FILING_KINDS, load_form
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.storage.db import Database
from tests.support.printing import (
    LONG_ADDRESS,
    LONG_HOSPITAL,
    LONGEST_NAME,
    POLICIES,
    TODAY,
    claim_record,
    office_of,
    pdf_fonts,
    pdf_pages,
    pdf_text,
    seeded,
)

TITLES = {
    ("filing_form", "beijing"): "北京市跨省异地就医登记备案表",
    ("filing_form", "jiangsu"): "江苏省异地就医登记备案表",
    ("filing_form", "wuhu"): "安徽省异地就医登记备案表",
    ("filing_form", "hunan"): "湖南省异地就医登记备案表",
    ("commitment", "beijing"): "基本医疗保险跨省异地就医备案个人承诺书",
    ("commitment", "jiangsu"): "长期异地居住人员个人承诺书",
    ("filing_receipt", "jiangsu"): "异地就医备案回执",
    ("injury_commitment", "jiangsu"): "外伤无第三方责任承诺书",
    ("commitment", "wuhu"): "安徽省异地就医备案个人承诺书",
    ("commitment", "hunan"): "基本医疗保险异地就医备案个人承诺书",
    ("injury_commitment", "wuhu"): "安徽省异地就医外伤无第三方责任承诺书",
    ("settlement_slip", "jiangsu"): "南京市异地就医住院结算单",
    ("settlement_slip", "beijing"): "北京市跨省异地就医住院结算单",
    ("settlement_slip", "wuhu"): "安徽省异地就医住院结算单",
    ("settlement_slip", "hunan"): "湖南省异地就医住院结算单",
    ("missing_notice", "jiangsu"): "零星报销材料一次性告知书",
    ("claim_receipt", "jiangsu"): "零星报销受理回执",
}
# Wording each region's form must carry (from the seeds, or the region's own notice).
WORDING = {
    ("filing_form", "beijing"): "未按规定办理登记备案手续，或在就医地非跨省定点医疗机构",
    ("commitment", "beijing"): "不适用于跨省异地转诊就医和门诊特殊病跨省异地就医的备案",
    ("commitment", "jiangsu"): "长期异地居住人员申请多地备案时，不可使用承诺制备案",
    ("commitment", "wuhu"): "个人承诺书备案每年限办理一次",
    ("commitment", "hunan"): "须在6个月内补齐认定材料",
    ("injury_commitment", "beijing"): "刑法第二百六十六条",
    ("settlement_slip", "hunan"): "总费用=基金支付合计金额+个人现金支付金额",
}


@pytest.fixture(scope="module")
def offices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Database, str, str]]:
    """One seeded database per region, shared by this module's tests (read-only here)."""
    root = tmp_path_factory.mktemp("offices")
    return {policy: seeded(root, policy) for policy in POLICIES}


def _document(offices, kind: str, policy: str, *, extreme: bool):  # type: ignore[no-untyped-def]
    db, realistic, long_one = offices[policy]
    context = PrintContext(db, TODAY)
    if kind in FILING_KINDS:
        record = load_record(db, kind, long_one if extreme else realistic)
    else:
        record = claim_record(policy, office_of(db), extreme=extreme)
    return build(kind, record, context), record


@pytest.mark.parametrize("extreme", [False, True], ids=["realistic", "extreme"])
@pytest.mark.parametrize("kind", FILING_KINDS + CLAIM_KINDS)
@pytest.mark.parametrize("policy", POLICIES)
def test_every_document_renders_with_its_chinese_text(
    tmp_path: Path, offices, policy: str, kind: str, extreme: bool
) -> None:
    document, record = _document(offices, kind, policy, extreme=extreme)
    rendered = render_pdf(document)
    assert rendered.warnings == []
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(rendered.data)

    extracted = pdf_text(path)
    title = TITLES.get((kind, policy)) or TITLES.get((kind, "jiangsu"), "")
    if (kind, policy) in TITLES or kind not in ("filing_form", "commitment", "settlement_slip"):
        assert title in extracted
    assert document.number in extracted
    assert document.qr_payload in extracted
    if (kind, policy) in WORDING:
        assert WORDING[kind, policy] in extracted
    name = LONGEST_NAME if extreme else record["person"]["name"]
    assert name in extracted
    if extreme and kind in ("filing_form", "settlement_slip", "injury_commitment"):
        if kind == "filing_form":
            assert LONG_ADDRESS in extracted  # wrapped inside its cell, none of it lost
        if kind == "settlement_slip":
            assert LONG_HOSPITAL in extracted
    if kind == "settlement_slip":
        payment = record["result"]["payment"]
        for fund in payment["funds"]:
            assert fund["name"] + fund["amount"] in extracted
        assert "本次起付标准" + payment["deductible"] in extracted
        if extreme:
            assert "3456789.12" in extracted  # amounts in the millions
    if kind == "missing_notice":  # the screen's items, with their citations if the region's own
        own = tuple(d.cite_as for d in shipped_pack(policy).pack.documents)
        for item in one_time_notice(record)["items"]:
            expected = item["text"] + cited(item["citation"], own)
            assert "".join(expected.split()) in extracted

    # one page per copy, even with the longest name, address and hospital
    assert pdf_pages(path, tmp_path) == load_form(kind, policy).copies

    fonts = {row[0].split("+")[-1]: row for row in pdf_fonts(path)}
    for font in ("DroidSansFallback", "DejaVuSans"):
        assert fonts[font][3:5] == ["yes", "yes"], fonts  # embedded, as a subset


def test_filing_form_prints_two_labelled_copies(tmp_path: Path, offices) -> None:
    document, _ = _document(offices, "filing_form", "beijing", extreme=False)
    path = tmp_path / "form.pdf"
    path.write_bytes(render_pdf(document).data)
    extracted = pdf_text(path)
    assert extracted.count("北京市跨省异地就医登记备案表") == 2
    assert "第一联经办机构存档" in extracted and "第二联参保人员留存" in extracted
    assert pdf_pages(path, tmp_path) == 2


def test_checkboxes_follow_the_filing(offices) -> None:
    document, record = _document(offices, "filing_form", "beijing", extreme=False)
    choices = [
        cell
        for block in document.blocks
        if isinstance(block, Table)
        for row in block.rows
        for cell in row
        if isinstance(cell, Choice)
    ]
    insurance = {"employee": "1.职工医保", "resident": "2.居民医保"}[record["insurance"]]
    assert choices[0].chosen == insurance
    assert (
        choices[2].chosen
        == {"new": "1.新增", "change": "2.变更", "cancel": "3.取消"}[record["action"]]
    )
    long_term = record["category"] in ("retired_resettled", "long_term_resident", "posted_worker")
    assert choices[1].chosen == (
        "1.异地长期居住人员" if long_term else "2.其他跨省临时外出就医人员"
    )


def test_user_text_is_never_markup(tmp_path: Path, offices) -> None:
    db = offices["jiangsu"][0]
    record = claim_record("jiangsu", office_of(db))
    record["person"]["name"] = "a<b>c</b>&<font size=40>张</font>"
    record["hospital"]["name"] = "<para>医院 & 诊所"
    document = build("settlement_slip", record, PrintContext(db, TODAY))
    path = tmp_path / "slip.pdf"
    path.write_bytes(render_pdf(document).data)
    extracted = pdf_text(path)
    assert "a<b>c</b>&<fontsize=40>张</font>" in extracted
    assert "<para>医院&诊所" in extracted


def test_missing_glyphs_are_reported(offices) -> None:
    db = offices["jiangsu"][0]
    record = claim_record("jiangsu", office_of(db))
    record["person"]["name"] = "王\U0002a6a5明"  # Extension B: in neither bundled font
    rendered = render_pdf(build("claim_receipt", record, PrintContext(db, TODAY)))
    assert any("U+2A6A5" in warning for warning in rendered.warnings)


def test_an_office_overrides_wording_and_phone_without_code(tmp_path: Path, offices) -> None:
    db, number, _ = offices["wuhu"]
    own = tmp_path / "own_forms"
    own.mkdir()
    (own / "common.toml").write_text(
        '[office]\nname = "芜湖市镜湖区医疗保障服务中心"\nphone = "0553-7654321"\n',
        encoding="utf-8",
    )
    (own / "filing_receipt.toml").write_text(
        '[[blocks]]\ntype = "title"\ntext = "备案回执（{office_name}）"\n'
        '[[blocks]]\ntype = "line"\ntext = "咨询电话 {office_phone}"\n',
        encoding="utf-8",
    )
    context = PrintContext(db, TODAY, forms_dir=own)
    document = build("filing_receipt", load_record(db, "filing_receipt", number), context)
    path = tmp_path / "receipt.pdf"
    path.write_bytes(render_pdf(document).data)
    extracted = pdf_text(path)
    assert "备案回执（芜湖市镜湖区医疗保障服务中心）" in extracted
    assert "咨询电话0553-7654321" in extracted
