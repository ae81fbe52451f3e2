"""The fields the official forms need (issue 15 item 1): 联系电话2, 异地联系地址 and
社会保障卡卡号 on the person, the slip's hospital details on the claim — validated where given,
stored (migration 0006_docs on a real SQLite file), carried in the sync events, filled by the
demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from counter_app.domain.claim_documents import hospital_errors, normalise_hospital
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, OutboxEvent, Person
from counter_app.storage.persons import PersonError, save_person
from tests.support.demo import demo_database
from tests.support.printing import TODAY

ID = "11010519491231002X"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database, _ = demo_database(tmp_path / "office.db", build_engine("hunan"), TODAY, persons=40)
    return database


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("card_number", {"card_number": "A1234"}, "应为 9 位字母或数字"),
        ("card_number", {"card_number": "A1234567８9"}, "应为 9 位字母或数字"),
        ("phone2", {"phone2": "12345"}, "联系电话2"),
        ("remote_address", {"remote_address": "长" * 121}, "最多 120 个字"),
    ],
)
def test_bad_values_are_named(db: Database, field: str, values: dict, message: str) -> None:
    with pytest.raises(PersonError, match=message) as caught:
        save_person(db, 1, name="王秀英", id_number=ID, today=TODAY, **values)
    assert caught.value.field == field


def test_the_new_person_fields_are_stored(db: Database) -> None:
    person_id = save_person(
        db,
        1,
        name="王秀英",
        id_number=ID,
        today=TODAY,
        phone2="0731-84567890",
        remote_address="海口市美兰区海甸五西路28号",
        card_number="ｂ12345678",  # full-width, lower case: folded
    )
    with db.read() as session:
        person = session.get(Person, person_id)
    assert person is not None
    assert (person.phone2, person.remote_address, person.card_number) == (
        "0731-84567890",
        "海口市美兰区海甸五西路28号",
        "B12345678",
    )


def test_hospital_details_are_checked() -> None:
    assert hospital_errors({"inpatient_no": "ZY-2026 0001", "diagnosis_main": "肺炎"}) == {}
    errors = hospital_errors(
        {
            "admission_mode": "步行",
            "inpatient_no": "住院一号",
            "diagnosis_main": "肺炎",
            "diagnosis_main_icd": "J189",
            "diagnosis_other_icd": "I10",
        }
    )
    assert set(errors) == {
        "admission_mode",
        "inpatient_no",
        "diagnosis_main_icd",
        "diagnosis_other_icd",
    }
    assert "请先填写诊断名称" in errors["diagnosis_other_icd"]
    assert normalise_hospital({"diagnosis_main_icd": " j18.9 ", "name": ""}) == {
        "diagnosis_main_icd": "J18.9"
    }


def test_demo_fills_every_field_and_the_events_carry_them(db: Database) -> None:
    with db.read() as session:
        persons = session.exec(select(Person)).all()
        claims = session.exec(select(Claim)).all()
        events = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.seq))).all()
    assert all(p.phone2 and p.remote_address and len(p.card_number) == 9 for p in persons)
    stays = [c for c in claims if c.treatment in ("inpatient", "maternity")]
    assert stays and all(
        {"admission_mode", "inpatient_no", "department", "diagnosis_main"} <= set(c.hospital or {})
        for c in stays
    )
    filing_events = [e for e in events if e.kind.startswith("filing.")]
    assert filing_events and all(
        e.payload["person"]["remote_address"] and e.payload["person"]["card_number"]
        for e in filing_events
    )
    claim_events = [e for e in events if e.kind.startswith("claim.")]
    assert claim_events and all(e.payload["hospital"].get("diagnosis_main") for e in claim_events)
