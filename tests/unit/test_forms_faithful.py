"""Every document of every region, printed from the demo data as the counter prints it (issue 15,
"Done when"): each official field label present and filled, the title and the fixed sentences as
in the region's seed, no "示例" and no other region's article, one page per copy; and the
receipt printer's lines never break inside a date, an amount or a short bracket pair (checked
over the decoded ESC/POS bytes).

The seeds are the authority: 苏 = 苏规程 附件1/7/9, 京 = 京细则 附件1/2/11/13, 芜 = 芜规程 附件1–5
(titles only in the seed; the bodies of 外伤承诺书 and 结算单 are the national forms, checked
against 苏 附件7/9), 湘 = 湘办法 附件1–3 (titles; no 结算单 is annexed).
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.printing import gate
from counter_app.printing.document import Choice, Document, Table
from counter_app.printing.forms import DOCUMENT_KINDS, load_form
from counter_app.printing.pdf import render_pdf
from counter_app.printing.receipt import COLUMNS, render_receipt
from counter_app.printing.sources import (
    PrintContext,
    build_checked,
    claim_documents,
    filing_documents,
    load_claim,
)
from counter_app.printing.text import text_width
from counter_app.rules_engine import build_engine
from counter_app.storage.models import Claim, Filing
from tests.support.demo import demo_database
from tests.support.printing import POLICIES, TODAY, pdf_pages, pdf_text

SEEDS_DIR = Path("/work/shared/seeds")
SEED_FILES = {
    "jiangsu": "000_4ebfdea93fba1ff5.txt",
    "beijing": "001_5b4c4d54cc2c9ec8.txt",
    "wuhu": "002_3167b8bfe7e50126.txt",
    "hunan": "004_c4d80f4b3960fbaf.txt",
}
#: Each region's citation prefixes; a document of one region cites none of the others'.
ARTICLES = {
    "jiangsu": ("苏规程",),
    "beijing": ("京细则", "京通知"),
    "wuhu": ("芜细则", "芜规程"),
    "hunan": ("湘办法",),
}
# (region, kind) → (seed region whose text holds it, the title as the seed writes it (blank
# filled), the form lists whose every sentence is the seed's wording).
FAITHFUL: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {
    ("jiangsu", "commitment"): ("jiangsu", "长期异地居住人员个人承诺书", ("notices", "promises")),
    ("jiangsu", "injury_commitment"): (
        "jiangsu",
        "外伤无第三方责任承诺书",
        ("promises", "notices"),
    ),
    ("jiangsu", "settlement_slip"): ("jiangsu", "市异地就医住院结算单", ("notes",)),
    ("beijing", "filing_form"): ("beijing", "北京市跨省异地就医登记备案表", ("notices",)),
    ("beijing", "commitment"): (
        "beijing",
        "基本医疗保险跨省异地就医备案个人承诺书",
        ("notices", "promises"),
    ),
    ("beijing", "injury_commitment"): (
        "beijing",
        "外伤无第三方责任承诺书",
        ("promises", "notices"),
    ),
    ("beijing", "settlement_slip"): ("beijing", "跨省异地就医住院结算单", ("notes",)),
    ("wuhu", "filing_form"): ("wuhu", "安徽省异地就医登记备案表", ()),
    ("wuhu", "commitment"): ("wuhu", "安徽省异地就医备案个人承诺书", ()),
    ("wuhu", "injury_commitment"): (
        "wuhu",
        "安徽省异地就医外伤无第三方责任承诺书",
        (),
    ),
    ("wuhu", "settlement_slip"): ("wuhu", "安徽省异地就医住院结算单", ()),
    ("hunan", "filing_form"): ("hunan", "湖南省异地就医登记备案表", ()),
    ("hunan", "commitment"): ("hunan", "基本医疗保险异地就医备案个人承诺书", ()),
    ("hunan", "injury_commitment"): ("hunan", "外伤无第三方责任承诺书", ()),
}
# The national forms 芜 and 湘 print without their bodies in the seeds: checked against 苏's.
NATIONAL = {"injury_commitment": ("promises", "notices"), "settlement_slip": ("notes",)}
#: Cells left blank on purpose: the person signs there by hand.
HAND_FILLED = {"本人（被委托人）签名"}


def _norm(text: str) -> str:
    """Text compared as the seeds print it: no whitespace, no placeholder brackets or quotes,
    full-width brackets and punctuation, no blanks left for handwriting."""
    text = re.sub(r"\s+", "", text)
    table = str.maketrans({"(": "（", ")": "）", ",": "，", ":": "：", ";": "；"})
    text = text.translate(table)
    return re.sub(r"[【】\"“”＿_]", "", text).replace("[image:image1][image:image5]", "")


def _seed(region: str) -> str:
    return _norm((SEEDS_DIR / SEED_FILES[region]).read_text(encoding="utf-8"))


def _sentences(template: str) -> list[str]:
    """The fixed sentences of a form text: placeholders for the office dropped."""
    text = re.sub(r"\{office_name\}", "", template)
    return [
        _norm(part)
        for part in re.split(r"[。；]", text)
        if len(part.strip()) >= 6 and "{" not in part
    ]


@pytest.mark.parametrize(("region", "kind"), sorted(FAITHFUL))
def test_titles_and_fixed_sentences_are_the_seeds(region: str, kind: str) -> None:
    seed_region, title, lists = FAITHFUL[region, kind]
    seed = _seed(seed_region)
    assert _norm(title) in seed, f"{title} not in the {seed_region} seed"
    form = load_form(kind, region)
    rendered_title = form.text.get("title") or form.text.get("slip_title") or ""
    if kind == "settlement_slip":
        rendered_title = rendered_title.replace("{stay_word}", "住院").replace(
            "{home_pool}", "南京市"
        )
    if kind == "filing_form":
        rendered_title = form.text["region_title"] + "异地就医登记备案表"
    assert rendered_title.endswith(title)
    checked = [(seed, name) for name in lists]
    if seed_region in ("wuhu", "hunan") and kind in NATIONAL:
        checked = [(_seed("jiangsu"), name) for name in NATIONAL[kind]]
    for text, name in checked:
        for item in form.lists[name]:
            for sentence in _sentences(item):
                assert sentence in text, f"{region} {kind} {name}: {sentence}"


def test_jiangsu_tip_follows_its_article_15() -> None:
    """苏规程 第十五条: 省内 care follows 江苏省统一的 目录, 跨省 care the 就医地's."""
    tip = load_form("filing_form", "jiangsu").lists["notices"][0]
    assert "省内异地就医直接结算执行江苏省统一的基本医疗保险药品目录" in tip
    assert "跨省异地就医直接结算执行就医地规定的医保目录及范围" in tip
    seed = _seed("jiangsu")
    assert _norm("执行江苏省统一的基本医疗保险药品目录") in seed


