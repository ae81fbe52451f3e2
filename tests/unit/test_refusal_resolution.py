"""Withdrawing a refused step locally brings the office back to what the provincial store holds.

The store's answers are recorded as the sync records them (``outbox.record_answers``); the end to
end runs against the real server are in ``tests/unit/sync/test_refusals.py``. Here every kind of
step: a refused change goes back to the filing before it, a refused cancellation leaves the
filing active, a refused refile (京细则 第十条: a new destination makes a new filing that
supersedes the old) is withdrawn and the old filing is active again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select

from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.filings import as_existing, person_filings
from counter_app.storage.models import FilingHistory, OutboxEvent
from counter_app.storage.persons import save_person
from counter_app.sync import outbox, protocol
from counter_app.workflows import refusals
from counter_app.workflows.filings import commit_filing

TODAY = date(2026, 3, 2)
PERSON = ("张三", "11010519491231002X")


def _office(
    new_db: Callable[[str], Database], policy: str, code: str
) -> tuple[Database, SignedIn, int]:
    db = new_db(policy)  # an SQLite file or a PostgreSQL database (tests/unit/conftest.py)
    engine = build_engine(policy)
    ensure_office(db, code, "测试中心", policy, engine.pack.pack.home_pool_code)
    add_clerk(db, code, "clerk", "经办人", "password123")
    signed = sign_in(db, "clerk", "password123")
    assert signed is not None
    person_id = save_person(db, signed.clerk_id, name=PERSON[0], id_number=PERSON[1], today=TODAY)
    return db, signed, person_id


def _step(db: Database, signed: SignedIn, person_id: int, policy: str, **fields: Any) -> str:
    engine = build_engine(policy)
    request: dict[str, Any] = {
        "policy": policy,
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": PERSON[0], "id_number": PERSON[1]},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": ["id_card"],
        **fields,
    }
    request["existing"] = as_existing(person_filings(db, person_id))
    seen = engine.filing(request)
    for _ in range(4):
        if not seen.missing:
            break
        request["materials"] = [*request["materials"], *seen.missing]
        seen = engine.filing(request)
    assert seen.allowed, seen.reasons
    version = next(
        (f.version for f in person_filings(db, person_id) if f.number == fields.get("target")),
        None,
    )
    return commit_filing(
        db, engine, signed, person_id, request, seen=seen, expected_version=version
    ).number


def _answer_last(db: Database, status: str) -> str:
    with db.read() as session:
        event = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.seq).desc())).first()
    assert event is not None
    answer = (
        {"status": protocol.ACCEPTED}
        if status == "accepted"
        else protocol.rejection("active_filing_elsewhere", "110105********002X 有备案（弋江区）")
    )
    outbox.record_answers(db, [(event.id, answer)])
    return event.id


def _actions(db: Database, number: str) -> list[str]:
    (filing,) = [f for f in person_filings(db, _pid(db)) if f.number == number]
    with db.read() as session:
        return list(
            session.exec(
                select(FilingHistory.action)
                .where(FilingHistory.filing_id == filing.id)
                .order_by(col(FilingHistory.id))
            ).all()
        )


def _pid(db: Database) -> int:
    from counter_app.storage.models import Person

    with db.read() as session:
        person = session.exec(select(Person)).one()
    assert person.id is not None
    return person.id


@pytest.mark.parametrize("step", ["change", "cancel"])
def test_refused_change_or_cancel_goes_back_to_the_step_before(
    new_db: Callable[[str], Database], step: str
) -> None:
    db, signed, person_id = _office(new_db, "jiangsu", "320102")
    number = _step(db, signed, person_id, "jiangsu")
    _answer_last(db, "accepted")
    if step == "change":
        _step(
            db, signed, person_id, "jiangsu", action="change", target=number, destination="530100"
        )
    else:
        _step(db, signed, person_id, "jiangsu", action="cancel", target=number)
    event_id = _answer_last(db, "rejected")
    assert number in refusals.refused_filings(db)
    before = {f.number: f for f in person_filings(db, person_id)}[number]
    assert (before.destination_code, before.status) == (
        ("530100", "active") if step == "change" else ("440300", "cancelled")
    )

    with pytest.raises(refusals.ResolveRefused, match="撤回原因"):
        refusals.withdraw(db, signed.clerk_id, event_id, "  ")
    done = refusals.withdraw(db, signed.clerk_id, event_id, "参保人改变主意")
    assert done == f"备案 {number} 已恢复为省平台上的状态"
    (after,) = person_filings(db, person_id)
    assert (after.destination_code, after.status, after.valid_until) == (
        "440300",
        "active",
        date(2026, 9, 1),
    )
    assert after.version == before.version + 1
    assert _actions(db, number) == ["new", step, "withdraw"]
    assert refusals.refused_filings(db) == {} and outbox.status(db).pending == 0


def test_refused_refile_is_withdrawn_and_the_old_filing_is_active_again(
    new_db: Callable[[str], Database],
) -> None:
    db, signed, person_id = _office(new_db, "beijing", "110105")
    old = _step(
        db, signed, person_id, "beijing", category="long_term_resident", end_date="2027-03-01"
    )
    _answer_last(db, "accepted")
    new = _step(
        db,
        signed,
        person_id,
        "beijing",
        action="change",
        target=old,
        category="long_term_resident",
        end_date="2027-03-01",
        destination="530100",
    )
    assert new != old
    assert {f.number: f.status for f in person_filings(db, person_id)} == {
        old: "superseded",
        new: "active",
    }
    event_id = _answer_last(db, "rejected")
    assert refusals.find(db, new).event_id == event_id
    done = refusals.withdraw(db, signed.clerk_id, event_id, "对方机构备案仍有效")
    assert done == f"备案 {new} 已撤回"
    assert {f.number: f.status for f in person_filings(db, person_id)} == {
        old: "active",
        new: "withdrawn",
    }
    assert [e["id"] for e in as_existing(person_filings(db, person_id))] == [old]
    # Retrying a withdrawn refusal is not possible any more.
    with pytest.raises(refusals.ResolveRefused):
        refusals.retry(db, signed.clerk_id, [event_id])
