"""A claim's steps reach the provincial store: the ``claim.*`` outbox events written by
``storage/claims.py`` (accept, review, settle) sync to the real server (SQLite and PostgreSQL)
and are held there once each, with the payload the office wrote."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from counter_app.province.store import ProvinceStore, events
from counter_app.rules_engine import build_engine
from counter_app.storage.persons import save_person
from counter_app.sync.client import run_sync
from counter_app.workflows.claims import advance_claim, take_claim
from tests.support.province import ServerProcess, assert_exactly_once
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")


def _complete_claim() -> tuple[dict, object]:
    request: dict = {
        "policy": "wuhu",
        "today": TODAY.isoformat(),
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "none",
        "treatment": "outpatient",
        "hospital_level": 2,
        "visit_date": (TODAY - timedelta(days=5)).isoformat(),
        "materials": ["id_card"],
        "amounts": {"total": "860.00", "in_scope": "800.00", "self_pay": "60.00"},
    }
    result = ENGINE.claim(request)
    while result.missing:
        request["materials"] = [*request["materials"], *result.missing]
        result = ENGINE.claim(request)
    assert result.eligible and result.complete and result.payment is not None
    return request, result


def test_claim_events_sync_end_to_end(
    server: ServerProcess, store: ProvinceStore, province_url: str, office, token: str
) -> None:
    db, signed = office
    person_id = save_person(
        db, signed.clerk_id, name="柯镇恶", id_number="11010519491231002X", today=TODAY
    )
    request, result = _complete_claim()
    claim = take_claim(db, ENGINE, signed, person_id, request, seen=result)
    advance_claim(db, ENGINE, signed, claim.number, "review", today=TODAY)
    advance_claim(db, ENGINE, signed, claim.number, "settle", today=TODAY)
    server.start()

    outcome = run_sync(db, ENGINE, config(server, token), TODAY)
    assert outcome.tally.accepted == 3 and outcome.reconciled
    with store.engine.connect() as conn:
        held = conn.execute(
            select(events.c.kind, events.c.payload)
            .where(events.c.office == signed.office_code)
            .order_by(events.c.seq)
        ).all()
    assert [kind for kind, _ in held] == ["claim.accept", "claim.review", "claim.settle"]
    settled = json.loads(held[-1].payload)
    assert (settled["number"], settled["status"]) == (claim.number, "settled")
    assert settled["fund_total"] == f"{result.payment.fund_total:.2f}"
    assert [f["name"] for f in settled["funds"]] == [f.name for f in result.payment.funds]

    again = run_sync(db, ENGINE, config(server, token), TODAY)  # nothing left, nothing repeated
    assert again.tally.accepted == 0 and again.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 3)
