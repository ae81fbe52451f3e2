"""The audit trail: filters by clerk, person, action and date; an export of a period, audited."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from counter_app.settings import CHINA_TIME
from counter_app.storage.audit_trail import AuditFilter, export_audit, query_audit, record_view
from counter_app.storage.clerks import clerk_names
from counter_app.storage.models import AuditLog, Clerk, Filing, Person
from counter_app.storage.persons import open_person, record_full_view
from tests.support.printing import seeded


def _setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    db, number, _ = seeded(tmp_path, "jiangsu")
    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.number == number)).one()
        person = session.get(Person, filing.person_id)
        other = session.exec(select(Person).where(Person.id != filing.person_id)).first()
        clerk = session.exec(select(Clerk).where(Clerk.username == "demo")).one()
        boss = session.exec(select(Clerk).where(Clerk.role == "supervisor")).one()
    return db, filing, person, other, clerk, boss


def test_filters_by_person_action_clerk_and_office_day(tmp_path: Path) -> None:
    db, filing, person, other, clerk, boss = _setup(tmp_path)
    record_full_view(db, clerk.id, person.id, "person")
    record_full_view(db, boss.id, other.id, "person")
    open_person(db, other.id, clerk.id)
    # by person: their own entries and their filing's, not the other person's
    about = query_audit(db, AuditFilter(person=person.id_number))
    assert about
    assert all(
        (line.entity == "person" and line.entity_id == str(person.id))
        or line.entity_id == filing.number
        or line.detail.get("person_id") == person.id
        for line in about
    )
    assert any(line.entity_id == filing.number for line in about)
    assert query_audit(db, AuditFilter(person=person.name)) == about
    assert query_audit(db, AuditFilter(person="110101199003077777")) == []
    # by action (code or Chinese name) and clerk (user name or display name)
    full = query_audit(db, AuditFilter(action="查看完整身份证号"))
    assert {(line.action, line.entity_id) for line in full} == {
        ("view_full", str(person.id)),
        ("view_full", str(other.id)),
    }
    by_demo = query_audit(db, AuditFilter(action="view_full", clerk="演示经办人"))
    assert [line.entity_id for line in by_demo] == [str(person.id)]
    assert query_audit(db, AuditFilter(action="view_full", clerk="demo")) == by_demo
    # by date: the office's day, not UTC's (an entry at 23:30 UTC is the next day in China)
    with db.write() as session:
        late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
        session.add(AuditLog(at=late, clerk_id=clerk.id, action="print", entity="print_job"))
    china_day = late.astimezone(CHINA_TIME).date()
    assert china_day == date(2026, 12, 1)
    on_day = query_audit(db, AuditFilter(start=china_day, end=china_day), zone=CHINA_TIME)
    assert [line.at for line in on_day] == [late]
    before = china_day - timedelta(days=1)
    assert query_audit(db, AuditFilter(start=before, end=before), zone=CHINA_TIME) == []
    assert clerk_names(db)[clerk.id] == "演示经办人"


def test_export_writes_the_period_and_is_audited(tmp_path: Path) -> None:
    db, _, person, other, clerk, boss = _setup(tmp_path)
    record_full_view(db, clerk.id, person.id, "person")
    record_full_view(db, clerk.id, other.id, "person")
    wanted = AuditFilter(action="view_full", person=person.id_number)
    target = tmp_path / "out" / "audit.csv"
    assert export_audit(db, boss.id, wanted, target) == 1
    assert target.stat().st_mode & 0o777 == 0o600
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:4] == ["编号", "时间", "经办人", "操作"]
    assert len(rows) == 2 and rows[1][3] == "查看完整身份证号" and rows[1][6] == str(person.id)
    record_view(db, boss.id, wanted, 1)
    with db.read() as session:
        logged = session.exec(
            select(AuditLog).where(AuditLog.action.in_(["audit_export", "audit_view"]))  # type: ignore[attr-defined]
        ).all()
    assert {entry.action for entry in logged} == {"audit_export", "audit_view"}
    for entry in logged:
        assert entry.clerk_id == boss.id
        # the filter is recorded with the 身份证号 masked, never in full
        assert person.id_number not in str(entry.detail)
        assert entry.detail["filter"]["person"].startswith(person.id_number[:6])
    export = next(entry for entry in logged if entry.action == "audit_export")
    assert export.detail["file"] == str(target) and export.detail["rows"] == 1
