"""Data for the printing tests: a seeded office database per region, realistic and extreme
people, stored-claim mappings produced by the real engine, and the poppler tools."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.models import Filing, Office
from tests.support.demo import demo_database

TODAY = date(2026, 11, 23)
POLICIES = ("jiangsu", "beijing", "wuhu", "hunan")
LONGEST_NAME = "阿卜杜热合曼·买买提依明" + "欧阳" * 19  # 50 characters, the column's limit
LONG_ADDRESS = (
    "新疆维吾尔自治区伊犁哈萨克自治州霍尔果斯市" + "亚欧北路光明小区第十八栋二单元" * 6 + "1802室"
)
LONG_HOSPITAL = "中国人民解放军总医院第一医学中心（301医院）" + "国家老年疾病临床医学研究中心" * 3
EXTREME_PHONE = "+86 138-0013-8000"


def seeded(tmp_path: Path, policy: str) -> tuple[Database, str, str]:
    """An office database with demo filings: one filing of an ordinary person, and one of a
    person given the longest name and address (``make_extreme``); returns their numbers."""
    db, _ = demo_database(tmp_path / f"{policy}.db", build_engine(policy), TODAY, persons=4)
    with db.read() as session:
        filings = list(session.exec(select(Filing).order_by(Filing.id)).all())  # type: ignore[arg-type]
    realistic = filings[0]
    extreme = next(f for f in filings if f.person_id != realistic.person_id)
    make_extreme(db, extreme.number)
    return db, realistic.number, extreme.number


def make_extreme(db: Database, number: str) -> None:
    """Give the filing's person the longest name and address the columns allow."""
    with db.write() as session:
        session.execute(
            text(
                "UPDATE person SET name = :name, address = :address, phone = :phone "
                "WHERE id = (SELECT person_id FROM filing WHERE number = :number)"
            ),
            {
                "name": LONGEST_NAME,
                "address": LONG_ADDRESS,
                "phone": EXTREME_PHONE,
                "number": number,
            },
        )


def office_of(db: Database) -> dict[str, str]:
    """The office row as the stored-claim mapping carries it."""
    with db.read() as session:
        office = session.exec(select(Office)).one()
    return {"code": office.code, "name": office.name, "phone": "0553-1234567"}


def claim_record(policy: str, office: dict[str, str], *, extreme: bool = False) -> dict[str, Any]:
    """A stored claim as issue 4 will store it, with the real engine's result."""
    amounts = (
        {
            "total": "3456789.12",
            "in_scope": "3000000.00",
            "class_b_self": "256789.12",
            "over_limit_self": "100000.00",
            "self_pay": "100000.00",
        }
        if extreme
        else {
            "total": "12000.00",
            "in_scope": "10000.00",
            "class_b_self": "1000.00",
            "over_limit_self": "500.00",
            "self_pay": "500.00",
        }
    )
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
        "materials": ["id_card", "invoice", "inpatient_bill"],  # the diagnosis is missing
        "amounts": amounts,
    }
    result = build_engine(policy).claim(request).model_dump(mode="json")
    complete = dict(request, materials=[*request["materials"], "diagnosis_certificate"])
    settled = build_engine(policy).claim(complete).model_dump(mode="json")
    result["payment"] = settled["payment"]
    result["due"] = settled["due"]
    return {
        "number": "BX3402022026030200012",
        "status": "accepted",
        "person": {
            "name": LONGEST_NAME if extreme else "王秀英",
            "id_number": "11010519491231002X",
            "id_masked": "110105********002X",
            "sex": "女",
            "phone": EXTREME_PHONE if extreme else "13800138000",
            "address": LONG_ADDRESS if extreme else "芜湖市镜湖区北京东路1号",
        },
        "request": request,
        "result": result,
        "accepted_on": "2026-03-02",
        "due_date": settled["due_date"],
        "office": office,
        "clerk_name": "演示经办人",
        "hospital": {
            "name": LONG_HOSPITAL if extreme else "北京大学第一医院",
            "place": "北京市",
            "admission_mode": "门诊入院",
            "inpatient_no": "ZY20260201007",
            "department": "心血管内科",
            "diagnosis_main": "冠状动脉粥样硬化性心脏病",
            "diagnosis_other": "高血压病3级（极高危）",
        },
    }


def pdf_text(path: Path) -> str:
    """The text poppler extracts, whitespace removed (wrapping splits long values)."""
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    )
    return "".join(out.stdout.split())


def pdf_pages(path: Path, tmp: Path) -> int:
    """How many pages pdftoppm rasterises (each one must come out as a PNG)."""
    prefix = tmp / f"{path.stem}-page"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(prefix)], check=True)
    return len(list(tmp.glob(f"{prefix.name}-*.png")))


def pdf_fonts(path: Path) -> list[list[str]]:
    """pdffonts' table rows (name, type, encoding, emb, sub, uni, ...)."""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]