# -- every document of the demo data ---------------------------------------------------------


@functools.cache
def demo_documents(region: str) -> list[Document]:
    """Every document the gate allows for every demo record of the region (once per process:
    the faithfulness test prints them as PDFs, the receipt test renders them for the printer)."""
    folder = Path(tempfile.mkdtemp(prefix=f"forms-{region}-"))
    db, _ = demo_database(folder / "office.db", build_engine(region), TODAY)
    try:
        context = PrintContext(db, TODAY)
        with db.read() as session:
            kinds = {}  # one filing of each category, basis and scope
            for f in session.exec(select(Filing)).all():
                kinds.setdefault((f.category, f.basis, f.scope), f.number)
            filings = list(kinds.values())
            claims = [c.number for c in session.exec(select(Claim)).all()]
        jobs = [(k, n) for n in filings for k in filing_documents(db, n)]
        for number in claims:
            source = load_claim(db, number)
            assert source is not None
            jobs += [(k, number) for k in claim_documents(source)]
        return [build_checked(kind, number, context) for kind, number in jobs]
    finally:
        db.close()
        shutil.rmtree(folder, ignore_errors=True)


def _pairs(table: Table) -> list[tuple[str, str | Choice]]:
    pairs = []
    for row in table.rows:
        for i in range(0, len(row) - 1, 2):
            label = row[i]
            if isinstance(label, str):
                pairs.append((label, row[i + 1]))
    return pairs


