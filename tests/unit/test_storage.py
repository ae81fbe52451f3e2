"""The office database on a real SQLite file and on PostgreSQL: settings, migrations, persons,
filings, drafts.

Every test opens its own database (``new_db`` of tests/unit/conftest.py: a file under ``tmp_path``
through ``Database.open`` as the app does, or a fresh PostgreSQL database through
``Database.open_url``) and checks what actually landed in it with plain SQL, not through the
repositories. Tests of SQLite's own settings run on SQLite only.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from counter_app.domain.engine import RulesEngine
from counter_app.domain.requests import FilingRequest
from counter_app.domain.results import FilingResult
from counter_app.resources import migrations_dir
from counter_app.rules_engine import build_engine
from counter_app.storage import filings as filings_module
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import BUSY_TIMEOUT_MS, Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.drafts import discard_draft, get_draft, list_drafts, save_draft
from counter_app.storage.filings import (
    Committed,
    FilingRefused,
    StaleFiling,
    as_existing,
    filing_history,
    person_filings,
)
from counter_app.storage.migrations import current_revision, upgrade
from counter_app.storage.persons import (
    PersonError,
    SearchKind,
    classify,
    save_person,
    search_in,
    search_persons,
)
from counter_app.storage.queues import dashboard
from counter_app.workflows.filings import commit_filing
from tests.support.db_rows import jx, rows
from tests.support.db_rows import snapshot as table_snapshot

TODAY = date(2026, 3, 2)
POLICIES = ("jiangsu", "beijing", "wuhu", "hunan")
OFFICES = {"jiangsu": "320102", "beijing": "110105", "wuhu": "340202", "hunan": "430102"}
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
MASKED = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
FILING_TABLES = (
    "filing",
    "filing_history",
    "filing_material",
    "audit_log",
    "outbox_event",
    "number_sequence",
    "draft",
)


def with_check(first17: str) -> str:
    """Append the GB 11643 MOD 11-2 check digit, computed independently of the code under test."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


ZHANG_SAN = ("张三", "11010519491231002X")
ZHANG_SANFENG = ("张三丰", with_check("11010519800101001"))
ZHANG_WEI = ("张伟", with_check("32010219900101123"))
LI_SI = ("李四", with_check("34020219850505456"))
PEOPLE = (ZHANG_SAN, ZHANG_SANFENG, ZHANG_WEI, LI_SI)


@cache
def engine_for(policy: str) -> RulesEngine:
    return build_engine(policy)


@pytest.fixture
def db(new_db: Callable[[str], Database]) -> Database:
    return new_db("office")


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


def open_office(db: Database, policy: str = "jiangsu", code: str | None = None) -> SignedIn:
    """An office of ``policy`` with one clerk, signed in."""
    code = code or OFFICES[policy]
    pack = engine_for(policy).pack.pack
    ensure_office(db, code, f"{code} 医保服务中心", policy, pack.home_pool_code)
    add_clerk(db, code, f"clerk{code}", "经办人", "password123")
    signed = sign_in(db, f"clerk{code}", "password123")
    assert signed is not None
    return signed


@pytest.fixture
def signed(db: Database) -> SignedIn:
    return open_office(db)


def add_person(db: Database, signed: SignedIn, person: tuple[str, str]) -> int:
    name, id_number = person
    return save_person(db, signed.clerk_id, name=name, id_number=id_number, today=TODAY)


def filing_request(policy: str, person: tuple[str, str], **fields: Any) -> dict[str, Any]:
    """A new cross-province filing to 深圳 (440300) for an employee; ``fields`` override."""
    name, id_number = person
    request: dict[str, Any] = {
        "policy": policy,
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": name, "id_number": id_number},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": ["id_card"],
    }
    request.update(fields)
    return request


def decide(policy: str, request: dict[str, Any]) -> tuple[FilingRequest, FilingResult]:
    """The engine's verdict after presenting every material it asks for."""
    engine = engine_for(policy)
    result = engine.filing(request)
    for _ in range(4):
        if not result.missing:
            break
        request = {**request, "materials": [*request["materials"], *result.missing]}
        result = engine.filing(request)
    return FilingRequest.model_validate(request), result


