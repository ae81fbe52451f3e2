"""Manual reimbursement (零星报销) rules of the four packs, as tables of cited cases.

Checklists (苏规程 第二十七条), claim cases (苏规程 第二十六条 …), non-designated institutions,
due dates in Chinese working days (苏规程 第二十八条), ratio reductions per region, the 芜 保底,
deductibles, caps, cross-year stays and the 费用协查 flag. Every figure is computed by hand in a
comment next to it and compared to the cent.

The base claim: 职工, 跨省, 三级 hospital, stay 2026-02-01 → 2026-02-10, decided 2026-03-02,
总费用 12000.00 = 政策范围内 10000.00 + 乙类先行自付 1000.00 + 超限价 500.00 + 自费 500.00.
Example parameters used (from the packs, 职工/居民 三级 住院):
  苏 ratio 0.85 / 0.65, 起付 900 / 1000 per admission, cap 300000 / 250000, 大额 90% / 大病 60%;
  芜 ratio 0.85 / 0.65, 起付 800 / 900 per admission, 居民保底 50%;
  湘 ratio 0.80, 起付 1000 per admission;  京 ratio 0.85, 起付 1300 per year.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import chinese_calendar
import pytest

from counter_app.domain.errors import InvalidInput
from counter_app.domain.results import ClaimResult, Payment
from counter_app.rules_engine import build_engine

INPATIENT = ["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"]
OUTPATIENT = ["id_card", "invoice", "outpatient_bill", "prescription"]
EMERGENCY = ["id_card", "invoice", "expense_detail", "emergency_record"]
MATERNITY = ["id_card", "maternity_invoice", "expense_detail", "discharge_summary"]
AMOUNTS = {
    "total": "12000.00",
    "in_scope": "10000.00",
    "class_b_self": "1000.00",
    "over_limit_self": "500.00",
    "self_pay": "500.00",
}
OUTPATIENT_VISIT = {"admission_date": None, "discharge_date": None, "visit_date": "2026-02-20"}


def amounts(total: str, in_scope: str | None = None) -> dict[str, str]:
    return {"total": total, "in_scope": in_scope or total}


def claim_request(policy: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "policy": policy,
        "today": "2026-03-02",
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "long_term",
        "treatment": "inpatient",
        "hospital_level": 3,
        "admission_date": "2026-02-01",
        "discharge_date": "2026-02-10",
        "materials": INPATIENT,
        "amounts": AMOUNTS,
    }
    base.update(fields)
    return base


def decide(policy: str, **fields: Any) -> ClaimResult:
    return build_engine(policy).claim(claim_request(policy, **fields))


def paid(result: ClaimResult) -> Payment:
    assert result.payment is not None, result.reasons
    return result.payment


def funds(payment: Payment) -> dict[str, str]:
    return {line.name: str(line.amount) for line in payment.funds}


def errors(result: ClaimResult) -> list[str]:
    return sorted(r.code for r in result.reasons if r.severity == "error")


def codes(result: ClaimResult) -> set[str]:
    return {r.code for r in result.reasons}


def citation_of(result: ClaimResult, code: str) -> str:
    return next(r.citation for r in result.reasons if r.code == code)


# ── checklists by kind of treatment and the extras ───────────────────────────────────────────

CHECKLISTS = [
    pytest.param(
        "苏规程 第二十七条（一）",
        {"materials": []},
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis"],
        ["e_voucher", "invoice", "inpatient_bill", "diagnosis_certificate"],
        id="inpatient-nothing",
    ),
    pytest.param(
        "苏规程 第二十七条（一）",
        {"materials": ["ss_card", "invoice", "inpatient_bill", "discharge_summary"]},
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis"],
        [],
        id="inpatient-discharge-summary-instead-of-diagnosis",
    ),
    pytest.param(
        "苏规程 第二十七条（二）",
        {"treatment": "outpatient", "materials": [], **OUTPATIENT_VISIT},
        ["identity", "invoice", "outpatient_bill", "outpatient_prescription"],
        ["e_voucher", "invoice", "outpatient_bill", "prescription"],
        id="outpatient-nothing",
    ),
    pytest.param(
        "苏规程 第二十七条（二）",
        {
            "treatment": "outpatient",
            "materials": ["e_voucher", "invoice", "outpatient_bill", "outpatient_record"],
            **OUTPATIENT_VISIT,
        },
        ["identity", "invoice", "outpatient_bill", "outpatient_prescription"],
        [],
        id="outpatient-record-instead-of-prescription",
    ),
    pytest.param(
        "苏规程 第二十七条（三）",
        {"filing": "none", "treatment": "emergency", "materials": ["id_card"], **OUTPATIENT_VISIT},
        ["identity", "invoice", "emergency_detail", "emergency_diagnosis"],
        ["invoice", "expense_detail", "emergency_diagnosis"],
        id="emergency-nothing-but-id",
    ),
    pytest.param(
        "苏规程 第二十七条（三）",
        {"filing": "none", "treatment": "emergency", "materials": EMERGENCY, **OUTPATIENT_VISIT},
        ["identity", "invoice", "emergency_detail", "emergency_diagnosis"],
        [],
        id="emergency-record-instead-of-diagnosis",
    ),
    pytest.param(
        "苏规程 第二十七条（四）",
        {"filing": "none", "treatment": "maternity", "materials": ["id_card"]},
        ["identity", "maternity_invoice", "maternity_detail", "maternity_discharge"],
        ["maternity_invoice", "expense_detail", "discharge_summary"],
        id="maternity",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {"flags": {"rescue": True}},
        [
            "identity",
            "invoice",
            "inpatient_bill",
            "inpatient_diagnosis",
            "rescue_record",
            "rescue_discharge",
        ],
        ["rescue_record", "discharge_summary"],
        id="rescue-then-inpatient",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {
            "filing": "none",
            "treatment": "emergency",
            "flags": {"rescue": True},
            "materials": EMERGENCY,
            **OUTPATIENT_VISIT,
        },
        ["identity", "invoice", "emergency_detail", "emergency_diagnosis", "rescue_record"],
        ["rescue_record"],
        id="rescue-at-the-emergency-room",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {
            "flags": {"rescue": True, "died": True},
            "materials": [*INPATIENT, "rescue_record", "discharge_summary"],
        },
        [
            "identity",
            "invoice",
            "inpatient_bill",
            "inpatient_diagnosis",
            "rescue_record",
            "rescue_discharge",
            "death",
        ],
        ["death_certificate"],
        id="rescue-died",
    ),
    pytest.param(
        "苏规程 第二十七条、附件7",
        {"flags": {"injury_no_third_party": True}},
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis", "injury"],
        ["injury_commitment"],
        id="injury-asks-for-the-commitment-first",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {
            "flags": {"injury_no_third_party": True},
            "materials": [*INPATIENT, "accident_certificate"],
        },
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis", "injury"],
        [],
        id="injury-accident-certificate",
    ),
    pytest.param(
        "苏规程 第二十七条、附件7",
        {"flags": {"injury_no_third_party": True}, "materials": [*INPATIENT, "injury_commitment"]},
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis", "injury"],
        [],
        id="injury-commitment",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {"flags": {"dual_channel": True}},
        ["identity", "invoice", "inpatient_bill", "inpatient_diagnosis", "dual_channel"],
        ["dual_channel_form"],
        id="dual-channel",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {"flags": {"outside_drugs": True}},
        [
            "identity",
            "invoice",
            "inpatient_bill",
            "inpatient_diagnosis",
            "outside_invoice",
            "outside_order",
        ],
        ["outside_drug_invoice", "inpatient_order"],
        id="outside-drugs",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {
            "flags": {"outside_drugs": True},
            "materials": [*INPATIENT, "outside_drug_invoice", "outside_prescription"],
        },
        [
            "identity",
            "invoice",
            "inpatient_bill",
            "inpatient_diagnosis",
            "outside_invoice",
            "outside_order",
        ],
        [],
        id="outside-drugs-prescription",
    ),
    pytest.param(
        "苏规程 第二十七条",
        {
            "flags": {
                "rescue": True,
                "died": True,
                "injury_no_third_party": True,
                "dual_channel": True,
                "outside_drugs": True,
            },
            "materials": ["id_card"],
        },
        [
            "identity",
            "invoice",
            "inpatient_bill",
            "inpatient_diagnosis",
            "rescue_record",
            "rescue_discharge",
            "death",
            "injury",
            "dual_channel",
            "outside_invoice",
            "outside_order",
        ],
        # 一次性告知: everything at once, in checklist order
        [
            "invoice",
            "inpatient_bill",
            "diagnosis_certificate",
            "rescue_record",
            "discharge_summary",
            "death_certificate",
            "injury_commitment",
            "dual_channel_form",
            "outside_drug_invoice",
            "inpatient_order",
        ],
        id="every-extra-told-at-once",
    ),
]


@pytest.mark.parametrize(("citation", "fields", "groups", "missing"), CHECKLISTS)
def test_checklist(
    citation: str, fields: dict[str, Any], groups: list[str], missing: list[str]
) -> None:
    result = decide("jiangsu", **fields)
    assert [item.group for item in result.checklist] == groups
    assert result.missing == missing
    assert result.complete == (not missing)
    assert result.eligible  # missing materials are told, they do not refuse the claim
    assert any(citation in item.citation for item in result.checklist)
    assert all(item.citation.startswith("苏规程 第二十七条") for item in result.checklist)
    if missing:
        reason = next(r for r in result.reasons if r.code == "materials_missing")
        assert reason.severity == "warning"
        assert all(label in reason.message for label in result.missing_labels)
        assert result.due is None and result.due_date is None
    else:
        assert result.due is not None


@pytest.mark.parametrize("policy", ["beijing", "wuhu", "hunan"])
def test_other_regions_borrow_the_jiangsu_checklist(policy: str) -> None:
    """京/芜/湘 list no claim materials: they use 苏规程 第二十七条 (marked as borrowed)."""
    fields = {"flags": {"rescue": True, "outside_drugs": True}, "materials": ["id_card"]}
    ours, theirs = decide("jiangsu", **fields), decide(policy, **fields)
    assert [i.group for i in theirs.checklist] == [i.group for i in ours.checklist]
    assert theirs.missing == ours.missing
    # the citation says the list is borrowed (示例), the article is the same
    assert [i.citation for i in theirs.checklist] == [
        f"示例：参照{i.citation}" for i in ours.checklist
    ]
    borrowed = build_engine(policy).pack.claim.materials
    assert all(g.example and g.note.startswith("参照苏规程 第二十七条") for g in borrowed)
    assert not any(g.example for g in build_engine("jiangsu").pack.claim.materials)


# ── the cases in which a claim is accepted ───────────────────────────────────────────────────

CASES = [
    pytest.param(
        "苏规程 第二十六条（一）", "jiangsu", {}, "filed_not_settled", [], id="js-long-term"
    ),
    pytest.param(
        "苏规程 第二十六条（一）",
        "jiangsu",
        {"filing": "referral"},
        "filed_not_settled",
        [],
        id="js-referral",
    ),
    pytest.param(
        "苏规程 第二十六条（一）",
        "jiangsu",
        {"filing": "other_temporary"},
        "filed_not_settled",
        [],
        id="js-other-temporary",
    ),
    pytest.param(
        "苏规程 第二十六条（二）",
        "jiangsu",
        {"filing": "none", "treatment": "emergency", "materials": EMERGENCY, **OUTPATIENT_VISIT},
        "emergency_unfiled",
        [],
        id="js-unfiled-emergency-visit",
    ),
    pytest.param(
        "苏规程 第二十六条（二）",
        "jiangsu",
        {"filing": "emergency"},
        "emergency_unfiled",
        [],
        id="js-deemed-filed-emergency-stay",
    ),
    pytest.param(
        "苏规程 第二十六条（二）",
        "jiangsu",
        {"filing": "none", "flags": {"rescue": True}},
        "emergency_unfiled",
        [],
        id="js-unfiled-rescue",
    ),
    pytest.param(
        "苏规程 第二十六条（三）",
        "jiangsu",
        {"filing": "none", "case": "student_vacation"},
        "student_vacation",
        [],
        id="js-student-when-stated",
    ),
    pytest.param(
        "苏规程 第二十六条（五）",
        "jiangsu",
        {"filing": "none"},
        "other",
        [],
        id="js-student-not-assumed",
    ),
    pytest.param(
        "苏规程 第二十六条（四）",
        "jiangsu",
        {"filing": "none", "treatment": "maternity", "materials": MATERNITY},
        "maternity",
        [],
        id="js-maternity",
    ),
    pytest.param(
        "苏规程 第二十六条（一）",
        "jiangsu",
        {"filing": "other_temporary", "treatment": "maternity", "materials": MATERNITY},
        "filed_not_settled",
        [],
        id="js-filed-maternity-is-filed-case",
    ),
    pytest.param(
        "苏规程 第二十六条",
        "jiangsu",
        {"case": "emergency_unfiled"},
        "filed_not_settled",
        ["case_mismatch"],
        id="js-stated-case-contradicts-filing",
    ),
    pytest.param(
        "芜规程 第三十一条",
        "wuhu",
        {"filing": "referral"},
        "filed_not_settled",
        [],
        id="wh-filed",
    ),
    pytest.param(
        "芜规程 第二十二条",
        "wuhu",
        {"filing": "none", "flags": {"rescue": True}},
        "emergency_unfiled",
        [],
        id="wh-emergency",
    ),
    pytest.param(
        "芜细则 五（一）",  # 芜规程 第七条（二）2 only defines who is a student
        "wuhu",
        {"filing": "none", "case": "student_vacation"},
        "student_vacation",
        [],
        id="wh-student-when-stated",
    ),
    pytest.param(
        "芜规程 第十四条",
        "wuhu",
        {"filing": "none", "treatment": "maternity", "materials": MATERNITY},
        "other",
        [],
        id="wh-no-maternity-case-in-seed",
    ),
    pytest.param(
        "湘办法 第五十五条",
        "hunan",
        {"filing": "emergency"},
        "emergency_unfiled",
        [],
        id="hn-emergency",
    ),
    pytest.param(
        "湘办法 第十七条",
        "hunan",
        {"filing": "none"},
        "other",
        [],
        id="hn-unfiled",
    ),
    pytest.param(
        "湘办法 第十七条",
        "hunan",
        {"filing": "none", "case": "student_vacation"},
        "other",
        ["case_mismatch"],
        id="hn-no-student-case-in-seed",
    ),
    pytest.param(
        "京细则 第三十三条",
        "beijing",
        {"filing": "other_temporary"},
        "filed_not_settled",
        [],
        id="bj-filed",
    ),
    pytest.param(
        "京通知 一（四）",
        "beijing",
        {"filing": "none"},
        "other",
        [],
        id="bj-unfiled-must-file-first",
    ),
]


@pytest.mark.parametrize(("citation", "policy", "fields", "case", "refusals"), CASES)
def test_claim_case(
    citation: str, policy: str, fields: dict[str, Any], case: str, refusals: list[str]
) -> None:
    result = decide(policy, **fields)
    assert result.case == case
    assert errors(result) == refusals
    assert result.eligible == (not refusals)
    if not refusals:
        stated = build_engine(policy).pack.claim.cases
        assert citation in next(c.citation for c in stated if c.id == case)
        assert result.payment is not None
    else:
        assert result.payment is None and result.due is None


def test_beijing_tells_the_unfiled_to_file_first() -> None:
    result = decide("beijing", filing="none")
    assert "file_first" in codes(result)
    assert citation_of(result, "file_first") == "京通知 一（四）"
    assert "file_first" not in codes(decide("beijing", filing="none", flags={"rescue": True}))


# ── non-designated institutions ──────────────────────────────────────────────────────────────

DESIGNATED = [
    pytest.param("苏规程 第十九条", "jiangsu", {}, False, id="js-refused"),
    pytest.param(
        "苏规程 第十九条",
        "jiangsu",
        {"filing": "none", "treatment": "emergency", "materials": EMERGENCY, **OUTPATIENT_VISIT},
        True,
        id="js-emergency-paid",
    ),
    pytest.param("芜细则 三（一）", "wuhu", {"filing": "other_temporary"}, False, id="wh-refused"),
    pytest.param("芜细则 三（一）", "wuhu", {"filing": "emergency"}, True, id="wh-emergency-paid"),
    pytest.param("湘办法 第二十条", "hunan", {"filing": "referral"}, False, id="hn-refused"),
    pytest.param(
        "湘办法 第二十条", "hunan", {"flags": {"rescue": True}}, True, id="hn-rescue-paid"
    ),
    pytest.param("京细则 附件1 温馨提示5", "beijing", {}, False, id="bj-refused"),
]


@pytest.mark.parametrize(("citation", "policy", "fields", "eligible"), DESIGNATED)
def test_non_designated_institution(
    citation: str, policy: str, fields: dict[str, Any], eligible: bool
) -> None:
    result = decide(policy, designated=False, **fields)
    assert result.eligible is eligible
    if eligible:
        assert "not_designated" not in codes(result)
        assert result.payment is not None
    else:
        assert errors(result) == ["not_designated"]
        assert citation in citation_of(result, "not_designated")
        assert (result.payment, result.due, result.due_date) == (None, None, None)


# ── due dates in Chinese working days (苏规程 第二十八条) ────────────────────────────────────


def add_working_days(start: dt.date, n: int) -> dt.date:
    """Independent reference: the n-th chinese_calendar working day after ``start``."""
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return day


OUT_SMALL = {"treatment": "outpatient", "materials": OUTPATIENT, **OUTPATIENT_VISIT}

DUE = [
    # 2026-09-30 + 10: 国庆 10-01…10-07 off, Sat 10-10 worked →
    # 10-08, 10-09, 10-10, 10-12, 10-13, 10-14, 10-15, 10-16, 10-19, 10-20
    pytest.param("2026-09-30", {}, 10, "2026-10-20", id="national-day-normal"),
    # single outpatient under 1000 → 5: 10-08, 10-09, 10-10, 10-12, 10-13
    pytest.param(
        "2026-09-30",
        {**OUT_SMALL, "amounts": amounts("999.99")},
        5,
        "2026-10-13",
        id="national-day-small-outpatient",
    ),
    pytest.param(
        "2026-09-30",
        {**OUT_SMALL, "amounts": amounts("1000.00")},
        10,
        "2026-10-20",
        id="outpatient-of-exactly-1000-is-normal",
    ),
    pytest.param(
        "2026-09-30",
        {"amounts": amounts("500.00")},
        10,
        "2026-10-20",
        id="small-inpatient-is-normal",
    ),
    # special → 20: … 10-20 (10), 10-21…10-23, 10-26…10-30, 11-02, 11-03 (20)
    pytest.param("2026-09-30", {"special": True}, 20, "2026-11-03", id="national-day-special"),
    pytest.param(
        "2026-09-30",
        {**OUT_SMALL, "amounts": amounts("999.99"), "special": True},
        20,
        "2026-11-03",
        id="special-beats-small",
    ),
    # 2026-02-13 (Fri) + 10: Sat 02-14 worked, 春节 02-15…02-23 off, Sat 02-28 worked →
    # 02-14, 02-24, 02-25, 02-26, 02-27, 02-28, 03-02, 03-03, 03-04, 03-05
    pytest.param("2026-02-13", {}, 10, "2026-03-05", id="spring-festival-normal"),
    pytest.param(
        "2026-02-13",
        {**OUT_SMALL, "amounts": amounts("300.00"), "visit_date": "2026-02-10"},
        5,
        "2026-02-27",
        id="spring-festival-small-outpatient",
    ),
    # … 03-05 (10), 03-06, 03-09…03-13, 03-16…03-19 (20)
    pytest.param("2026-02-13", {"special": True}, 20, "2026-03-19", id="spring-festival-special"),
    pytest.param(
        "2026-09-30",
        {
            "filing": "none",
            "treatment": "emergency",
            "materials": EMERGENCY,
            "amounts": amounts("800.00"),
            **OUTPATIENT_VISIT,
        },
        5,
        "2026-10-13",
        id="emergency-visit-without-stay-counts-as-outpatient",
    ),
]


@pytest.mark.parametrize(("today", "fields", "days", "expected"), DUE)
def test_due_date(today: str, fields: dict[str, Any], days: int, expected: str) -> None:
    fields = {"admission_date": "2026-01-05", "discharge_date": "2026-01-09", **fields}
    result = decide("jiangsu", today=today, **fields)
    assert result.complete and result.eligible
    assert result.due is not None
    assert str(result.due_date) == expected
    assert add_working_days(dt.date.fromisoformat(today), days).isoformat() == expected
    assert result.due.working_days == days
    assert result.due.provisional is False
    assert result.due.calendar_version.startswith("chinesecalendar")
    assert result.due.citation == "苏规程 第二十八条"
    assert "due_provisional" not in codes(result)


def test_no_due_date_while_materials_are_missing() -> None:
    result = decide("jiangsu", today="2026-09-30", materials=["id_card", "invoice"])
    assert (result.due, result.due_date) == (None, None)
    assert result.missing == ["inpatient_bill", "diagnosis_certificate"]


@pytest.mark.parametrize(("today", "days"), [("2026-12-24", 20), ("2199-12-31", 10)])
def test_due_date_beyond_the_calendar_is_provisional(today: str, days: int) -> None:
    """No holiday data after 2026: Monday–Friday is assumed, flagged, and nothing raises."""
    result = decide("jiangsu", today=today, special=days == 20)
    assert result.due is not None and result.due.provisional
    assert result.due.date > dt.date.fromisoformat(today)
    assert result.due.date.year == dt.date.fromisoformat(today).year + 1
    assert result.due.working_days == days
    assert "due_provisional" in codes(result)


# ── ratio reductions per region ──────────────────────────────────────────────────────────────

EMERGENCY_STAY = {"filing": "none", "treatment": "emergency", "materials": EMERGENCY}
INJURY = {"flags": {"injury_no_third_party": True}}

# (citation, policy, fields, ratio, reduction_pp, floor, fund_total)  — cash = 12000 − fund
REDUCTIONS = [
    # 苏: (10000 − 900) = 9100 × ratio
    pytest.param("苏规程 第十七条", "jiangsu", {}, "0.85", "0", None, "7735.00", id="js-long-term"),
    pytest.param(
        "苏规程 第十八条", "jiangsu", {"filing": "referral"}, "0.80", "5", None, "7280.00",
        id="js-referral-minus-5",
    ),
    pytest.param(
        "苏规程 第十八条", "jiangsu", {"filing": "none"}, "0.65", "20", None, "5915.00",
        id="js-unfiled-minus-20",
    ),
    pytest.param(
        "苏规程 第十九条", "jiangsu", EMERGENCY_STAY, "0.85", "0", None, "7735.00",
        id="js-emergency-no-reduction",
    ),
    pytest.param(
        "示例", "jiangsu", {"filing": "other_temporary"}, "0.75", "10", None,
        "6825.00", id="js-other-temporary-example-minus-10",
    ),
    # 芜 职工: (10000 − 800) = 9200 × ratio
    pytest.param("芜细则 三（二）", "wuhu", {}, "0.85", "0", None, "7820.00", id="wh-long-term"),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"scope": "in_province", "filing": "referral"}, "0.77", "8",
        None, "7084.00", id="wh-employee-in-province-referral-minus-8",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"scope": "in_province", **EMERGENCY_STAY}, "0.77", "8",
        None, "7084.00", id="wh-employee-in-province-emergency-minus-8",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"scope": "in_province", "filing": "other_temporary"}, "0.67",
        "18", None, "6164.00", id="wh-employee-in-province-not-referred-minus-18",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"scope": "in_province", "filing": "none"}, "0.67", "18",
        None, "6164.00", id="wh-employee-in-province-unfiled-minus-18",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"filing": "referral"}, "0.75", "10", None, "6900.00",
        id="wh-employee-cross-referral-minus-10",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", EMERGENCY_STAY, "0.75", "10", None, "6900.00",
        id="wh-employee-cross-emergency-minus-10",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"filing": "other_temporary"}, "0.65", "20", None, "5980.00",
        id="wh-employee-cross-not-referred-minus-20",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"scope": "in_province", "filing": "referral", **INJURY},
        "0.65", "20", None, "5980.00", id="wh-employee-injury-in-province-minus-20",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"filing": "referral", **INJURY}, "0.65", "20", None,
        "5980.00", id="wh-employee-injury-cross-minus-20",
    ),
    # 芜 居民: (10000 − 900) = 9100 × ratio; 保底 = min(9100, 10000 × floor) never binds here
    pytest.param(
        "芜细则 三（二）", "wuhu", {"insurance": "resident"}, "0.65", "0", "0.50", "5915.00",
        id="wh-resident-long-term",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu",
        {"insurance": "resident", "scope": "in_province", "filing": "referral"},
        "0.60", "5", "0.50", "5460.00", id="wh-resident-in-province-referral-minus-5-floor-kept",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu",
        {"insurance": "resident", "scope": "in_province", "filing": "none"},
        "0.50", "15", "0.35", "4550.00", id="wh-resident-in-province-unfiled-minus-15-floor-too",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"insurance": "resident", "filing": "referral"},
        "0.60", "5", "0.50", "5460.00", id="wh-resident-cross-referral-fixed-60",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"insurance": "resident", **EMERGENCY_STAY},
        "0.60", "5", "0.50", "5460.00", id="wh-resident-cross-emergency-fixed-60",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu", {"insurance": "resident", "filing": "other_temporary"},
        "0.50", "15", "0.35", "4550.00", id="wh-resident-cross-not-referred-fixed-50",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu",
        {"insurance": "resident", "scope": "in_province", "filing": "other_temporary", **INJURY},
        "0.60", "5", "0.50", "5460.00", id="wh-resident-injury-in-province-as-emergency",
    ),
    pytest.param(
        "芜细则 三（三）", "wuhu",
        {"insurance": "resident", "filing": "other_temporary", **INJURY},
        "0.60", "5", "0.50", "5460.00", id="wh-resident-injury-cross-as-emergency",
    ),
    # 湘: (10000 − 1000) = 9000 × ratio
    pytest.param("湘办法 第二十条", "hunan", {}, "0.80", "0", None, "7200.00", id="hn-long-term"),
    pytest.param(
        "湘办法 第二十条", "hunan", {"filing": "referral"}, "0.75", "5", None, "6750.00",
        id="hn-referral-minus-5",
    ),
    pytest.param(
        "湘办法 第二十条", "hunan", {"filing": "emergency"}, "0.75", "5", None, "6750.00",
        id="hn-emergency-minus-5",
    ),
    pytest.param(
        "湘办法 第二十条", "hunan", {"filing": "other_temporary"}, "0.70", "10", None, "6300.00",
        id="hn-other-temporary-minus-10",
    ),
    pytest.param(
        "湘办法 第二十条", "hunan", {"filing": "none"}, "0.70", "10", None, "6300.00",
        id="hn-unfiled-by-hand-minus-10",
    ),
    # 京: no reduction in the seed; (10000 − 1300) = 8700 × 0.85 = 7395.00
    pytest.param("京通知 一（一）", "beijing", {}, "0.85", "0", None, "7395.00", id="bj-long-term"),
    pytest.param(
        "京通知 一（一）", "beijing", {"filing": "referral"}, "0.85", "0", None, "7395.00",
        id="bj-referral",
    ),
    pytest.param(
        "京通知 一（一）", "beijing", {"filing": "none"}, "0.85", "0", None, "7395.00",
        id="bj-unfiled",
    ),
    pytest.param(
        "京通知 一（一）", "beijing", EMERGENCY_STAY, "0.85", "0", None, "7395.00",
        id="bj-emergency",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("citation", "policy", "fields", "ratio", "reduction", "floor", "fund"), REDUCTIONS
)
def test_ratio_reduction(
    citation: str,
    policy: str,
    fields: dict[str, Any],
    ratio: str,
    reduction: str,
    floor: str | None,
    fund: str,
) -> None:
    payment = paid(decide(policy, **fields))
    assert payment.ratio == Decimal(ratio)
    assert payment.reduction_pp == Decimal(reduction)
    assert payment.floor_ratio == (Decimal(floor) if floor else None)
    assert citation in payment.adjustment_citation
    assert str(payment.fund_total) == fund
    assert funds(payment) == {"统筹基金": fund}
    assert payment.personal_cash == Decimal("12000.00") - Decimal(fund)
    assert all(payment.identities.values())


# 芜 居民 保底 where it binds: 政策范围内 2000.00, 起付 900 → base 1100 (职工: 起付 800 → 1200)
FLOOR = [
    # 0.60 × 1100 = 660.00 < 保底 min(1100, 2000 × 0.50 = 1000) → 1000.00
    pytest.param(
        "resident", "cross_province", "referral", "1000.00", "0.50", id="cross-referred-kept"
    ),
    # 0.50 × 1100 = 550.00 < 保底 min(1100, 2000 × 0.35 = 700) → 700.00
    pytest.param(
        "resident", "cross_province", "none", "700.00", "0.35", id="cross-unfiled-reduced"
    ),
    # (0.65 − 0.05) × 1100 = 660.00 < 1000.00 → 1000.00
    pytest.param("resident", "in_province", "referral", "1000.00", "0.50", id="in-referred-kept"),
    # (0.65 − 0.15) × 1100 = 550.00 < 700.00 → 700.00
    pytest.param(
        "resident", "in_province", "other_temporary", "700.00", "0.35", id="in-other-reduced"
    ),
    # 职工 has no 保底: (0.85 − 0.10) × 1200 = 900.00
    pytest.param("employee", "cross_province", "referral", "900.00", None, id="employee-no-floor"),
]


@pytest.mark.parametrize(("insurance", "scope", "filing", "fund", "floor"), FLOOR)
def test_wuhu_resident_floor(
    insurance: str, scope: str, filing: str, fund: str, floor: str | None
) -> None:
    """芜细则 三（三）: 居民 emergency/referred keep the 保底; not referred lose 15 points of it."""
    result = decide(
        "wuhu",
        insurance=insurance,
        scope=scope,
        filing=filing,
        amounts=amounts("2000.00"),
    )
    payment = paid(result)
    assert str(payment.fund_total) == fund
    assert payment.floor_ratio == (Decimal(floor) if floor else None)
    assert str(payment.personal_cash) == str(Decimal("2000.00") - Decimal(fund))


# ── deductible, cap and the funds above the cap ──────────────────────────────────────────────


@pytest.mark.parametrize(
    ("policy", "fields", "deductible", "fund"),
    [
        # 京 职工 住院 起付 1300 a year: (10000 − 1300) × 0.85 = 7395.00
        pytest.param("beijing", {}, "1300.00", "7395.00", id="bj-year-none-paid"),
        # 1300 − 1000 = 300 left: (10000 − 300) × 0.85 = 8245.00
        pytest.param(
            "beijing", {"ytd": {"deductible_paid": "1000.00"}}, "300.00", "8245.00",
            id="bj-year-partly-paid",
        ),
        # nothing left: 10000 × 0.85 = 8500.00
        pytest.param(
            "beijing", {"ytd": {"deductible_paid": "1300.00"}}, "0.00", "8500.00",
            id="bj-year-fully-paid",
        ),
        pytest.param(
            "beijing", {"ytd": {"deductible_paid": "5000.00"}}, "0.00", "8500.00",
            id="bj-year-overpaid",
        ),
        # 苏 per admission: the year's payments do not matter: (10000 − 900) × 0.85 = 7735.00
        pytest.param(
            "jiangsu", {"ytd": {"deductible_paid": "900.00"}}, "900.00", "7735.00",
            id="js-admission-ignores-ytd",
        ),
        # 苏 职工 门诊 起付 800 a year, ratio 0.65: (2000 − 800) × 0.65 = 780.00
        pytest.param(
            "jiangsu", {**OUT_SMALL, "amounts": amounts("2000.00")}, "800.00", "780.00",
            id="js-outpatient-year",
        ),
        # 800 − 500 = 300 left: (2000 − 300) × 0.65 = 1105.00
        pytest.param(
            "jiangsu",
            {**OUT_SMALL, "amounts": amounts("2000.00"), "ytd": {"deductible_paid": "500.00"}},
            "300.00", "1105.00", id="js-outpatient-year-partly-paid",
        ),
        # under the deductible: 500 all deductible, fund 0.00
        pytest.param(
            "jiangsu", {**OUT_SMALL, "amounts": amounts("500.00")}, "500.00", "0.00",
            id="js-outpatient-under-deductible",
        ),
    ],
)  # fmt: skip
def test_deductible(policy: str, fields: dict[str, Any], deductible: str, fund: str) -> None:
    payment = paid(decide(policy, **fields))
    assert str(payment.deductible) == deductible
    assert str(payment.fund_total) == fund


@pytest.mark.parametrize(
    ("fields", "expected_funds", "cash"),
    [
        # cap 300000 − 298000 = 2000 left; raw (10000 − 900) × 0.85 = 7735 > 2000 → 统筹 2000.00;
        # 大额: (9100 − 2000 / 0.85) × 0.90 = (9100 − 2352.9411…) × 0.90 = 6072.3529… → 6072.35;
        # cash 12000 − 8072.35 = 3927.65
        pytest.param(
            {"ytd": {"fund_paid": "298000.00"}},
            {"统筹基金": "2000.00", "大额医疗费用补助": "6072.35"},
            "3927.65",
            id="cap-reached-in-this-claim",
        ),
        # cap used up: 统筹 0.00; 大额 9100 × 0.90 = 8190.00; cash 3810.00
        pytest.param(
            {"ytd": {"fund_paid": "300000.00"}},
            {"统筹基金": "0.00", "大额医疗费用补助": "8190.00"},
            "3810.00",
            id="cap-used-up",
        ),
        # 大额 cap 400000 − 399500 = 500 left; cash 12000 − 500 = 11500.00
        pytest.param(
            {"ytd": {"fund_paid": "300000.00", "above_cap_paid": "399500.00"}},
            {"统筹基金": "0.00", "大额医疗费用补助": "500.00"},
            "11500.00",
            id="above-cap-fund-nearly-used-up",
        ),
        # 居民: cap 250000 used up; 大病 (10000 − 1000) × 0.60 = 5400.00; cash 6600.00
        pytest.param(
            {"insurance": "resident", "ytd": {"fund_paid": "250000.00"}},
            {"统筹基金": "0.00", "城乡居民大病保险": "5400.00"},
            "6600.00",
            id="resident-serious-illness-insurance",
        ),
        # far from the cap: only the pool fund, 7735.00
        pytest.param(
            {"ytd": {"fund_paid": "100000.00"}},
            {"统筹基金": "7735.00"},
            "4265.00",
            id="under-cap",
        ),
    ],
)
def test_cap_and_above_cap_funds(
    fields: dict[str, Any], expected_funds: dict[str, str], cash: str
) -> None:
    payment = paid(decide("jiangsu", **fields))
    assert funds(payment) == expected_funds
    assert str(payment.personal_cash) == cash
    assert payment.fund_total == sum(Decimal(v) for v in expected_funds.values())
    assert all(payment.identities.values())


# ── stays over 1 January ─────────────────────────────────────────────────────────────────────

# 2025-12-27 → 2026-01-11: 15 hospital days, 5 in 2025 (27–31 Dec) and 10 in 2026
CROSS_YEAR = {"today": "2026-01-20", "admission_date": "2025-12-27", "discharge_date": "2026-01-11"}


def test_beijing_splits_by_days() -> None:
    """京细则 第三十、三十一条: shares by hospital days, each year with its own 起付 (1300/year).

    政策范围内 10000.00 → 2025: 10000 × 5/15 = 3333.33, 2026: 6666.67.
    2025: (3333.33 − 1300) × 0.85 = 1728.3305 → 1728.33; cash 3333.33 − 1728.33 = 1605.00
    2026: (6666.67 − 1300) × 0.85 = 4561.6695 → 4561.67; cash 6666.67 − 4561.67 = 2105.00
    fund 6290.00, cash 3710.00, 起付 2600.00.
    """
    payment = paid(decide("beijing", **CROSS_YEAR, amounts=amounts("10000.00")))
    assert payment.cross_year == "split" and payment.settlement_year == 2026
    segments = [
        (s.year, s.days, str(s.total), str(s.in_scope), str(s.deductible), str(s.fund_total))
        for s in payment.segments
    ]
    assert segments == [
        (2025, 5, "3333.33", "3333.33", "1300.00", "1728.33"),
        (2026, 10, "6666.67", "6666.67", "1300.00", "4561.67"),
    ]
    assert [str(s.personal_cash) for s in payment.segments] == ["1605.00", "2105.00"]
    assert (str(payment.fund_total), str(payment.personal_cash)) == ("6290.00", "3710.00")
    assert str(payment.deductible) == "2600.00"


def test_beijing_split_parts_and_previous_year_to_date() -> None:
    """Every slip category is split by days; 2025 uses ytd_previous, 2026 uses ytd.

    总费用 15000 = 12000 + 1500 + 600 + 900 → 2025: 5000.00 (政策范围内 4000.00),
    2026: 10000.00 (8000.00). 2025 起付 already paid: 4000 × 0.85 = 3400.00;
    2026: (8000 − 1300) × 0.85 = 5695.00. fund 9095.00, cash 15000 − 9095 = 5905.00.
    """
    split_amounts = {
        "total": "15000.00",
        "in_scope": "12000.00",
        "class_b_self": "1500.00",
        "over_limit_self": "600.00",
        "self_pay": "900.00",
    }
    payment = paid(
        decide(
            "beijing",
            **CROSS_YEAR,
            amounts=split_amounts,
            ytd_previous={"deductible_paid": "1300.00"},
        )
    )
    totals = [(str(s.total), str(s.in_scope), str(s.deductible)) for s in payment.segments]
    assert totals == [("5000.00", "4000.00", "0.00"), ("10000.00", "8000.00", "1300.00")]
    assert [str(s.fund_total) for s in payment.segments] == ["3400.00", "5695.00"]
    assert (str(payment.fund_total), str(payment.personal_cash)) == ("9095.00", "5905.00")


@pytest.mark.parametrize(
    ("policy", "fund"),
    [
        # 芜规程 第二十八条: one lump at discharge, (10000 − 800) × 0.85 = 7820.00
        ("wuhu", "7820.00"),
        # 湘办法 第五十一条: (10000 − 1000) × 0.80 = 7200.00
        ("hunan", "7200.00"),
        # 苏规程 第四十四条 default lump: (10000 − 900) × 0.85 = 7735.00
        ("jiangsu", "7735.00"),
    ],
)
def test_lump_regions(policy: str, fund: str) -> None:
    payment = paid(decide(policy, **CROSS_YEAR, amounts=amounts("10000.00")))
    assert payment.cross_year == "lump"
    assert payment.segments == []
    assert str(payment.fund_total) == fund


def test_jiangsu_may_split_on_request() -> None:
    """苏规程 第四十四条 allows either; the 起付 is paid once per admission.

    2025: (3333.33 − 900) × 0.85 = 2068.3305 → 2068.33; 2026: 6666.67 × 0.85 = 5666.6695 → 5666.67.
    """
    payment = paid(decide("jiangsu", **CROSS_YEAR, amounts=amounts("10000.00"), cross_year="split"))
    assert payment.cross_year == "split"
    assert [(s.year, str(s.deductible), str(s.fund_total)) for s in payment.segments] == [
        (2025, "900.00", "2068.33"),
        (2026, "0.00", "5666.67"),
    ]
    assert str(payment.fund_total) == "7735.00"


@pytest.mark.parametrize(
    ("policy", "mode"), [("beijing", "lump"), ("wuhu", "split"), ("hunan", "split")]
)
def test_cross_year_mode_the_region_does_not_have(policy: str, mode: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decide(policy, **CROSS_YEAR, amounts=amounts("10000.00"), cross_year=mode)
    assert [e.field for e in caught.value.errors] == ["cross_year"]


def test_stay_within_one_year_is_not_cross_year() -> None:
    payment = paid(decide("beijing"))
    assert payment.cross_year is None and payment.segments == []


# ── 费用协查 and the 芜 no-top-up notice ─────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("policy", "citation"),
    [
        ("jiangsu", "苏规程 第五十六条"),
        ("beijing", "京细则 第四十八条"),
        ("hunan", "湘办法 第七十六条"),
    ],
)
def test_cost_check_from_30000(policy: str, citation: str) -> None:
    at = decide(policy, amounts=amounts("30000.00"))
    assert at.cost_check_candidate
    assert citation_of(at, "cost_check_candidate") == citation
    below = decide(policy, amounts=amounts("29999.99"))
    assert not below.cost_check_candidate and "cost_check_candidate" not in codes(below)
    outpatient = decide(policy, **OUT_SMALL, amounts=amounts("30000.00"))
    assert not outpatient.cost_check_candidate


def test_wuhu_seed_is_silent_on_cost_check() -> None:
    result = decide("wuhu", amounts=amounts("50000.00"))
    assert not result.cost_check_candidate
    assert "cost_check_candidate" not in codes(result)


@pytest.mark.parametrize(
    ("filing", "notice"),
    [("long_term", True), ("referral", True), ("other_temporary", True), ("none", False)],
)
def test_wuhu_no_top_up_notice(filing: str, notice: bool) -> None:
    """芜规程 第三十一条: filed but not settled directly → no top-up of the difference."""
    result = decide("wuhu", filing=filing)
    assert ("no_top_up" in codes(result)) is notice
    if notice:
        reason = next(r for r in result.reasons if r.code == "no_top_up")
        assert (reason.severity, reason.citation) == ("info", "芜规程 第三十一条")
        assert result.eligible
    assert "no_top_up" not in codes(decide("jiangsu", filing=filing))


# ── invalid claims ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"discharge_date": "2026-01-31"}, ["discharge_date"]),
        ({"admission_date": None}, ["admission_date"]),
        ({"treatment": "outpatient", **OUTPATIENT_VISIT, "visit_date": None}, ["visit_date"]),
        (
            {"treatment": "outpatient", **OUTPATIENT_VISIT, "visit_date": "2026-03-03"},
            ["visit_date"],
        ),
        ({"amounts": {"total": "100.00", "in_scope": "99.99"}}, ["amounts.total"]),
        ({"amounts": amounts("0.00")}, ["amounts.total"]),
        ({"amounts": {"total": "1.00", "in_scope": "1.001"}}, ["amounts.in_scope"]),
        ({"amounts": {"total": 12.5, "in_scope": "12.50"}}, ["amounts.total"]),
        ({"ytd": {"fund_paid": "-1"}}, ["ytd.fund_paid"]),
        ({"materials": ["id_card", "receipt"]}, ["materials[1]"]),
        ({"hospital_level": 4}, ["hospital_level"]),
        ({"treatment": "dental"}, ["treatment"]),
        ({"today": "2200-01-01"}, ["today"]),
    ],
)
def test_invalid_claim_names_fields(fields: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        decide("jiangsu", **fields)
    assert [e.field for e in caught.value.errors] == expected


@pytest.mark.parametrize(
    ("policy", "fields", "words"),
    [
        # 芜湖 住院起付标准 is per admission, its 门诊 one per year (assets/policies/wuhu.toml).
        ("wuhu", {}, "按每次住院计：每次"),
        ("hunan", {}, "按每次住院计：每次"),
        (
            "wuhu",
            {"treatment": "outpatient", "materials": OUTPATIENT, **OUTPATIENT_VISIT},
            "按年度计：每年",
        ),
    ],
)
def test_deductible_line_says_per_admission_or_per_year(
    policy: str, fields: dict[str, Any], words: str
) -> None:
    payment = paid(decide(policy, **fields))
    line = next(line.item for line in payment.lines if "起付标准" in line.item)
    assert words in line
    assert "已扣除本年度已付起付线" not in line
