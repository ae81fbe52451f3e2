"""A demo office's day, synced end to end with the real server (SQLite and PostgreSQL: the store
and the office database both on one engine or both on the other).

The demo office (芜湖) is seeded, registered with the province, files one more person at the
counter, syncs; the province assigns it two online applications, which are pulled with the
working-day deadline (芜规程 第九条: 2 working days), reviewed (one approved, one refused) and the
answers synced back; the store then holds every filing, the reviews and the same event count.
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select

from counter_app.domain.idnumber import check_digit
from counter_app.province.store import ProvinceStore
from counter_app.province.tables import applications as app_table
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.models import OutboxEvent
from counter_app.storage.persons import save_person
from counter_app.sync import outbox
from counter_app.sync.client import SyncError, run_sync
from counter_app.sync.pulled import ReviewRefused, applications, review, with_pulled_calendar
from counter_app.workflows.filings import commit_filing
from tests.support.province import ServerProcess, assert_exactly_once
from tests.unit.conftest import new_pg_office
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)  # a Monday: two working days later is Wednesday 25 November
ENGINE = build_engine("wuhu")


def _id(first17: str) -> str:
    return first17 + check_digit(first17)


def _application(name: str, id_number: str, destination: str = "460105") -> dict:
    return {
        "person": {"name": name, "id_number": id_number},
        "insurance": "employee",
        "category": "long_term_resident",
        "scope": "cross_province",
        "destination": destination,
        "basis": "commitment",
        "materials": ["id_card", "filing_form", "commitment_letter"],
        "submitted_on": TODAY.isoformat(),
    }


def test_demo_office_day(
    server: ServerProcess,
    store: ProvinceStore,
    province_url: str,
    tmp_path,
    request: pytest.FixtureRequest,
) -> None:
    if province_url.startswith("postgresql"):  # the office's database on PostgreSQL too
        url = new_pg_office(
            request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_office_template")
        )
        db = Database.open_url(url)
        keys = {"key_dir": tmp_path / "office.keys"}  # no database file to keep them beside
    else:
        db = Database.open(tmp_path / "demo.db")
        keys = {}
    demo = seed_demo(db, ENGINE, TODAY)
    token = store.add_office(demo.office_code, demo.office_name, "340200")
    server.start()

    # A bad token is refused with a clear message, and nothing is marked.
    with pytest.raises(SyncError, match="不认本机构的令牌"):
        run_sync(db, ENGINE, config(server, "wrong", **keys), TODAY)
    assert httpx.get(f"{server.base_url}/v1/filings").status_code == 401

    # At the counter: a new person, a new filing (engine → commit, outbox event in the same tx).
    request = {
        "policy": "wuhu",
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": "柯镇恶", "id_number": "11010519491231002X"},
        "insurance": "employee",
        "category": "long_term_resident",
        "scope": "cross_province",
        "destination": "460105",
        "basis": "commitment",
        "materials": ["id_card", "filing_form", "commitment_letter"],
    }
    person_id = save_person(
        db, demo.clerk_id, name="柯镇恶", id_number="11010519491231002X", today=TODAY
    )
    verdict = ENGINE.filing(request)
    counter = commit_filing(db, ENGINE, demo, person_id, request, seen=verdict)

    approve_id = store.add_application(
        demo.office_code, _application("韩宝驹", _id("11010519491231003"))
    )
    refuse_id = store.add_application(
        demo.office_code, _application("全金发", _id("11010519500101001"))
    )
    store.add_package(
        "holiday_calendar",
        1,
        {"year": 2027, "version": "2027 放假安排", "holidays": ["2027-01-01"]},
    )

    first = run_sync(db, ENGINE, config(server, token, **keys), TODAY)
    with db.read() as session:
        total = len(session.exec(select(OutboxEvent.id)).all())  # type: ignore[call-overload]
    assert first.tally.accepted == total and first.reconciled
    assert (first.pulled.applications, first.pulled.packages) == (2, 1)

    # The pulled holiday calendar counts from the next start: 2027 is covered, not provisional.
    engine = with_pulled_calendar(ENGINE, db)
    assert not ENGINE.calendar.covers(date(2027, 1, 4)) and engine.calendar.covers(date(2027, 1, 4))
    assert engine.calendar.version.endswith("2027 放假安排")
    assert not engine.calendar.is_working_day(date(2027, 1, 1))

    queue = applications(db)
    assert {a.id for a in queue} == {approve_id, refuse_id}
    assert {(a.due_date, a.citation) for a in queue} == {(date(2026, 11, 25), "芜规程 第九条")}

    with pytest.raises(ReviewRefused, match="不通过原因"):
        review(db, ENGINE, demo, refuse_id, "rejected", " ", TODAY)
    review(db, ENGINE, demo, approve_id, "approved", "", TODAY)
    review(db, ENGINE, demo, refuse_id, "rejected", "承诺书未签名", TODAY)
    with pytest.raises(ReviewRefused, match="已审核过"):
        review(db, ENGINE, demo, approve_id, "approved", "", TODAY)
    assert applications(db) == []

    second = run_sync(db, ENGINE, config(server, token, **keys), TODAY)
    assert second.tally.accepted == 2 and second.reconciled and second.pulled.total == 0
    assert outbox.status(db).pending == 0

    served = {
        f["number"]: f
        for f in httpx.get(
            f"{server.base_url}/v1/filings", headers={"Authorization": f"Bearer {token}"}
        ).json()["filings"]
    }
    assert counter.number in served and approve_id in served and refuse_id not in served
    assert served[approve_id]["name"] == "韩宝驹" and served[approve_id]["status"] == "active"
    with store.engine.connect() as conn:
        reviewed = dict(conn.execute(select(app_table.c.id, app_table.c.status)).all())
    assert reviewed == {approve_id: "approved", refuse_id: "rejected"}
    assert_exactly_once(db, province_url, demo.office_code, total + 2)