def commit(
    db: Database,
    signed: SignedIn,
    person_id: int,
    request: dict[str, Any],
    **options: Any,
) -> Committed:
    policy = request["policy"]
    model, result = decide(policy, request)
    assert result.allowed, result.reasons
    return commit_filing(
        db,
        engine_for(policy),
        signed,
        person_id,
        model.model_dump(mode="json"),
        seen=result,
        **options,
    )


def change_request(
    db: Database, person_id: int, number: str, base: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A change (or, with ``action="cancel"``, a cancellation) of ``number`` as the UI builds it."""
    existing = as_existing(person_filings(db, person_id))
    return {**base, "action": "change", "target": number, "existing": existing, **fields}


def scalar(db: Database, sql: str, **params: Any) -> Any:
    return rows(db, sql, **params)[0][0]


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return table_snapshot(db, FILING_TABLES)


# --- settings and schema -----------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("engine_name", ["writer", "reader"])
def test_pragmas_in_effect_on_every_connection(db: Database, engine_name: str) -> None:
    engine = getattr(db, engine_name)
    with engine.connect() as connection:

        def pragma(name: str) -> Any:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == BUSY_TIMEOUT_MS


@SQLITE_ONLY
def test_write_transactions_take_the_write_lock_at_once(db: Database) -> None:
    """BEGIN IMMEDIATE: even a write session that has only read holds the lock."""
    other = sqlite3.connect(db.path, timeout=0, isolation_level=None)
    try:
        with db.write() as session:
            session.execute(text("SELECT count(*) FROM person")).scalar()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released on commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), db.write() as session:
        session.execute(
            text(
                "INSERT INTO clerk (office_id, username, display_name, "
                "password_hash, role, active, created_at) "
                "VALUES (999, 'x', 'x', 'x', 'clerk', TRUE, '2026-01-01')"
            )
        )


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return ScriptDirectory.from_config(config)


def test_migrated_to_head_and_models_match_migrations(db: Database) -> None:
    assert current_revision(db) == _script().get_current_head()
    with db.writer.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_reopening_upgrades_in_place_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    oldest = list(_script().walk_revisions())[-1]  # walked from head down to the first
    old = Database.open(path, migrate=False)
    upgrade(old, oldest.revision)
    assert current_revision(old) == oldest.revision
    with old.write() as session:  # the oldest schema's columns, written as that release would
        session.execute(
            text(
                "INSERT INTO person (id_number, name, name_pinyin, name_initials, sex, phone, "
                "address, insurance, has_employer, retired, employer, version, created_at, "
                "updated_at) VALUES (:id, '张三', 'zhangsan', 'zs', '女', '', '', 'employee', "
                "0, 0, '', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"id": ZHANG_SAN[1]},
        )
    old.close()

    for _ in range(2):  # upgrading, then opening an up-to-date file, both keep the data
        reopened = Database.open(path)
        assert current_revision(reopened) == _script().get_current_head()
        assert [row.name for row in search_persons(reopened, "zs")] == ["张三"]
        assert scalar(reopened, "SELECT count(*) FROM person") == 1
        reopened.close()


def _raw_statement(db: Database, statement: str) -> None:
    """Run ``statement`` through the driver alone, outside the app's engines and sessions."""
    if db.postgres:
        import psycopg

        url = db.writer.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute(statement)
        return
    raw = sqlite3.connect(db.path, isolation_level=None)
    try:
        raw.execute(statement)
    finally:
        raw.close()


def test_audit_log_refuses_update_and_delete(db: Database, signed: SignedIn) -> None:
    import psycopg

    before = rows(db, "SELECT * FROM audit_log ORDER BY id")
    assert len(before) >= 3  # office, clerk, sign-in
    statements = ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"]
    if db.postgres:
        statements.append("TRUNCATE audit_log")  # row triggers do not see it; a statement one does
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"), db.write() as session:
            session.execute(text(statement))
        # not even outside the app
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError), match="append-only"):
            _raw_statement(db, statement)
    assert rows(db, "SELECT * FROM audit_log ORDER BY id") == before


# --- persons -----------------------------------------------------------------------------------


