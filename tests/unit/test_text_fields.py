"""Free text at the storage boundary: one check (``domain.text_fields``) at every entry — person
form and storage, claims, JSON requests, the command line, pulled applications — refusing control
characters and what the forms cannot print, with a Chinese message per field; the PDF never
fails on long text; the migration cleans values stored before, with an audit entry each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import select

from counter_app.domain.requests import Person as RequestPerson
from counter_app.domain.text_fields import (
    FIELDS,
    TextFieldError,
    check_hospital,
    check_text,
    strip_controls,
)
from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.storage.clerks import ClerkError, add_clerk, ensure_office
from counter_app.storage.db import Database
from counter_app.storage.migrations import config as _config
from counter_app.storage.models import AuditLog, Claim, Person
from counter_app.storage.persons import PersonError, save_person
from tests.support.demo import demo_database
from tests.support.printing import TODAY, pdf_text, seeded

ID = "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("张三\n姓名：李四", "换行"),
        ("张三\x1b@\x1dV\x00", "ESC"),
        ("张\t三", "制表符"),
        ("张三\u202e四李", "U+202E"),
        ("张三\u2028", "U+2028"),
        ("张\ud800三", "U+D800"),
        ("张三\x85", "U+0085"),
    ],
)
def test_control_characters_are_refused_naming_the_field(value: str, named: str) -> None:
    with pytest.raises(TextFieldError) as refused:
        check_text("name", value)
    assert refused.value.field == "name"
    assert str(refused.value).startswith("姓名：不能含控制字符") and named in str(refused.value)


def test_lengths_are_capped_to_what_the_forms_print() -> None:
    assert check_text("name", "  阿卜杜热合曼·买买提依明 ") == "阿卜杜热合曼·买买提依明"
    assert check_text("address", "长" * FIELDS["address"].max_length)
    with pytest.raises(TextFieldError) as refused:
        check_text("address", "长" * 700)
    assert "住址：最多 120 个字，现有 700 个" in str(refused.value)
    with pytest.raises(TextFieldError, match="姓名：请填写"):
        check_text("name", "  ", required=True)
    with pytest.raises(TextFieldError, match="医院名称"):
        check_hospital({"name": "医院\n结算金额：9999", "place": "上海市"})
    assert check_hospital({"name": " 瑞金医院 ", "place": ""}) == {"name": "瑞金医院"}
    assert strip_controls("张三\r\n李四\x1b") == "张三 李四"


def test_every_entry_uses_the_check(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "office.db")
    ensure_office(db, "320102", "玄武区医疗保障服务中心", "jiangsu", "320100")
    clerk = add_clerk(db, "320102", "wang", "王五", "secret-pass")
    # storage (what the person form and the CLI call)
    with pytest.raises(PersonError) as refused:
        save_person(db, clerk, name="张三\n李四", id_number=ID, today=TODAY)
    assert refused.value.field == "name" and "换行" in str(refused.value)
    with pytest.raises(PersonError) as refused:
        save_person(db, clerk, name="张三", id_number=ID, address="长" * 700, today=TODAY)
    assert refused.value.field == "address" and "最多" in str(refused.value)
    save_person(db, clerk, name=" 张三 ", id_number=ID, address="南京市玄武区", today=TODAY)
    with db.read() as session:
        assert session.exec(select(Person.name)).all() == ["张三"]
    # clerks and offices
    with pytest.raises(ClerkError, match="姓名"):
        add_clerk(db, "320102", "zhao", "赵\x1b六", "secret-pass")
    with pytest.raises(ClerkError, match="经办机构名称"):
        ensure_office(db, "320104", "秦淮区\n中心", "jiangsu", "320100")
    # JSON requests (the rules command line, online applications)
    with pytest.raises(ValidationError, match="姓名：不能含控制字符"):
        RequestPerson.model_validate({"name": "张三\n", "id_number": ID})
    db.close()


def test_pulled_applications_with_control_characters_are_refused(tmp_path: Path) -> None:
    from counter_app.rules_engine import build_engine
    from counter_app.storage.sync_models import OnlineApplication
    from counter_app.sync.pulled import store_page

    db = Database.open(tmp_path / "office.db")
    office = ensure_office(db, "320102", "玄武区医疗保障服务中心", "jiangsu", "320100")
    good = {"id": "A1", "person": {"name": "张三", "id_number": ID}}
    bad = {"id": "A2", "person": {"name": "张三\x1b@", "id_number": ID}}
    items = [
        {"type": "online_application", "cursor": 1, "data": good},
        {"type": "online_application", "cursor": 2, "data": bad},
    ]
    outcome = store_page(db, build_engine("jiangsu"), office.id, items, 2, TODAY)  # type: ignore[arg-type]
    assert outcome.applications == 1
    assert len(outcome.refused) == 1 and "A2" in outcome.refused[0] and "姓名" in outcome.refused[0]
    with db.read() as session:
        assert [a.id for a in session.exec(select(OnlineApplication)).all()] == ["A1"]
    db.close()


@pytest.mark.parametrize("length", [700, 3000])
def test_long_text_never_breaks_the_pdf(tmp_path: Path, length: int) -> None:
    db, number, _ = seeded(tmp_path, "jiangsu")
    address = ("江苏省南京市玄武区中山路" * 400)[:length]
    with db.write() as session:  # stored before the checks existed
        session.execute(
            text(
                "UPDATE person SET address = :a, employer = :a "
                "WHERE id = (SELECT person_id FROM filing WHERE number = :n)"
            ),
            {"a": address, "n": number},
        )
    for kind in ("filing_form", "commitment", "filing_receipt"):
        document = build(kind, load_record(db, kind, number), PrintContext(db, TODAY))
        rendered = render_pdf(document)
        out = tmp_path / f"{kind}.pdf"
        out.write_bytes(rendered.data)
        if address[:20] in "".join(document.strings()):
            assert address[:20] in pdf_text(out)
            if length == 3000:
                assert any("过长" in w for w in rendered.warnings)
    db.close()


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_the_migration_cleans_stored_control_characters_with_audit(tmp_path: Path) -> None:
    from counter_app.rules_engine import build_engine
    from counter_app.storage.models import Filing

    path = tmp_path / "office.db"
    db, _ = demo_database(path, build_engine("wuhu"), TODAY)  # with claims in every status
    with db.read() as session:
        claim_id = session.exec(select(Claim.id)).first()
        number = session.exec(select(Filing.number)).first()
    assert claim_id is not None and number is not None
    db.close()
    # Back to the schema before the clean-up, then values as an old version stored them.
    raw = Database.open(path, migrate=False)
    with raw.writer.connect() as connection:
        config = _config()
        config.attributes["connection"] = connection
        from alembic.script import ScriptDirectory

        before_cleanup = ScriptDirectory.from_config(config).get_revision("0006_lock_c")
        command.stamp(config, before_cleanup.down_revision)
        connection.commit()
    with raw.write() as session:
        session.execute(
            text(
                "UPDATE person SET name = :name, address = :address "
                "WHERE id = (SELECT person_id FROM filing WHERE number = :n)"
            ),
            {"name": "张三\n姓名：李四", "address": "芜湖市\x1b@镜湖区", "n": number},
        )
        session.execute(
            text("UPDATE claim SET hospital = :h WHERE id = :id"),
            {"h": '{"name": "瑞金医院\\r\\n结算", "place": "上海市"}', "id": claim_id},
        )
    raw.close()
    env = {**os.environ, "COUNTER_DB": str(path), "COUNTER_CONFIG": str(tmp_path / "c.toml")}
    before = subprocess.run(
        [sys.executable, "-m", "counter_app", "text-check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    # ``text-check`` opens the database, which migrates it: the clean-up runs there.
    assert before.returncode == 0, before.stdout + before.stderr
    assert "姓名" in before.stdout and "\\n" in before.stdout and "\\x1b" in before.stdout
    assert "医院信息" in before.stdout
    db = Database.open(path)
    with db.read() as session:
        person = session.exec(select(Person).where(Person.name.startswith("张三"))).one()  # type: ignore[attr-defined]
        claim = session.get(Claim, claim_id)
        audits = session.exec(select(AuditLog).where(AuditLog.action == "clean_text")).all()
    assert person.name == "张三 姓名：李四" and person.address == "芜湖市@镜湖区"
    assert claim is not None and claim.hospital == {"name": "瑞金医院 结算", "place": "上海市"}
    assert sorted(a.detail["field"] for a in audits) == ["address", "hospital.name", "name"]
    assert all(a.clerk_id is None and a.detail["before"] != a.detail["after"] for a in audits)
    db.close()
