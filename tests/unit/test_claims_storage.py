"""Claims (零星报销) on a real SQLite file and on PostgreSQL: transitions, transactions, audit,
outbox, YTD.

Every test opens its own database (``new_db`` of tests/unit/conftest.py: a file under
``tmp_path`` as the app does, or a fresh PostgreSQL database); what landed in it is checked with
plain SQL. The figures stored are compared with the engine's answer to the same
request, and the due dates across 国庆 and 春节 with dates worked out by hand from the State
Council's holiday notices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

from counter_app.domain.claim_documents import acceptance_receipt, one_time_notice
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.engine import RulesEngine
from counter_app.domain.requests import ClaimRequest
from counter_app.domain.results import ClaimResult
from counter_app.printing.sources import PrintContext, claim_record, preview
from counter_app.rules_engine import build_engine
from counter_app.storage import claims as claims_module
from counter_app.storage.claims import (
    ClaimRefused,
    StaleClaim,
    claim_counts,
    claim_queue,
    open_claim,
    year_to_date,
)
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.drafts import get_draft, save_draft
from counter_app.storage.persons import save_person
from counter_app.workflows.claims import advance_claim as advance_workflow
from counter_app.workflows.claims import take_claim
from tests.support.db_rows import rows
from tests.support.db_rows import snapshot as table_snapshot

TODAY = date(2026, 11, 23)
ID_NUMBER = "11010519491231002X"
CLAIM_TABLES = ("claim", "claim_history", "claim_line", "audit_log", "outbox_event", "draft")
INPATIENT = ["id_card", "invoice", "inpatient_bill", "discharge_summary"]


@cache
def engine_for(policy: str) -> RulesEngine:
    return build_engine(policy)


@pytest.fixture
def db(new_db: Callable[[str], Database]) -> Database:
    return new_db("office")


def open_office(db: Database, policy: str = "jiangsu", code: str = "320102") -> SignedIn:
    pack = engine_for(policy).pack.pack
    ensure_office(db, code, f"{code} 医保服务中心", policy, pack.home_pool_code)
    add_clerk(db, code, f"clerk{code}", "经办人", "password123")
    signed = sign_in(db, f"clerk{code}", "password123")
    assert signed is not None
    return signed


@pytest.fixture
def signed(db: Database) -> SignedIn:
    return open_office(db)


@pytest.fixture
def person_id(db: Database, signed: SignedIn) -> int:
    return save_person(db, signed.clerk_id, name="张三", id_number=ID_NUMBER, today=TODAY)


def claim_request(policy: str = "jiangsu", **fields: Any) -> dict[str, Any]:
    """An inpatient stay of a long-term resident, complete, 12,000 元; ``fields`` override."""
    request: dict[str, Any] = {
        "policy": policy,
        "today": TODAY.isoformat(),
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "long_term",
        "treatment": "inpatient",
        "hospital_level": 3,
        "materials": INPATIENT,
        "admission_date": "2026-10-08",
        "discharge_date": "2026-10-20",
        "amounts": {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"},
    }
    request.update(fields)
    return request


def decide(request: dict[str, Any]) -> tuple[ClaimRequest, ClaimResult]:
    engine = engine_for(request["policy"])
    return ClaimRequest.model_validate(request), engine.claim(request)


def take(db: Database, signed: SignedIn, person_id: int, request: dict[str, Any], **kw: Any):  # type: ignore[no-untyped-def]
    """Through the workflow: decided again on the year-to-date figures read in the transaction
    (``seen``, the verdict a clerk was shown, only where a test gives one)."""
    if "ytd_computed" in kw:
        kw["ytd_shown"] = kw.pop("ytd_computed")
    engine = engine_for(request["policy"])
    return take_claim(db, engine, signed, person_id, request, seen=kw.pop("seen", None), **kw)


def advance_claim(db: Database, signed: SignedIn, number: str, action: str, **kw: Any):  # type: ignore[no-untyped-def]
    """A transition through the workflow (the office's policy: 江苏 unless given)."""
    engine = engine_for(kw.pop("policy", "jiangsu"))
    return advance_workflow(db, engine, signed, number, action, **kw)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return table_snapshot(db, CLAIM_TABLES)


def test_accepting_writes_claim_history_lines_audit_and_event(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    request = claim_request()
    _, result = decide(request)
    lines = [
        ItemLine(date(2026, 10, 8), "床位费", Decimal("10000.00"), "in_scope"),
        ItemLine(None, "自费药品", Decimal("2000.00"), "self_pay"),
    ]
    committed = take(db, signed, person_id, request, lines=lines)
    assert committed.status == "accepted"
    assert committed.number == "BX320102202611230001"

    [(status, due, total, fund, cash, accepted_on, version)] = rows(
        db,
        "SELECT status, due_date, total, fund_total, personal_cash, accepted_on, version "
        "FROM claim",
    )
    assert result.payment is not None and result.due is not None
    assert (status, due, accepted_on, version) == (
        "accepted",
        result.due.date.isoformat(),
        "2026-11-23",
        1,
    )
    # Stored exactly, as text, equal to the engine's Decimal answer.
    assert (total, fund, cash) == (
        "12000.00",
        f"{result.payment.fund_total:.2f}",
        f"{result.payment.personal_cash:.2f}",
    )
    assert rows(db, "SELECT action, from_status, to_status FROM claim_history") == [
        ("accept", "", "accepted")
    ]
    assert rows(db, "SELECT position, day, item, amount, category FROM claim_line") == [
        (0, "2026-10-08", "床位费", "10000.00", "in_scope"),
        (1, None, "自费药品", "2000.00", "self_pay"),
    ]
    [(action, entity, entity_id, detail)] = rows(
        db, "SELECT action, entity, entity_id, detail FROM audit_log WHERE entity = 'claim'"
    )
    assert (action, entity, entity_id) == ("accept", "claim", committed.number)
    assert ID_NUMBER not in detail and "110105********002X" in detail
    [(kind, payload)] = rows(db, "SELECT kind, payload FROM outbox_event")
    assert kind == "claim.accept"
    assert f'"fund_total": "{result.payment.fund_total:.2f}"' in payload


def test_numbers_are_office_date_sequence(db: Database, signed: SignedIn, person_id: int) -> None:
    numbers = [take(db, signed, person_id, claim_request()).number for _ in range(3)]
    assert numbers == [f"BX32010220261123000{i}" for i in (1, 2, 3)]
    later = take(db, signed, person_id, claim_request(today="2026-11-24"))
    assert later.number == "BX320102202611240001"


def test_incomplete_is_saved_with_notice_then_resumed_and_accepted(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    first = claim_request(materials=["id_card", "invoice"], today="2026-11-20")
    saved = take(db, signed, person_id, first)
    assert saved.status == "pending_materials"
    view = open_claim(db, saved.number, signed.clerk_id)
    assert view is not None and view.claim.due_date is None
    notice = one_time_notice(claim_record(view))
    assert [item["label"] for item in notice["items"]] == ["住院费用清单", "诊断证明或出院小结"]
    assert notice["items"][1]["text"] == "诊断证明 或 出院小结（任选其一）"
    assert all(item["citation"].startswith("苏规程 第二十七条") for item in notice["items"])
    assert notice["person"]["id_masked"] == "110105********002X"
    assert "320102 医保服务中心" in notice["come_back"]["where"]
    shown = preview("missing_notice", saved.number, PrintContext(db, TODAY)).text()
    assert ID_NUMBER not in shown and "110105********002X" in shown

    # The person comes back on the 23rd with the rest: the due date runs from that day.
    resumed = take(
        db,
        signed,
        person_id,
        claim_request(),
        number=saved.number,
        expected_version=saved.version,
    )
    assert (resumed.number, resumed.status, resumed.version) == (saved.number, "accepted", 2)
    view = open_claim(db, saved.number, signed.clerk_id)
    assert view is not None
    assert view.claim.materials_complete_on == TODAY
    assert view.claim.due_date == engine_for("jiangsu").calendar.add_working_days(TODAY, 10).date
    receipt = acceptance_receipt(claim_record(view))
    assert receipt["due"]["working_days"] == 10
    assert receipt["due"]["citation"] == "苏规程 第二十八条"
    assert receipt["number"] == saved.number
    assert [h.action for h in view.history] == ["save", "accept"]
    kinds = [k for (k,) in rows(db, "SELECT kind FROM outbox_event ORDER BY seq")]
    assert kinds == ["claim.save", "claim.accept"]


def test_resuming_with_a_stale_version_writes_nothing(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    saved = take(db, signed, person_id, claim_request(materials=["id_card"]))
    take(
        db, signed, person_id, claim_request(materials=["id_card", "invoice"]), number=saved.number
    )
    before = snapshot(db)
    with pytest.raises(StaleClaim):
        take(
            db,
            signed,
            person_id,
            claim_request(),
            number=saved.number,
            expected_version=saved.version,
        )
    assert snapshot(db) == before


def test_commit_is_one_transaction(
    db: Database, signed: SignedIn, person_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft_id = save_draft(db, signed.clerk_id, "claim", {"x": 1}, step="4")
    before = snapshot(db)

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(claims_module, "emit", broken)
    with pytest.raises(RuntimeError):
        take(db, signed, person_id, claim_request(), draft_id=draft_id)
    assert snapshot(db) == before
    assert get_draft(db, draft_id) is not None
    monkeypatch.undo()
    take(db, signed, person_id, claim_request(), draft_id=draft_id)
    assert get_draft(db, draft_id) is None


def test_not_eligible_is_refused_and_writes_nothing(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    before = snapshot(db)
    with pytest.raises(ClaimRefused, match="非定点"):
        take(db, signed, person_id, claim_request(designated=False))
    assert snapshot(db) == before


def test_review_settle_and_return(db: Database, signed: SignedIn, person_id: int) -> None:
    accepted = take(db, signed, person_id, claim_request())
    with pytest.raises(StaleClaim):
        advance_claim(db, signed, accepted.number, "settle")  # not reviewed yet
    reviewing = advance_claim(db, signed, accepted.number, "review", expected_version=1)
    with pytest.raises(StaleClaim):  # a second clerk who saw version 1
        advance_claim(db, signed, accepted.number, "settle", expected_version=1)
    settled = advance_claim(
        db, signed, accepted.number, "settle", expected_version=reviewing.version
    )
    assert settled.status == "settled"
    [(settled_at,)] = rows(db, "SELECT settled_at FROM claim")
    assert settled_at is not None

    other = take(db, signed, person_id, claim_request())
    with pytest.raises(ClaimRefused, match="退回原因"):
        advance_claim(db, signed, other.number, "return", reason="  ")
    advance_claim(db, signed, other.number, "return", reason="票据为复印件")
    assert rows(
        db, "SELECT status, return_reason FROM claim WHERE number = :n", n=other.number
    ) == [("returned", "票据为复印件")]
    kinds = [k for (k,) in rows(db, "SELECT kind FROM outbox_event ORDER BY seq")]
    assert kinds == ["claim.accept", "claim.review", "claim.settle", "claim.accept", "claim.return"]
    actions = [a for (a,) in rows(db, "SELECT action FROM audit_log WHERE entity='claim'")]
    assert actions == ["accept", "review", "settle", "accept", "return"]


def settle(db: Database, signed: SignedIn, person_id: int, request: dict[str, Any]) -> ClaimResult:
    """Take, review and settle; the verdict as stored (decided on the year-to-date then)."""
    committed = take(db, signed, person_id, request)
    policy = request["policy"]
    advance_claim(db, signed, committed.number, "review", policy=policy)
    advance_claim(db, signed, committed.number, "settle", policy=policy)
    [(stored,)] = rows(db, "SELECT result FROM claim WHERE number = :n", n=committed.number)
    return ClaimResult.model_validate_json(stored)


def test_year_to_date_from_this_offices_settled_claims(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    first = settle(db, signed, person_id, claim_request())
    second = settle(
        db,
        signed,
        person_id,
        claim_request(admission_date="2026-11-01", discharge_date="2026-11-05"),
    )
    take(db, signed, person_id, claim_request())  # accepted, not settled: not counted
    settle(
        db,
        signed,
        person_id,
        claim_request(admission_date="2025-03-01", discharge_date="2025-03-05"),
    )  # another year
    other_office = open_office(db, code="320104")
    settle(db, other_office, person_id, claim_request())  # another office

    assert first.payment and second.payment
    ytd = year_to_date(db, signed.office_id, person_id, 2026, ["统筹基金"])
    assert ytd == {
        "deductible_paid": f"{first.payment.deductible + second.payment.deductible:.2f}",
        "fund_paid": f"{first.payment.fund_total + second.payment.fund_total:.2f}",
        "above_cap_paid": "0.00",
    }


@pytest.fixture
def beijing(new_db: Callable[[str], Database]) -> tuple[Database, SignedIn, int]:
    database = new_db("beijing")
    office = open_office(database, "beijing", "110105")
    pid = save_person(database, office.clerk_id, name="李四", id_number=ID_NUMBER, today=TODAY)
    return database, office, pid


def test_split_stay_is_counted_per_year(beijing: tuple[Database, SignedIn, int]) -> None:
    """Beijing splits a stay over 1 January (京细则 第三十一条): each year gets its segment."""
    db, signed, person_id = beijing
    request = claim_request(
        "beijing",
        today="2026-01-20",
        admission_date="2025-12-22",
        discharge_date="2026-01-11",
        materials=INPATIENT,
    )
    result = settle(db, signed, person_id, request)
    assert result.payment is not None and len(result.payment.segments) == 2
    old, new = result.payment.segments
    assert year_to_date(db, signed.office_id, person_id, 2025, ["统筹基金"])["fund_paid"] == (
        f"{old.fund_total:.2f}"
    )
    assert year_to_date(db, signed.office_id, person_id, 2026, ["统筹基金"]) == {
        "deductible_paid": f"{new.deductible:.2f}",
        "fund_paid": f"{new.fund_total:.2f}",
        "above_cap_paid": "0.00",
    }


def test_ytd_override_is_stored_and_audited(db: Database, signed: SignedIn, person_id: int) -> None:
    computed = {"deductible_paid": "0.00", "fund_paid": "0.00", "above_cap_paid": "0.00"}
    same = take(db, signed, person_id, claim_request(), ytd_computed=computed)
    entered = {"deductible_paid": "900.00", "fund_paid": "5000.00"}
    changed = take(db, signed, person_id, claim_request(ytd=entered), ytd_computed=computed)
    stored = dict(rows(db, "SELECT number, ytd_override FROM claim"))
    assert stored[same.number] is None
    assert '"computed": {"deductible_paid": "0.00"' in stored[changed.number]
    [(entity_id, detail)] = rows(
        db, "SELECT entity_id, detail FROM audit_log WHERE action = 'ytd_override'"
    )
    assert entity_id == changed.number and '"fund_paid": "5000.00"' in detail


@pytest.mark.parametrize(
    ("complete_on", "due"),
    [
        # 国庆 2025: 10月1日至8日放假，9月28日（周日）、10月11日（周六）上班.
        ("2025-09-28", "2025-10-17"),
        # 国庆 2026: 10月1日至7日放假，10月10日（周六）上班.
        ("2026-09-30", "2026-10-20"),
        # 春节 2026: 2月15日至23日放假，2月14日（周六）、2月28日（周六）上班.
        ("2026-02-13", "2026-03-05"),
    ],
)
def test_due_dates_across_holidays_via_the_stored_claim(
    db: Database, signed: SignedIn, person_id: int, complete_on: str, due: str
) -> None:
    request = claim_request(
        today=complete_on, admission_date="2025-09-01", discharge_date="2025-09-10"
    )
    committed = take(db, signed, person_id, request)
    assert rows(db, "SELECT due_date, accepted_on, calendar_version FROM claim") == [
        (due, complete_on, "chinesecalendar 1.11.0")
    ]
    view = open_claim(db, committed.number, signed.clerk_id)
    assert view is not None
    assert acceptance_receipt(claim_record(view))["due"]["date"] == due


def test_queue_orders_by_status_and_due_and_marks_overdue(
    db: Database, signed: SignedIn, person_id: int
) -> None:
    late = take(
        db,
        signed,
        person_id,
        claim_request(today="2026-10-09", admission_date="2026-09-01", discharge_date="2026-09-10"),
    )
    pending = take(db, signed, person_id, claim_request(materials=["id_card"]))
    big = take(
        db,
        signed,
        person_id,
        claim_request(amounts={"total": "31000.00", "in_scope": "31000.00"}),
    )
    queue = claim_queue(db, TODAY)
    assert [r.number for r in queue] == [pending.number, late.number, big.number]
    flags = {r.number: (r.overdue, r.cost_check_candidate) for r in queue}
    assert flags == {
        pending.number: (False, False),
        late.number: (True, False),
        big.number: (False, True),
    }
    assert claim_counts(db, TODAY) == {
        "pending_materials": 1,
        "accepted": 2,
        "reviewing": 0,
        "returned": 0,
        "settled": 0,
        "overdue": 1,
    }