def test_save_person_rejects_a_bad_check_digit(db: Database, signed: SignedIn) -> None:
    bad = ZHANG_SAN[1][:-1] + "1"
    with pytest.raises(PersonError, match="校验位") as caught:
        save_person(db, signed.clerk_id, name="张三", id_number=bad, today=TODAY)
    assert caught.value.field == "id_number"
    with pytest.raises(PersonError) as caught:
        save_person(db, signed.clerk_id, name="  ", id_number=ZHANG_SAN[1], today=TODAY)
    assert caught.value.field == "name"
    for phone in ("12345", "1380013800", "２３８００１３８０００", "电话"):
        with pytest.raises(PersonError, match="电话") as caught:
            save_person(
                db, signed.clerk_id, name="张三", id_number=ZHANG_SAN[1], phone=phone, today=TODAY
            )
        assert caught.value.field == "phone"
    assert scalar(db, "SELECT count(*) FROM person") == 0


@pytest.mark.parametrize(
    "phone", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "0553-1234567", "1234567", ""]
)
def test_save_person_accepts_mobile_and_landline_numbers(
    db: Database, signed: SignedIn, phone: str
) -> None:
    person_id = save_person(
        db, signed.clerk_id, name="张三", id_number=ZHANG_SAN[1], phone=phone, today=TODAY
    )
    assert person_id > 0


def test_save_person_normalises_and_stores_pinyin(db: Database, signed: SignedIn) -> None:
    person_id = save_person(
        db,
        signed.clerk_id,
        name=" 张三丰 ",
        id_number=" 110105 19800101 001" + ZHANG_SANFENG[1][-1].lower(),
        phone="13800138000",
        today=TODAY,
    )
    assert rows(
        db,
        "SELECT id_number, name, name_pinyin, name_initials, sex, birth_date, version "
        "FROM person WHERE id = :id",
        id=person_id,
    ) == [(ZHANG_SANFENG[1], "张三丰", "zhangsanfeng", "zsf", "男", "1980-01-01", 1)]

    again = save_person(
        db,
        signed.clerk_id,
        name="张三丰",
        id_number=ZHANG_SANFENG[1],
        phone="13900139000",
        today=TODAY,
    )
    assert again == person_id
    assert rows(db, "SELECT phone, version FROM person") == [("13900139000", 2)]
    details = [row[0] for row in rows(db, "SELECT detail FROM audit_log WHERE entity = 'person'")]
    assert len(details) == 2
    assert all(ZHANG_SANFENG[1] not in detail for detail in details)


@pytest.fixture
def people(db: Database, signed: SignedIn) -> dict[str, int]:
    return {name: add_person(db, signed, (name, id_number)) for name, id_number in PEOPLE}


@pytest.mark.parametrize(
    ("query", "kind", "expected"),
    [
        ("11010519491231002X", SearchKind.ID_EXACT, {"张三"}),
        ("11010519491231002x", SearchKind.ID_EXACT, {"张三"}),
        ("1101051949", SearchKind.ID_PREFIX, {"张三"}),
        ("110105", SearchKind.ID_PREFIX, {"张三", "张三丰"}),
        ("张三", SearchKind.NAME, {"张三", "张三丰"}),
        ("张", SearchKind.NAME, {"张三", "张三丰", "张伟"}),
        ("zs", SearchKind.INITIALS, {"张三", "张三丰"}),
        ("ZSF", SearchKind.INITIALS, {"张三丰"}),
        ("zhangsan", SearchKind.INITIALS, {"张三", "张三丰"}),  # falls through to full pinyin
        ("lisi", SearchKind.INITIALS, {"李四"}),
    ],
)
def test_search_by_kind(
    db: Database, people: dict[str, int], query: str, kind: SearchKind, expected: set[str]
) -> None:
    assert classify(query) is kind
    found = search_persons(db, query)
    assert {row.name for row in found} == expected
    assert all(row.id == people[row.name] for row in found)
    assert all(MASKED.match(row.id_masked) for row in found)
    for _, id_number in PEOPLE:
        assert id_number not in repr(found)


def test_search_by_full_pinyin_kind(db: Database, people: dict[str, int]) -> None:
    with db.read() as session:
        found = search_in(session, "zhangsanf", SearchKind.PINYIN)
        assert [row.name for row in found] == ["张三丰"]
        assert search_in(session, "zs", SearchKind.PINYIN) == []


def test_search_shows_the_masked_id(db: Database, people: dict[str, int]) -> None:
    (row,) = search_persons(db, ZHANG_SAN[1])
    assert row.id_masked == "110105********002X"
    assert search_persons(db, "  ") == []


