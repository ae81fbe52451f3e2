"""Time in the rules: a filing's status from its dates, missed 承诺书 follow-ups, and claims
judged on the filing's dates (not only its kind).

Each case is tested on the day before, the day of and the day after the date that matters: a
filing is valid through ``valid_until`` (inclusive) and 已过期 from the next day; a 承诺书
filing is 逾期未补 from the day after its follow-up date. Articles: 苏规程 第十条、第十三条,
芜细则 三（二）, 芜规程 第十二条, 湘办法 第十四条、第十七条、第二十二条, 京细则 第七条.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from counter_app.domain.status import (
    STATUS_LABELS,
    FilingStatus,
    describe_status,
    filing_status,
)
from counter_app.rules_engine import build_engine

D = dt.date
END = D(2026, 4, 26)
BEFORE, ON, AFTER = END - dt.timedelta(days=1), END, END + dt.timedelta(days=1)
ID = "11010519491231002X"


# ── the status function ──────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("today", "expected"),
    [(BEFORE, FilingStatus.ACTIVE), (ON, FilingStatus.ACTIVE), (AFTER, FilingStatus.EXPIRED)],
)
def test_a_filing_expires_the_day_after_its_end(today: dt.date, expected: FilingStatus) -> None:
    assert filing_status("active", D(2025, 10, 27), END, today) == expected


def test_stored_decisions_win_over_dates() -> None:
    assert filing_status("cancelled", D(2025, 1, 1), None, ON) == FilingStatus.CANCELLED
    assert filing_status("superseded", D(2025, 1, 1), END, AFTER) == FilingStatus.SUPERSEDED
    assert filing_status("active", D(2025, 1, 1), None, D(2099, 1, 1)) == FilingStatus.ACTIVE
    assert filing_status("active", AFTER, None, ON) == FilingStatus.UPCOMING


@pytest.mark.parametrize(
    ("today", "done", "expected"),
    [
        (BEFORE, None, FilingStatus.ACTIVE),
        (ON, None, FilingStatus.ACTIVE),
        (AFTER, None, FilingStatus.OVERDUE),
        (AFTER, ON, FilingStatus.ACTIVE),
        (AFTER + dt.timedelta(days=5), AFTER + dt.timedelta(days=2), FilingStatus.ACTIVE),
    ],
)
def test_commitment_overdue_the_day_after_its_followup(
    today: dt.date, done: dt.date | None, expected: FilingStatus
) -> None:
    status = filing_status(
        "active", D(2026, 3, 27), None, today, followup_due=END, followup_done_on=done
    )
    assert status == expected


def test_labels_and_dates() -> None:
    assert STATUS_LABELS[FilingStatus.EXPIRED] == "已过期"
    assert STATUS_LABELS[FilingStatus.OVERDUE] == "逾期未补"
    text = describe_status(FilingStatus.EXPIRED, D(2025, 10, 27), END)
    assert str(text) == "已过期（有效期 2025-10-27 至 2026-04-26，已于 2026-04-26 到期）"
    assert str(describe_status(FilingStatus.CANCELLED, D(2025, 10, 27), ON)) == (
        "已取消（2026-04-26 取消）"
    )


# ── the engine's ``existing`` list ─────────────────────────────────────────────────────────────
def filing_request(policy: str, today: dt.date, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "policy": policy,
        "action": "new",
        "today": today.isoformat(),
        "person": {"name": "张三", "id_number": ID},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": ["id_card", "filing_form"],
    }
    base.update(fields)
    return base


def temporary(**fields: Any) -> dict[str, Any]:
    return {
        "id": "B1",
        "category": "other_temporary",
        "destination": "440300",
        "valid_from": "2025-10-27",
        "valid_until": END.isoformat(),
        **fields,
    }


def errors(result: Any) -> list[str]:
    return sorted(r.code for r in result.reasons if r.severity == "error")


@pytest.mark.parametrize("policy", ["jiangsu", "beijing", "wuhu", "hunan"])
@pytest.mark.parametrize(
    ("today", "blocked"),
    [(BEFORE, True), (ON, True), (AFTER, False)],
    ids=["before", "on", "after"],
)
def test_an_expired_filing_blocks_nothing(policy: str, today: dt.date, blocked: bool) -> None:
    engine = build_engine(policy)
    fields: dict[str, Any] = {"existing": [temporary()]}
    if policy == "beijing":
        fields["end_date"] = (today + dt.timedelta(days=100)).isoformat()
    result = engine.filing(filing_request(policy, today, **fields))
    assert ("active_temporary" in errors(result)) is blocked


@pytest.mark.parametrize("action", ["change", "cancel"])
@pytest.mark.parametrize("policy", ["jiangsu", "beijing", "wuhu", "hunan"])
def test_an_expired_filing_cannot_be_changed_or_cancelled(policy: str, action: str) -> None:
    engine = build_engine(policy)
    fields: dict[str, Any] = {
        "action": action,
        "target": "B1",
        "existing": [temporary()],
        "end_date": "2026-12-31",
    }
    on_day = engine.filing(filing_request(policy, ON, **fields))
    assert "target_expired" not in errors(on_day)
    after = engine.filing(filing_request(policy, AFTER, **fields))
    assert "target_expired" in errors(after)
    message = next(r.message for r in after.reasons if r.code == "target_expired")
    assert "已过期" in message and "2026-04-26" in message and "新增备案" in message
    assert "active" not in message and "（expired" not in message


def test_a_cancelled_filing_is_named_in_chinese() -> None:
    engine = build_engine("hunan")
    result = engine.filing(
        filing_request(
            "hunan",
            ON,
            action="cancel",
            target="B1",
            existing=[temporary(status="cancelled", valid_until="2026-04-01")],
        )
    )
    message = next(r.message for r in result.reasons if r.code == "target_not_active")
    assert "已取消（2026-04-01 取消）" in message and "cancelled" not in message


# ── missed 承诺书 follow-ups: the filing ──────────────────────────────────────────────────────
LONG = {"category": "long_term_resident", "basis": "commitment", "destination": "440300"}


def commitment(valid_from: str, due: str, done: str | None = None) -> dict[str, Any]:
    return {
        "id": "C1",
        **LONG,
        "valid_from": valid_from,
        "followup_due": due,
        "followup_done_on": done,
    }


def test_hunan_overdue_commitment_still_stands_until_completed() -> None:
    """湘办法 第二十二条: treated as not filed until completed — the filing stands, and a new
    long-term filing is refused with the reason (complete the materials on it)."""
    engine = build_engine("hunan")
    existing = [commitment("2025-10-27", "2026-04-26")]
    new = filing_request(
        "hunan",
        AFTER,
        category="long_term_resident",
        destination="110000",
        materials=["id_card", "filing_form", "residence_proof"],
        existing=existing,
    )
    result = engine.filing(new)
    assert errors(result) == ["active_long_term"]
    reason = next(r for r in result.reasons if r.code == "active_long_term")
    assert reason.citation == "湘办法 第二十二条" and "逾期未补" in reason.message
    # completed (a day late): an ordinary standing filing again
    existing = [commitment("2025-10-27", "2026-04-26", AFTER.isoformat())]
    result = engine.filing({**new, "existing": existing})
    reason = next(r for r in result.reasons if r.code == "active_long_term")
    assert reason.citation == "湘办法 第十四条"


def test_wuhu_overdue_commitment_was_for_that_once() -> None:
    """芜细则 三（二）: the commitment gave long-term benefits that once; past the month without
    the materials it no longer stands in the way of a filing on materials, and cannot be
    changed."""
    engine = build_engine("wuhu")
    existing = [commitment("2026-03-27", "2026-04-26")]
    new = filing_request(
        "wuhu",
        ON,
        category="long_term_resident",
        destination="110000",
        materials=["id_card", "filing_form", "residence_proof"],
        existing=existing,
    )
    assert errors(engine.filing(new)) == ["active_long_term"]
    assert errors(engine.filing({**new, "today": AFTER.isoformat()})) == []
    change = engine.filing({**new, "today": AFTER.isoformat(), "action": "change", "target": "C1"})
    assert "target_used_up" in errors(change)
    assert (
        next(r.citation for r in change.reasons if r.code == "target_used_up") == "芜细则 三（二）"
    )


@pytest.mark.parametrize(
    ("policy", "citation"),
    [("jiangsu", "苏规程 第十条、附件1"), ("beijing", "京细则 第七条、附件2")],
)
def test_regions_without_a_followup_say_what_the_commitment_binds(
    policy: str, citation: str
) -> None:
    engine = build_engine(policy)
    fields: dict[str, Any] = {
        "category": "long_term_resident",
        "basis": "commitment",
        "materials": ["id_card", "filing_form", "commitment_letter"],
    }
    if policy == "beijing":
        fields["end_date"] = "2027-12-31"
    result = engine.filing(filing_request(policy, ON, **fields))
    assert result.followup_due is None
    assert any(r.code == "commitment_terms" and r.citation == citation for r in result.reasons)


# ── claims judged on the filing's dates ────────────────────────────────────────────────────────
INPATIENT = ["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"]
OUTPATIENT = ["id_card", "invoice", "outpatient_bill", "prescription"]
AMOUNTS = {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"}


def claim(policy: str, record: dict[str, Any] | None, **fields: Any) -> Any:
    base: dict[str, Any] = {
        "policy": policy,
        "today": "2026-06-30",
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "other_temporary",
        "treatment": "inpatient",
        "hospital_level": 3,
        "admission_date": "2026-04-20",
        "discharge_date": "2026-05-06",
        "materials": INPATIENT,
        "amounts": AMOUNTS,
    }
    base.update(fields)
    if record is not None:
        base["filing_record"] = record
    return build_engine(policy).claim(base)


TEMP_RECORD = {"valid_from": "2025-10-27", "valid_until": END.isoformat(), "basis": "materials"}

#: (policy, the stated filing's reduction, the unfiled reduction, article on spanning the end)
REGIONS = [
    pytest.param("jiangsu", "10", "20", "苏规程 第十三条", id="jiangsu"),
    pytest.param("wuhu", "20", "20", "芜规程 第十二条", id="wuhu"),
    pytest.param("hunan", "10", "10", "湘办法 第十四条", id="hunan"),
]


def codes(result: Any) -> set[str]:
    return {r.code for r in result.reasons}


@pytest.mark.parametrize(("policy", "filed_pp", "unfiled_pp", "citation"), REGIONS)
@pytest.mark.parametrize(
    ("admission", "covered"),
    [(BEFORE, True), (ON, True), (AFTER, False)],
    ids=["admitted-before-end", "admitted-on-end", "admitted-after-end"],
)
def test_admission_spanning_the_end(
    policy: str, filed_pp: str, unfiled_pp: str, citation: str, admission: dt.date, covered: bool
) -> None:
    """Admitted while valid: settled as filed even though discharged after the end."""
    result = claim(
        policy, TEMP_RECORD, admission_date=admission.isoformat(), discharge_date="2026-05-06"
    )
    assert result.payment is not None
    if covered:
        assert result.case == "filed_not_settled"
        assert result.payment.reduction_pp == Decimal(filed_pp)
        reason = next(r for r in result.reasons if r.code == "admission_in_validity")
        assert reason.citation == citation and reason.severity == "info"
    else:
        assert result.case == "other"
        assert result.payment.reduction_pp == Decimal(unfiled_pp)
        assert "care_after_filing" in codes(result)


@pytest.mark.parametrize(("policy", "filed_pp", "unfiled_pp", "citation"), REGIONS)
def test_outpatient_visit_after_the_end_is_not_filed(
    policy: str, filed_pp: str, unfiled_pp: str, citation: str
) -> None:
    fields = {
        "treatment": "outpatient",
        "admission_date": None,
        "discharge_date": None,
        "materials": OUTPATIENT,
    }
    on_day = claim(policy, TEMP_RECORD, visit_date=ON.isoformat(), **fields)
    after = claim(policy, TEMP_RECORD, visit_date=AFTER.isoformat(), **fields)
    assert on_day.case == "filed_not_settled" and after.case == "other"
    assert "care_after_filing" in codes(after) and "care_after_filing" not in codes(on_day)


@pytest.mark.parametrize(
    ("policy", "unfiled_pp", "citation"),
    [
        ("jiangsu", "20", "苏规程 第二十五条、第十八条"),
        ("wuhu", "20", "芜细则 五（一）"),
        ("hunan", "10", "湘办法 第十七条"),
    ],
)
def test_care_before_the_filing_began(policy: str, unfiled_pp: str, citation: str) -> None:
    """Discharged before the filing began: not filed (补办 after discharge → home rules); filed
    before discharge: a valid filing for that stay."""
    record = {"valid_from": "2026-05-07", "valid_until": "2026-11-06"}
    before = claim(policy, record)
    assert before.case == "other" and before.payment is not None
    assert before.payment.reduction_pp == Decimal(unfiled_pp)
    assert next(r.citation for r in before.reasons if r.code == "care_before_filing") == citation
    during = claim(policy, {**record, "valid_from": "2026-05-06"})
    assert during.case == "filed_not_settled" and "filed_before_discharge" in codes(during)
    assert "care_before_filing" not in codes(during)


def test_without_a_record_the_kind_alone_decides() -> None:
    """Backward compatible: a request without ``filing_record`` is decided as before."""
    result = claim("hunan", None, admission_date="2026-06-01", discharge_date="2026-06-10")
    assert result.case == "filed_not_settled"
    assert result.payment is not None and result.payment.reduction_pp == Decimal("10")


# ── missed follow-ups: claims under a 承诺书 filing ─────────────────────────────────────────
def long_claim(policy: str, admission: dt.date, done: str | None = None) -> Any:
    record = {
        "valid_from": "2026-03-27",
        "basis": "commitment",
        "followup_due": END.isoformat(),
        "followup_done_on": done,
    }
    return claim(
        policy,
        record,
        filing="long_term",
        admission_date=admission.isoformat(),
        discharge_date=(admission + dt.timedelta(days=5)).isoformat(),
    )


@pytest.mark.parametrize("policy", ["hunan", "wuhu"])
@pytest.mark.parametrize(
    ("admission", "lapsed"),
    [(BEFORE, False), (ON, False), (AFTER, True)],
    ids=["before", "on", "after"],
)
def test_claim_under_an_overdue_commitment(policy: str, admission: dt.date, lapsed: bool) -> None:
    result = long_claim(policy, admission)
    assert result.payment is not None
    if lapsed:
        # 湘: 未备案 −10 (湘办法 第二十条); 芜: 职工跨省未转诊 −20 (芜细则 三（三）)
        assert result.case == "other"
        assert result.payment.reduction_pp == Decimal("10" if policy == "hunan" else "20")
        reason = next(r for r in result.reasons if r.code == "commitment_overdue")
        assert reason.citation == ("湘办法 第二十二条" if policy == "hunan" else "芜细则 三（二）")
    else:
        assert result.case == "filed_not_settled"
        assert result.payment.reduction_pp == Decimal("0")


def test_hunan_completed_late_covers_care_after_completion() -> None:
    """湘办法 第二十二条: not filed *until* completed."""
    done = (AFTER + dt.timedelta(days=10)).isoformat()
    assert long_claim("hunan", AFTER + dt.timedelta(days=3), done).case == "other"
    later = long_claim("hunan", AFTER + dt.timedelta(days=10), done)
    assert later.case == "filed_not_settled" and later.payment.reduction_pp == Decimal("0")


def test_wuhu_completed_late_gives_no_long_term_benefit() -> None:
    """芜细则 三（二）: only materials handed in within the month make it long-term."""
    late = (AFTER + dt.timedelta(days=1)).isoformat()
    assert long_claim("wuhu", AFTER + dt.timedelta(days=20), late).case == "other"
    in_time = long_claim("wuhu", AFTER + dt.timedelta(days=20), ON.isoformat())
    assert in_time.case == "filed_not_settled"


# ── completing a 承诺书 filing ──────────────────────────────────────────────────────────────
def followup(policy: str, today: dt.date, materials: list[str], done: dt.date | None = None):  # type: ignore[no-untyped-def]
    from counter_app.domain.followup import decide_followup

    status = filing_status(
        "active", D(2026, 3, 27), None, today, followup_due=END, followup_done_on=done
    )
    return decide_followup(
        build_engine(policy).pack,
        number="C1",
        category="long_term_resident",
        basis="commitment",
        status=status,
        followup_due=END,
        followup_done_on=done,
        materials=materials,
        today=today,
    )


@pytest.mark.parametrize("policy", ["hunan", "wuhu"])
def test_completing_a_commitment_on_time(policy: str) -> None:
    assert followup(policy, ON, ["residence_proof"]).allowed
    missing = followup(policy, ON, ["commitment_letter"])
    assert not missing.allowed and missing.missing == ["residence_proof"]
    assert not followup(policy, ON, ["residence_proof"], done=BEFORE).allowed


def test_completing_late_per_region() -> None:
    """湘办法 第二十二条: late completion restores the filing; 芜细则 三（二）: refused."""
    late = followup("hunan", AFTER, ["residence_proof"])
    assert late.allowed
    assert any(r.code == "followup_late" and r.severity == "info" for r in late.reasons)
    refused = followup("wuhu", AFTER, ["residence_proof"])
    assert not refused.allowed
    reason = next(r for r in refused.reasons if r.code == "followup_late")
    assert reason.citation == "芜细则 三（二）" and "新增备案" in reason.message


@pytest.mark.parametrize("policy", ["jiangsu", "beijing"])
def test_regions_without_a_followup_owe_nothing(policy: str) -> None:
    result = followup(policy, ON, ["residence_proof"])
    assert not result.allowed and [r.code for r in result.reasons] == ["no_followup"]


def test_business_date_is_the_day_in_china() -> None:
    """A filing ending on 2026-04-26 is expired at 00:30 in China on 2026-04-27, although the
    machine's UTC date is still the 26th."""
    from counter_app.settings import business_date

    late = dt.datetime(2026, 4, 26, 16, 30, tzinfo=dt.UTC)
    assert business_date(late) == AFTER
    assert business_date(late - dt.timedelta(hours=1)) == ON
    assert filing_status("active", D(2025, 10, 27), END, business_date(late)) == "expired"