@pytest.mark.parametrize("region", POLICIES)
def test_every_demo_document_is_complete_and_faithful(region: str, tmp_path: Path) -> None:
    documents = demo_documents(region)
    assert {d.kind for d in documents} == set(DOCUMENT_KINDS), "every kind printed"
    others = [a for r, prefixes in ARTICLES.items() if r != region for a in prefixes]
    for document in documents:
        path = tmp_path / f"{document.kind}-{document.number}.pdf"
        path.write_bytes(render_pdf(document).data)
        text = pdf_text(path)
        squeezed = _norm(text)
        where = f"{region} {document.kind} {document.number}"
        assert "示例" not in text, where
        assert not [a for a in others if a in text], f"{where}: another region's article"
        assert pdf_pages(path, tmp_path) == load_form(document.kind, region).copies, where
        for block in document.blocks:
            if not isinstance(block, Table):
                continue
            for label, value in _pairs(block):
                name = "".join(label.split())
                if not name or name in HAND_FILLED:
                    continue  # a blank fund row of the official slip, or a signature
                assert _norm(label) in squeezed, f"{where}: label {name}"
                if isinstance(value, Choice):
                    assert any(t for _, t in value.options), f"{where}: {name} unticked"
                else:
                    assert value.strip(), f"{where}: {name} printed blank"
        if document.kind in FILING_OR_CLAIM_TITLES.get(region, {}):
            assert FILING_OR_CLAIM_TITLES[region][document.kind] in text, where


FILING_OR_CLAIM_TITLES = {
    region: {kind: title for (r, kind), (_, title, _) in FAITHFUL.items() if r == region}
    for region in POLICIES
}

_LINE = re.compile(rb"\x1ba[\x00\x01]\x1bE[\x00\x01](?:\x1c&(.*?)\x1c\.|([^\x1b\n]*))\n", re.S)
_ATOMS = re.compile(r"\d{4}-\d{2}-\d{2}|\d+\.\d{2}|（[^（）]*）")


@pytest.mark.parametrize("paper", ["58", "80"])
@pytest.mark.parametrize("region", POLICIES)
def test_receipt_lines_never_break_inside_a_date_amount_or_bracket(region: str, paper: str) -> None:
    """Over the decoded bytes of every demo document on both papers."""
    columns = COLUMNS[paper]
    for document in demo_documents(region):
        stream = render_receipt(document, paper, "gb18030", "native").data
        lines = [(hanzi or plain).decode("gb18030") for hanzi, plain in _LINE.findall(stream)]
        assert lines, document.kind
        where = f"{region} {document.kind} {document.number} ({paper} mm)"
        for line in lines:
            assert text_width(line) <= columns, where
            assert not re.match(r"\s*[）)，。、；：]", line), f"{where}: {line!r}"
        for atom in {a for s in document.strings() for a in _ATOMS.findall(s)}:
            if text_width(atom) > columns - 2 or "\n" in atom:
                continue  # longer than a line: it has to break somewhere
            assert any(atom in line for line in lines), f"{where}: {atom} broken"


def test_gate_kinds_cover_every_document() -> None:
    """Each kind of document belongs to the gate's table of states (nothing prints ungated)."""
    assert set(gate.CLAIM_STATES) | {"filing_form", "commitment", "filing_receipt"} == set(
        DOCUMENT_KINDS
    )