def test_search_by_filing_number(db: Database, signed: SignedIn, people: dict[str, int]) -> None:
    first = commit(db, signed, people["李四"], filing_request("jiangsu", LI_SI))
    commit(  # a second filing of the same person: still listed once
        db,
        signed,
        people["李四"],
        filing_request("jiangsu", LI_SI, category="referral", destination="310101"),
    )
    assert classify(first.number) is SearchKind.FILING_NUMBER
    for query in (first.number, first.number.lower(), first.number[:-4]):
        (row,) = search_persons(db, query)
        assert (row.id, row.name) == (people["李四"], "李四")
        assert MASKED.match(row.id_masked)
        assert LI_SI[1] not in repr(row)


# --- filings -----------------------------------------------------------------------------------


def test_new_change_cancel_write_every_record(
    db: Database, signed: SignedIn, people: dict[str, int]
) -> None:
    person_id = people["张三"]
    base = filing_request("jiangsu", ZHANG_SAN)
    new = commit(db, signed, person_id, base)
    changed = commit(
        db,
        signed,
        person_id,
        change_request(db, person_id, new.number, base, destination="460100"),
        expected_version=1,
    )
    cancelled = commit(
        db,
        signed,
        person_id,
        change_request(db, person_id, new.number, base, action="cancel"),
        expected_version=2,
    )
    assert new.filing_id == changed.filing_id == cancelled.filing_id
    assert new.number == changed.number == cancelled.number

    assert rows(db, "SELECT status, version, destination_code, valid_until FROM filing") == [
        ("cancelled", 3, "460000", "2026-03-02")
    ]
    history = filing_history(db, new.filing_id)
    assert [step.action for step in history] == ["new", "change", "cancel"]
    assert all(step.snapshot["target"] in (None, new.number) for step in history)
    labels = engine_for("jiangsu").pack.material_labels
    for step in history:
        presented = list(dict.fromkeys(step.snapshot["materials"]))
        assert presented
        assert rows(
            db,
            "SELECT material_id, label FROM filing_material WHERE history_id = :h ORDER BY id",
            h=step.id,
        ) == [(m, labels[m]) for m in presented]

    audits = rows(
        db, "SELECT action, entity_id, detail FROM audit_log WHERE entity = 'filing' ORDER BY id"
    )
    assert [(action, number) for action, number, _ in audits] == [
        ("new", new.number),
        ("change", new.number),
        ("cancel", new.number),
    ]
    assert all(
        "110105********002X" in detail and ZHANG_SAN[1] not in detail for *_, detail in audits
    )

    events = rows(
        db,
        f"SELECT id, seq, kind, {jx(db, 'payload', 'number')}, {jx(db, 'payload', 'status')} "
        "FROM outbox_event WHERE office_id = :o ORDER BY seq",
        o=signed.office_id,
    )
    assert events == [
        (new.event_id, 1, "filing.new", new.number, "active"),
        (changed.event_id, 2, "filing.change", new.number, "active"),
        (cancelled.event_id, 3, "filing.cancel", new.number, "cancelled"),
    ]


def test_outbox_sequence_is_per_office(db: Database, signed: SignedIn) -> None:
    other = open_office(db, "jiangsu", code="320104")
    here = add_person(db, signed, ZHANG_SAN)
    there = add_person(db, other, LI_SI)
    for place in ("440300", "460100", "530100"):  # temporary filings to different places
        commit(db, signed, here, filing_request("jiangsu", ZHANG_SAN, destination=place))
        commit(db, other, there, filing_request("jiangsu", LI_SI, destination=place))
    assert rows(db, "SELECT office_id, seq FROM outbox_event ORDER BY office_id, seq") == [
        (signed.office_id, 1),
        (signed.office_id, 2),
        (signed.office_id, 3),
        (other.office_id, 1),
        (other.office_id, 2),
        (other.office_id, 3),
    ]


