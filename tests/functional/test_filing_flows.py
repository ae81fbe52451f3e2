"""New, change and cancel filings for every region, by keyboard, checked in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.filings import as_existing, person_filings
from counter_app.storage.models import AuditLog, Filing, FilingHistory, OutboxEvent
from counter_app.storage.persons import save_person
from counter_app.ui.filings.steps import ReviewStep
from counter_app.ui.screens.person import PersonScreen
from counter_app.workflows.filings import commit_filing
from tests.functional.conftest import TODAY, engine_for, open_db
from tests.functional.driving import (
    choose_destination,
    missing_now,
    next_step,
    open_person,
    settle,
    sign_in,
    tick,
)

POLICIES = ["jiangsu", "beijing", "wuhu", "hunan"]
# A valid 身份证号 (check digit computed) that the demo data does not use.
TEST_ID = "11010519491231002X"


def _add_person(app, name: str = "测试甲") -> int:  # type: ignore[no-untyped-def]
    db = open_db(app)
    signed = storage_sign_in(db, "demo", "demo1234")
    assert signed is not None
    person_id = save_person(
        db, signed.clerk_id, name=name, id_number=TEST_ID, insurance="employee", today=TODAY
    )
    db.close()
    return person_id


def _add_temporary(app, person_id: int, policy: str) -> str:  # type: ignore[no-untyped-def]
    """A temporary filing made 30 days ago (no lock in any region), via the storage layer."""
    db = open_db(app)
    engine = engine_for(policy)
    signed = storage_sign_in(db, "demo", "demo1234")
    assert signed is not None
    day = TODAY - timedelta(days=30)
    request = {
        "policy": policy,
        "action": "new",
        "today": day.isoformat(),
        "person": {"name": "测试甲", "id_number": TEST_ID},
        "insurance": "employee",
        "category": "other_temporary",
        "scope": "cross_province",
        "destination": "460100",
        "materials": ["id_card", "filing_form", "commitment_letter"],
    }
    if policy == "beijing":
        request["end_date"] = (day + timedelta(days=200)).isoformat()
    result = engine.filing(request)
    assert result.allowed, result.reasons
    committed = commit_filing(db, engine, signed, person_id, request, seen=result)
    db.close()
    return committed.number


async def _to_person(pilot, name: str = "测试甲") -> PersonScreen:  # type: ignore[no-untyped-def]
    await sign_in(pilot)
    await open_person(pilot, name)
    screen = pilot.app.screen
    assert isinstance(screen, PersonScreen), type(screen)
    return screen


@pytest.mark.parametrize("policy", POLICIES)
async def test_new_long_term_filing(make_app, policy: str) -> None:
    app = make_app(policy)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await _to_person(pilot)
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)  # category: 异地长期居住人员, 职工, 跨省 (the defaults)
        await choose_destination(pilot, "hainan")
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        assert missing_now(pilot) == []
        await next_step(pilot)  # dates: defaults
        await next_step(pilot)  # to review
        assert isinstance(pilot.app.screen, ReviewStep)
        await next_step(pilot)  # commit
        assert isinstance(pilot.app.screen, PersonScreen)

    db = open_db(app)
    filings = person_filings(db, person_id)
    assert len(filings) == 1
    filing = filings[0]
    assert (filing.category, filing.destination_code, filing.status) == (
        "long_term_resident",
        "460000",
        "active",
    )
    assert filing.valid_until is None  # long-term (长期有效)
    with db.read() as session:
        history = session.exec(
            select(FilingHistory).where(FilingHistory.filing_id == filing.id)
        ).all()
        events = session.exec(select(OutboxEvent).where(OutboxEvent.kind == "filing.new")).all()
        audits = session.exec(
            select(AuditLog).where(AuditLog.entity == "filing", AuditLog.entity_id == filing.number)
        ).all()
    assert [h.action for h in history] == ["new"]
    assert any(e.payload["number"] == filing.number for e in events)
    assert [a.action for a in audits] == ["new"]
    # The full 身份证号 never lands in the audit log.
    assert all(TEST_ID not in str(a.detail) for a in audits)
    db.close()


@pytest.mark.parametrize("policy", POLICIES)
async def test_change_destination_of_a_temporary_filing(make_app, policy: str) -> None:
    app = make_app(policy)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        number = _add_temporary(app, person_id, policy)
        await _to_person(pilot)
        await pilot.press("c")
        await settle(pilot)
        await next_step(pilot)
        await choose_destination(pilot, "kunming")
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(pilot.app.screen, PersonScreen)

    db = open_db(app)
    filings = {f.number: f for f in person_filings(db, person_id)}
    if policy == "beijing":
        # 京细则 第十条: a new destination is a new filing; the old one is void.
        assert filings[number].status == "superseded"
        (new,) = [f for f in filings.values() if f.number != number]
        assert (new.destination_code, new.status) == ("530100", "active")
    else:
        assert len(filings) == 1
        assert filings[number].destination_code == "530100"
        assert filings[number].version == 2
    db.close()


@pytest.mark.parametrize("policy", POLICIES)
async def test_cancel_a_temporary_filing(make_app, policy: str) -> None:
    app = make_app(policy)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        number = _add_temporary(app, person_id, policy)
        await _to_person(pilot)
        await pilot.press("x")
        await settle(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(pilot.app.screen, PersonScreen)

    db = open_db(app)
    (filing,) = person_filings(db, person_id)
    assert (filing.number, filing.status, filing.valid_until) == (number, "cancelled", TODAY)
    db.close()


async def test_a_locked_change_cannot_be_committed(make_app) -> None:
    """芜规程 第十条: a long-term filing may change only 6 months after it took effect."""
    app = make_app("wuhu")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        db = open_db(app)
        engine = engine_for("wuhu")
        signed = storage_sign_in(db, "demo", "demo1234")
        request = {
            "policy": "wuhu",
            "action": "new",
            "today": (TODAY - timedelta(days=10)).isoformat(),
            "person": {"name": "测试甲", "id_number": TEST_ID},
            "insurance": "employee",
            "category": "long_term_resident",
            "scope": "cross_province",
            "destination": "460100",
            "materials": ["id_card", "filing_form", "residence_proof"],
            "existing": as_existing([]),
        }
        result = engine.filing(request)
        commit_filing(db, engine, signed, person_id, request, seen=result)
        db.close()
        await _to_person(pilot)
        await pilot.press("x")
        await settle(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        assert isinstance(pilot.app.screen, ReviewStep)
        await next_step(pilot)  # refused: still on the review step
        assert isinstance(pilot.app.screen, ReviewStep)
        assert "暂不能办理" in str(pilot.app.screen.query_one("#commit_message").render())

    db = open_db(app)
    (filing,) = person_filings(db, person_id)
    assert filing.status == "active"
    with db.read() as session:
        assert session.exec(select(Filing).where(Filing.status == "cancelled")).first() is None
    db.close()


async def test_person_view_is_audited_and_numbers_masked(make_app) -> None:
    app = make_app("hunan")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app, "隐私甲")
        screen = await _to_person(pilot, "隐私甲")
        details = str(screen.query_one("#details").render())
        assert "110105********002X" in details and TEST_ID not in details
        await pilot.press("v")  # reveal the full number: audited
        await settle(pilot)
        assert TEST_ID in str(screen.query_one("#details").render())
        await pilot.press("e")  # the edit form shows the full numbers too: audited
        await settle(pilot)

    db = open_db(app)
    query = select(AuditLog).where(
        AuditLog.entity == "person", AuditLog.entity_id == str(person_id)
    )
    with db.read() as session:
        entries = list(session.exec(query).all())
    assert [a.action for a in entries].count("view") == 1  # one opening, one audited view
    assert [a.detail.get("where") for a in entries if a.action == "view_full"] == [
        "person",
        "person_form",
    ]
    db.close()


async def test_idle_time_locks_the_screen_until_the_password(make_app) -> None:
    from counter_app.ui.screens.sign_in import LockScreen

    app = make_app("jiangsu", idle_lock_minutes=1)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        app.last_activity -= 61  # a minute without a key
        app.check_idle_lock()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"wrong-pass", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"demo1234", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)


async def test_commit_decides_again_when_another_window_filed_meanwhile(make_app) -> None:  # type: ignore[no-untyped-def]
    """The wizard shows 可以办理; before F10 another window gives the person a long-term filing
    (苏规程: one active long-term filing): the commit re-reads under the lock and refuses in
    Chinese, and nothing of this wizard is written."""
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        person_id = _add_person(app)
        await _to_person(pilot)
        await pilot.press("n")
        await settle(pilot)
        await next_step(pilot)
        await choose_destination(pilot, "hainan")
        await next_step(pilot)
        await tick(pilot, missing_now(pilot))
        await next_step(pilot)
        await next_step(pilot)
        assert isinstance(pilot.app.screen, ReviewStep)
        # Another window, another clerk process: the same person, a long-term filing elsewhere.
        db = open_db(app)
        engine = engine_for("jiangsu")
        signed = storage_sign_in(db, "demo", "demo1234")
        assert signed is not None
        other = {
            "policy": "jiangsu",
            "action": "new",
            "today": TODAY.isoformat(),
            "person": {"name": "测试甲", "id_number": TEST_ID},
            "insurance": "employee",
            "category": "long_term_resident",
            "scope": "cross_province",
            "destination": "530100",
            "materials": ["id_card", "filing_form", "residence_proof"],
        }
        seen = engine.filing(other)
        other["materials"] = [*other["materials"], *seen.missing]
        theirs = commit_filing(db, engine, signed, person_id, other, seen=None).number
        db.close()
        await next_step(pilot)  # F10: refused, still on the review step
        assert isinstance(pilot.app.screen, ReviewStep)
        message = str(pilot.app.screen.query_one("#commit_message").render())
        assert "规则判断已变为不允许办理" in message and theirs in message

    db = open_db(app)
    assert [f.number for f in person_filings(db, person_id)] == [theirs]
    db.close()