def test_commit_is_one_transaction(
    db: Database, signed: SignedIn, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id = people["张三"]
    base = filing_request("jiangsu", ZHANG_SAN)
    new = commit(db, signed, person_id, base)
    draft_id = save_draft(db, signed.clerk_id, "filing", {"step": 2}, step="materials")
    before = snapshot(db)

    def broken_emit(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("disk unplugged")

    # The outbox event is the last thing written: filing, history, materials and audit are
    # already flushed when it fails.
    monkeypatch.setattr(filings_module, "emit", broken_emit)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        commit(
            db,
            signed,
            person_id,
            filing_request("jiangsu", ZHANG_SAN, category="referral", destination="530100"),
            draft_id=draft_id,
        )
    with pytest.raises(RuntimeError, match="disk unplugged"):
        commit(
            db,
            signed,
            person_id,
            change_request(db, person_id, new.number, base, destination="460100"),
            expected_version=1,
            draft_id=draft_id,
        )
    assert snapshot(db) == before
    monkeypatch.undo()

    # The sequence numbers the failed commits drew were rolled back too.
    again = commit(
        db,
        signed,
        person_id,
        filing_request("jiangsu", ZHANG_SAN, category="referral", destination="530100"),
    )
    assert again.number == new.number[:-4] + "0002"
    assert scalar(db, "SELECT max(seq) FROM outbox_event") == 2
    assert get_draft(db, draft_id) is not None


def test_refused_verdict_writes_nothing(
    db: Database, signed: SignedIn, people: dict[str, int]
) -> None:
    before = snapshot(db)
    request = filing_request("jiangsu", ZHANG_SAN, materials=[])  # nothing presented
    result = engine_for("jiangsu").filing(request)
    assert not result.allowed
    with pytest.raises(FilingRefused, match="材料不全"):
        commit_filing(db, engine_for("jiangsu"), signed, people["张三"], request, seen=result)
    assert snapshot(db) == before


@pytest.mark.parametrize("second", ["change", "cancel"])
def test_stale_version_is_refused(
    db: Database, signed: SignedIn, people: dict[str, int], second: str
) -> None:
    person_id = people["张三"]
    base = filing_request("jiangsu", ZHANG_SAN)
    new = commit(db, signed, person_id, base)
    # Two clerks open the filing at version 1; the first changes it.
    first_view = change_request(db, person_id, new.number, base, destination="460100")
    second_view = change_request(db, person_id, new.number, base, action=second)
    commit(db, signed, person_id, first_view, expected_version=1)
    before = snapshot(db)
    with pytest.raises(StaleFiling, match=new.number):
        commit(db, signed, person_id, second_view, expected_version=1)
    assert snapshot(db) == before
    assert rows(db, "SELECT version, status FROM filing") == [(2, "active")]


def test_beijing_change_of_destination_refiles(db: Database) -> None:
    signed = open_office(db, "beijing")
    person_id = add_person(db, signed, ZHANG_SAN)
    base = filing_request(
        "beijing", ZHANG_SAN, category="long_term_resident", end_date="2027-03-01"
    )
    old = commit(db, signed, person_id, base)
    change = change_request(
        db, person_id, old.number, base, destination="460100", today="2026-04-01"
    )
    _, verdict = decide("beijing", change)
    assert (verdict.change_mode, verdict.supersedes) == ("refile", [old.number])

    new = commit(db, signed, person_id, change, expected_version=1)
    assert new.number != old.number
    assert new.number == "BA110105202604010001"
    assert {f.number: f.status for f in person_filings(db, person_id)} == {
        new.number: "active",
        old.number: "superseded",
    }
    assert rows(db, "SELECT version FROM filing WHERE number = :n", n=old.number) == [(2,)]
    assert rows(db, "SELECT action FROM filing_history WHERE filing_id = :f", f=new.filing_id) == [
        ("new",)
    ]
    assert rows(
        db,
        f"SELECT entity_id, {jx(db, 'detail', 'by')} FROM audit_log WHERE action = 'supersede'",
    ) == [(old.number, new.number)]
    assert rows(
        db,
        f"SELECT seq, kind, {jx(db, 'payload', 'supersedes')} FROM outbox_event ORDER BY seq",
    ) == [(1, "filing.new", "[]"), (2, "filing.new", f'["{old.number}"]')]

    # A second clerk who opened the old filing at version 1 must not refile it again, and no
    # one can refile another person's filing.
    other_id = add_person(db, signed, LI_SI)
    before = snapshot(db)
    with pytest.raises(StaleFiling, match=old.number):
        commit(db, signed, person_id, change, expected_version=1)
    with pytest.raises(FilingRefused, match="不属于该参保人"):
        commit(db, signed, other_id, change, expected_version=2)
    assert snapshot(db) == before


def test_filing_numbers_are_office_date_sequence(db: Database, signed: SignedIn) -> None:
    other = open_office(db, "jiangsu", code="320104")
    person_id = add_person(db, signed, ZHANG_SAN)
    numbers = []
    places = ["440300", "460100", "530100", "310101", "110101"]  # temporary filings may coexist
    for place, (day, office) in zip(
        places, [(0, signed), (0, signed), (0, other), (0, signed), (1, signed)], strict=True
    ):
        request = filing_request(
            "jiangsu",
            ZHANG_SAN,
            today=(TODAY + timedelta(days=day)).isoformat(),
            destination=place,
        )
        numbers.append(commit(db, office, person_id, request).number)
    assert numbers == [
        "BA320102202603020001",
        "BA320102202603020002",
        "BA320104202603020001",
        "BA320102202603020003",
        "BA320102202603030001",
    ]
    stored = [row[0] for row in rows(db, "SELECT number FROM filing")]
    assert sorted(stored) == sorted(numbers)
    assert len(set(stored)) == len(stored)


# --- demo office and dashboard -----------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_seed_demo_files_every_category_and_fills_queues(db: Database, policy: str) -> None:
    engine = engine_for(policy)
    today = date(2026, 11, 23)
    signed = seed_demo(db, engine, today)

    categories = {row[0] for row in rows(db, "SELECT DISTINCT category FROM filing")}
    needing = {key for key, rules in engine.pack.filing.categories.items() if rules.needs_filing}
    assert needing
    assert categories == needing
    filings = scalar(db, "SELECT count(*) FROM filing")
    assert scalar(db, "SELECT count(DISTINCT filing_id) FROM filing_history") == filings
    transitions = scalar(db, "SELECT count(*) FROM claim_history")  # demo claims (零星报销)
    assert scalar(db, "SELECT count(*) FROM outbox_event") == filings + transitions
    statuses = {row[0] for row in rows(db, "SELECT DISTINCT status FROM claim")}
    assert statuses == {"pending_materials", "accepted", "reviewing", "settled", "returned"}

    board = dashboard(db, signed.clerk_id, today)
    assert board.expiring, "temporary filings about to expire"
    assert all(
        today <= row.due <= today + timedelta(days=30) and MASKED.match(row.id_masked)
        for row in board.expiring
    )
    if policy == "wuhu":  # 芜湖: long-term filings on commitment owe materials within a month
        assert board.followups
        assert all(
            row.category in needing and MASKED.match(row.id_masked) for row in board.followups
        )
    assert board.pending_events == filings + transitions

    assert seed_demo(db, engine, today) == signed  # a second run adds nothing
    assert scalar(db, "SELECT count(*) FROM filing") == filings


# --- drafts ------------------------------------------------------------------------------------


def test_drafts_save_overwrite_list_discard(
    db: Database, signed: SignedIn, people: dict[str, int]
) -> None:
    first = save_draft(db, signed.clerk_id, "filing", {"name": "张三"}, step="person", title="张三")
    second = save_draft(db, signed.clerk_id, "claim", {"total": "12.00"}, step="amounts")
    again = save_draft(
        db,
        signed.clerk_id,
        "filing",
        {"name": "张三", "category": "referral"},
        step="category",
        title="张三",
        person_id=people["张三"],
        draft_id=first,
    )
    assert again == first
    draft = get_draft(db, first)
    assert draft is not None
    assert (draft.step, draft.data, draft.person_id) == (
        "category",
        {"name": "张三", "category": "referral"},
        people["张三"],
    )
    assert [d.id for d in list_drafts(db, signed.clerk_id)] == [first, second]  # newest first
    assert [d.id for d in list_drafts(db, signed.clerk_id, kind="claim")] == [second]
    assert list_drafts(db, signed.clerk_id + 1000) == []

    discard_draft(db, second)
    discard_draft(db, second)  # already gone: nothing to do
    assert [d.id for d in list_drafts(db)] == [first]

    # Committing the filing the draft was for removes the draft in the same transaction.
    commit(db, signed, people["张三"], filing_request("jiangsu", ZHANG_SAN), draft_id=first)
    assert list_drafts(db) == []
