"""Rule tables for the seed rules corrected or added by issue 11, each row citing its article.

Wrong answers: 芜细则 三（三） applies to 居民 住院 only; 京细则 第一条 (跨省 only) for claims;
湘办法 第二十条 (non-designated: only 危急重症患者抢救). Months: the one rule of ``dates.term_end``
in validity, locks, follow-ups and the once-a-year commitment limit.
Rules added: 京细则 第八至十条 (特殊病), 京细则 第十条 (单位 change → new filing), 湘办法 第八条,
第十二条, 第五十三条, 芜细则 三（一）, 苏规程 第十七条 (second sentence, with 湘办法 第二十一条
and 芜细则 三（二）), 补办 windows, online-review deadlines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import chinese_calendar
import pytest

from counter_app.domain.errors import InvalidInput
from counter_app.domain.results import ClaimResult, FilingResult
from counter_app.packs import shipped_pack
from counter_app.rules_engine import build_engine

ID = "11010519491231002X"
INPATIENT = ["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"]
OUTPATIENT = ["id_card", "invoice", "outpatient_bill", "prescription"]
STAY = {"admission_date": "2026-02-01", "discharge_date": "2026-02-10"}
VISIT = {"visit_date": "2026-02-20"}
AMOUNTS = {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"}
SMALL = {"total": "1000.00", "in_scope": "1000.00"}


def claim(policy: str, **fields: Any) -> ClaimResult:
    base: dict[str, Any] = {
        "policy": policy,
        "today": "2026-03-02",
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "long_term",
        "treatment": "inpatient",
        "hospital_level": 3,
        "materials": INPATIENT,
        "amounts": AMOUNTS,
        **STAY,
    }
    base.update(fields)
    return build_engine(policy).claim(base)


def outpatient(policy: str, **fields: Any) -> ClaimResult:
    return claim(
        policy,
        treatment="outpatient",
        admission_date=None,
        discharge_date=None,
        materials=OUTPATIENT,
        amounts=SMALL,
        **VISIT,
        **fields,
    )


def filing(policy: str, **fields: Any) -> FilingResult:
    base: dict[str, Any] = {
        "policy": policy,
        "action": "new",
        "today": "2026-03-02",
        "person": {"name": "张三", "id_number": ID},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": ["id_card", "filing_form"],
    }
    base.update(fields)
    return build_engine(policy).filing(base)


def codes(result: ClaimResult | FilingResult, severity: str | None = None) -> set[str]:
    return {r.code for r in result.reasons if severity is None or r.severity == severity}


def cited(result: ClaimResult | FilingResult, code: str) -> str:
    return next(r.citation for r in result.reasons if r.code == code)


# ── 芜细则 三（三）: the 居民 rows are 住院政策范围内 only ───────────────────────────────────


@pytest.mark.parametrize(
    ("citation", "fields", "ratio", "floor", "fund"),
    [
        # 居民 门诊 三级 base 0.45, 门诊起付 200 per year: (1000 − 200) × 45% = 360.00
        ("芜细则 三（一）", {"filing": "none"}, "0.45", None, "360.00"),
        ("芜细则 三（一）", {"filing": "none", "scope": "in_province"}, "0.45", None, "360.00"),
        ("芜细则 三（一）", {"filing": "referral"}, "0.45", None, "360.00"),
        (
            "芜细则 三（一）",
            {"filing": "emergency", "scope": "in_province"},
            "0.45",
            None,
            "360.00",
        ),
        (
            "芜细则 三（一）",
            {"filing": "none", "flags": {"injury_no_third_party": True}},
            "0.45",
            None,
            "360.00",
        ),
        # 长期 居民 门诊: home standard (芜细则 三（二）)
        ("芜细则 三（二）", {"filing": "long_term"}, "0.45", None, "360.00"),
    ],
)
def test_wuhu_resident_outpatient_not_reduced(
    citation: str, fields: dict[str, Any], ratio: str, floor: str | None, fund: str
) -> None:
    result = outpatient("wuhu", insurance="resident", **fields)
    assert result.payment is not None, result.reasons
    assert result.payment.ratio == Decimal(ratio)
    assert result.payment.reduction_pp == 0
    assert result.payment.floor_ratio is None
    assert result.payment.fund_total == Decimal(fund)
    assert citation in result.payment.adjustment_citation


@pytest.mark.parametrize(
    ("fields", "ratio", "floor", "fund"),
    [
        # 居民 住院 三级 0.65, 起付 900: 跨省未转诊 50% (保底 50 − 15 = 35%): 9100 × 50% = 4550.00
        ({"filing": "none"}, "0.50", "0.35", "4550.00"),
        # 省内未转诊 −15 → 50%, 保底 35%: 9100 × 50% = 4550.00
        ({"filing": "none", "scope": "in_province"}, "0.50", "0.35", "4550.00"),
        # 省内急诊或转诊 −5 → 60%, 保底 50%: 9100 × 60% = 5460.00
        ({"filing": "referral", "scope": "in_province"}, "0.60", "0.50", "5460.00"),
    ],
)
def test_wuhu_resident_inpatient_rows_still_apply(
    fields: dict[str, Any], ratio: str, floor: str, fund: str
) -> None:
    """芜细则 三（三）: 住院政策范围内报销比例 for 居民."""
    payment = claim("wuhu", insurance="resident", **fields).payment
    assert payment is not None
    assert (payment.ratio, payment.floor_ratio) == (Decimal(ratio), Decimal(floor))
    assert payment.fund_total == Decimal(fund)
    assert "芜细则 三（三）" in payment.adjustment_citation


def test_wuhu_employee_outpatient_still_reduced() -> None:
    """芜细则 三（三）: the 职工 rows are not limited to 住院 (跨省未转诊 −20)."""
    payment = outpatient("wuhu", filing="none").payment
    assert payment is not None
    assert payment.reduction_pp == Decimal(20)


# ── 京细则 第一条: 跨省 only ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("filing_kind", ["long_term", "other_temporary", "none", "emergency"])
def test_beijing_in_province_claim_not_eligible(filing_kind: str) -> None:
    result = claim("beijing", scope="in_province", filing=filing_kind)
    assert not result.eligible
    assert result.payment is None
    assert cited(result, "scope_not_applicable") == "京细则 第一条"
    assert claim("beijing", filing=filing_kind).eligible  # 跨省 is paid


@pytest.mark.parametrize("policy", ["jiangsu", "wuhu", "hunan"])
def test_in_province_claims_elsewhere_still_paid(policy: str) -> None:
    assert claim(policy, scope="in_province").eligible


# ── non-designated institutions ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("citation", "policy", "fields", "paid"),
    [
        # 湘办法 第二十条: only 危急重症患者抢救, not every emergency
        ("湘办法 第二十条", "hunan", {"treatment": "emergency"}, False),
        ("湘办法 第二十条", "hunan", {"filing": "emergency"}, False),
        ("湘办法 第二十条", "hunan", {"flags": {"rescue": True}}, True),
        ("湘办法 第二十条", "hunan", {"filing": "none", "flags": {"rescue": True}}, True),
        # 苏规程 第十九条: 急诊和抢救
        ("苏规程 第十九条", "jiangsu", {"treatment": "emergency"}, True),
        ("苏规程 第十九条", "jiangsu", {"flags": {"rescue": True}}, True),
        # 芜细则 三（一）: 急诊抢救除外
        ("芜细则 三（一）", "wuhu", {"filing": "emergency"}, True),
    ],
)
def test_non_designated(citation: str, policy: str, fields: dict[str, Any], paid: bool) -> None:
    result = claim(policy, designated=False, **fields)
    assert ("not_designated" not in codes(result)) is paid
    if not paid:
        assert cited(result, "not_designated") == citation
    assert pack_citation(policy) == citation


def pack_citation(policy: str) -> str:
    return shipped_pack(policy).claim.not_designated.citation


# ── months in validity, locks, follow-ups and the once-a-year limit ─────────────────────────


@pytest.mark.parametrize(
    ("citation", "policy", "fields", "valid_until"),
    [
        # 芜细则 四（二）: 12 months
        ("芜细则 四（二）", "wuhu", {"today": "2028-02-29"}, "2029-02-28"),
        ("芜细则 四（二）", "wuhu", {"today": "2026-03-01"}, "2027-02-28"),
        ("芜细则 四（二）", "wuhu", {"today": "2026-01-31"}, "2027-01-30"),
        # 湘办法 第十三条: 6 months
        ("湘办法 第十三条", "hunan", {"today": "2025-08-31"}, "2026-02-28"),
        ("湘办法 第十三条", "hunan", {"today": "2027-08-31"}, "2028-02-29"),
        ("湘办法 第十三条", "hunan", {"today": "2026-08-29"}, "2027-02-28"),
        ("湘办法 第十三条", "hunan", {"today": "2026-09-01"}, "2027-02-28"),
        ("湘办法 第十三条", "hunan", {"today": "2026-09-28"}, "2027-03-27"),
        # 苏规程 第十条: at least 6 months
        ("苏规程 第十条", "jiangsu", {"today": "2026-03-31"}, "2026-09-30"),
        ("苏规程 第十条", "jiangsu", {"today": "2026-12-30"}, "2027-06-29"),
        ("苏规程 第十条", "jiangsu", {"today": "2026-12-31"}, "2027-06-30"),
    ],
)
def test_validity_months(
    citation: str, policy: str, fields: dict[str, Any], valid_until: str
) -> None:
    result = filing(policy, **fields)
    assert result.allowed, result.reasons
    assert result.valid_until == dt.date.fromisoformat(valid_until)
    category = shipped_pack(policy).filing.categories["other_temporary"]
    assert category.validity is not None and citation in category.validity.citation


@pytest.mark.parametrize(
    ("citation", "policy", "today", "due"),
    [
        ("芜细则 三（二）", "wuhu", "2026-01-31", "2026-02-28"),
        ("芜细则 三（二）", "wuhu", "2028-01-31", "2028-02-29"),
        ("芜细则 三（二）", "wuhu", "2026-01-30", "2026-02-28"),
        ("芜细则 三（二）", "wuhu", "2026-02-28", "2026-03-27"),
        ("芜细则 三（二）", "wuhu", "2026-03-01", "2026-03-31"),
        ("湘办法 第二十二条", "hunan", "2025-08-31", "2026-02-28"),
        ("湘办法 第二十二条", "hunan", "2028-02-29", "2028-08-28"),
    ],
)
def test_followup_months(citation: str, policy: str, today: str, due: str) -> None:
    result = filing(
        policy,
        today=today,
        category="long_term_resident",
        basis="commitment",
        has_employer=False,
        materials=["id_card", "filing_form", "commitment_letter"],
    )
    assert result.followup_due == dt.date.fromisoformat(due)
    assert cited(result, "followup_due") == citation


@pytest.mark.parametrize(
    ("citation", "policy", "basis", "valid_from", "today", "locked"),
    [
        # 芜规程 第十条: long-term, 6 months from effect; 满6个月 the day after the period
        ("芜规程 第十条", "wuhu", "materials", "2025-08-31", "2026-02-28", True),
        ("芜规程 第十条", "wuhu", "materials", "2025-08-31", "2026-03-01", False),
        ("芜规程 第十条", "wuhu", "materials", "2027-08-31", "2028-02-29", True),
        ("芜规程 第十条", "wuhu", "materials", "2027-08-31", "2028-03-01", False),
        ("芜规程 第十条", "wuhu", "materials", "2026-03-01", "2026-08-31", True),
        ("芜规程 第十条", "wuhu", "materials", "2026-03-01", "2026-09-01", False),
        # 苏规程 第十条: 承诺书 filings only
        ("苏规程 第十条", "jiangsu", "commitment", "2026-01-31", "2026-07-30", True),
        ("苏规程 第十条", "jiangsu", "commitment", "2026-01-31", "2026-07-31", False),
        ("苏规程 第十条", "jiangsu", "materials", "2026-01-31", "2026-02-01", False),
    ],
)
def test_lock_months(
    citation: str, policy: str, basis: str, valid_from: str, today: str, locked: bool
) -> None:
    existing = {
        "id": "B1",
        "category": "long_term_resident",
        "basis": basis,
        "destination": "440300",
        "valid_from": valid_from,
    }
    result = filing(
        policy,
        action="cancel",
        target="B1",
        today=today,
        category="long_term_resident",
        existing=[existing],
        materials=["id_card", "filing_form"],
    )
    assert ("locked" in codes(result, "error")) is locked
    if locked:
        assert cited(result, "locked") == citation


@pytest.mark.parametrize(
    ("earlier", "today", "blocked"),
    [
        ("2025-02-28", "2026-02-27", True),  # the year from 2025-02-28 ends 2026-02-27
        ("2025-02-28", "2026-02-28", False),
        ("2024-02-29", "2025-02-28", True),  # no 2025-02-29: the year ends on 02-28
        ("2024-02-29", "2025-03-01", False),
        ("2024-03-01", "2025-02-28", True),  # 2024-03-01 + 12 months ends 2025-02-28
        ("2024-03-01", "2025-03-01", False),
    ],
)
def test_wuhu_commitment_once_a_year(earlier: str, today: str, blocked: bool) -> None:
    """芜细则 三（二）: one 承诺 filing a year, the year counted by the month rule."""
    previous = {
        "id": "C0",
        "category": "long_term_resident",
        "basis": "commitment",
        "destination": "310000",
        "valid_from": earlier,
        "status": "cancelled",
    }
    result = filing(
        "wuhu",
        today=today,
        category="long_term_resident",
        basis="commitment",
        existing=[previous],
        materials=["id_card", "filing_form", "commitment_letter"],
    )
    assert ("commitment_yearly_limit" in codes(result, "error")) is blocked
    if blocked:
        assert cited(result, "commitment_yearly_limit") == "芜细则 三（二）"


# ── 京细则 第八至十条: 特殊病 filings ────────────────────────────────────────────────────────

SPECIAL = {"disease": "尿毒症透析", "hospitals": ["河北省人民医院"]}
SPECIAL_MATERIALS = ["id_card", "filing_form", "special_disease_diagnosis", "special_disease_form"]


def special(**fields: Any) -> FilingResult:
    base: dict[str, Any] = {
        "category": "other_temporary",
        "destination": "130100",
        "end_date": "2026-12-31",
        "special_disease": SPECIAL,
        "materials": SPECIAL_MATERIALS,
    }
    base.update(fields)
    return filing("beijing", **base)


def special_existing(hospitals: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "id": "S1",
        "category": "other_temporary",
        "destination": "130100",
        "valid_from": "2026-01-05",
        "valid_until": "2026-12-31",
        "special_disease": "尿毒症透析",
        "hospitals": hospitals,
        **fields,
    }


@pytest.mark.parametrize(
    ("citation", "fields", "errors", "missing"),
    [
        ("京细则 第八条", {}, set(), []),
        # 第八条: 诊断证明 and the 申报表, instead of the 承诺书
        (
            "京细则 第八条",
            {"materials": ["id_card", "filing_form", "commitment_letter"]},
            {"materials_missing"},
            ["special_disease_diagnosis", "special_disease_form"],
        ),
        (
            "京细则 第八条",
            {"materials": [*SPECIAL_MATERIALS[:3]]},
            {"materials_missing"},
            ["special_disease_form"],
        ),
        # 第八条: at the counter only
        ("京细则 第八条", {"channel": "online"}, {"special_disease_counter_only"}, []),
        # 附件2 说明1: the 承诺书 does not cover 门诊特殊病
        ("京细则 附件2 说明1", {"basis": "commitment"}, {"special_disease_no_commitment"}, []),
        # 第九条: at most two hospitals per disease, counting the active filings of that disease
        (
            "京细则 第九条",
            {"special_disease": {**SPECIAL, "hospitals": ["甲院", "乙院"]}},
            set(),
            [],
        ),
        (
            "京细则 第九条",
            {"special_disease": {**SPECIAL, "hospitals": ["甲院", "乙院", "丙院"]}},
            {"special_disease_hospitals"},
            [],
        ),
        ("京细则 第九条", {"existing": [special_existing(["甲院"])]}, set(), []),
        (
            "京细则 第九条",
            {"existing": [special_existing(["甲院", "乙院"])]},
            {"special_disease_hospitals"},
            [],
        ),
        (
            "京细则 第九条",
            {"existing": [special_existing(["甲院", "乙院"], status="cancelled")]},
            set(),
            [],
        ),
        (
            "京细则 第九条",
            {"existing": [special_existing(["甲院", "乙院"], special_disease="血友病")]},
            set(),
            [],
        ),
    ],
)
def test_beijing_special_disease_filing(
    citation: str, fields: dict[str, Any], errors: set[str], missing: list[str]
) -> None:
    result = special(**fields)
    assert codes(result, "error") == errors, result.reasons
    assert result.missing == missing
    assert result.special_disease == "尿毒症透析"
    for code in errors - {"materials_missing"}:
        assert cited(result, code) == citation
    if missing:
        assert cited(result, "materials_missing") == citation


def test_beijing_special_disease_effective_on_filing_day() -> None:
    """京细则 第十条: 自办理备案之日起生效."""
    result = special(start_date="2026-03-20")
    assert result.valid_from == dt.date(2026, 3, 2)
    assert cited(result, "special_disease_effective") == "京细则 第十条"
    assert special().valid_from == dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("action", "settled", "blocked"),
    [
        ("change", False, True),
        ("change", True, False),
        ("cancel", False, True),
        ("cancel", True, False),
    ],
)
def test_beijing_special_disease_costs_settled_first(
    action: str, settled: bool, blocked: bool
) -> None:
    """京细则 第十条: settle current 特殊病 costs before stopping or changing hospitals."""
    fields: dict[str, Any] = {
        "action": action,
        "target": "S1",
        "existing": [special_existing(["甲院"])],
        "costs_settled": settled,
    }
    if action == "cancel":
        fields["special_disease"] = None
    else:
        fields["special_disease"] = {**SPECIAL, "hospitals": ["乙院"]}
    result = special(**fields)
    assert ("special_disease_settle_first" in codes(result, "error")) is blocked
    if blocked:
        assert cited(result, "special_disease_settle_first") == "京细则 第十条"


@pytest.mark.parametrize("policy", ["jiangsu", "wuhu", "hunan"])
def test_special_disease_only_where_a_seed_has_it(policy: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        filing(policy, special_disease=SPECIAL)
    assert [e.field for e in caught.value.errors] == ["special_disease"]


# ── 京细则 第十条: 就医地、单位、险种 change → a new filing ───────────────────────────────────


def change(policy: str, target: dict[str, Any], **fields: Any) -> FilingResult:
    return filing(
        policy,
        action="change",
        target="B1",
        existing=[{"id": "B1", "destination": "440300", "valid_from": "2025-06-01", **target}],
        **fields,
    )


@pytest.mark.parametrize(
    ("citation", "policy", "target", "fields", "mode"),
    [
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary"},
            {"end_date": "2026-12-31", "employer_changed": True},
            "refile",
        ),
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary", "employer": "甲公司"},
            {"end_date": "2026-12-31", "employer": "乙公司"},
            "refile",
        ),
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary", "employer": "甲公司"},
            {"end_date": "2026-12-31", "employer": "甲公司"},
            "amend",
        ),
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary", "insurance": "resident"},
            {"end_date": "2026-12-31"},
            "refile",
        ),
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary"},
            {"end_date": "2026-12-31", "destination": "310000"},
            "refile",
        ),
        (
            "京细则 第十条",
            "beijing",
            {"category": "other_temporary"},
            {"end_date": "2026-12-31"},
            "amend",
        ),
        # 苏: no such rule, a 单位 change is a change
        (
            "苏规程 第十条",
            "jiangsu",
            {"category": "other_temporary"},
            {"employer_changed": True},
            "amend",
        ),
    ],
)
def test_refile_on_employer_change(
    citation: str, policy: str, target: dict[str, Any], fields: dict[str, Any], mode: str
) -> None:
    result = change(policy, target, **fields)
    assert result.change_mode == mode, result.reasons
    if mode == "refile":
        assert cited(result, "refile") == citation
        assert result.supersedes == ["B1"]
        if fields.get("employer_changed") or "employer" in fields:
            assert "单位" in next(r.message for r in result.reasons if r.code == "refile")


# ── 湘办法 第八条 and 第十二条 ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("fields", "code", "example"),
    [
        ({"purpose": "outpatient"}, "filing_not_required_outpatient", False),
        (
            {"purpose": "outpatient", "scope": "in_province", "destination": "430200"},
            "filing_not_required_outpatient",
            False,
        ),
        ({"purpose": "inpatient"}, "filing_required_inpatient", False),
        (
            {"purpose": "inpatient", "scope": "in_province", "destination": "430200"},
            "filing_per_home_pool",
            True,
        ),
    ],
)
def test_hunan_filing_requirement(fields: dict[str, Any], code: str, example: bool) -> None:
    result = filing("hunan", **fields)
    assert code in codes(result, "info")
    assert cited(result, code) == "湘办法 第八条"
    message = next(r.message for r in result.reasons if r.code == code)
    assert ("示例" in message) is example
    assert result.allowed


def test_hunan_requirement_silent_without_purpose() -> None:
    assert not {c for c in codes(filing("hunan")) if c.startswith("filing_")}


@pytest.mark.parametrize(
    ("citation", "policy", "fields", "missing"),
    [
        # 湘办法 第十二条: same disease continued — filed directly, no new referral review
        ("湘办法 第十二条", "hunan", {"continued_treatment": True}, []),
        ("湘办法 第九条（四）", "hunan", {"referral_one_stop": True}, []),
        ("湘办法 第九条（四）", "hunan", {}, ["referral_certificate"]),
        # 苏: no such rule
        ("苏规程 第八条（四）", "jiangsu", {"continued_treatment": True}, ["referral_certificate"]),
    ],
)
def test_continued_treatment(
    citation: str, policy: str, fields: dict[str, Any], missing: list[str]
) -> None:
    result = filing(policy, category="referral", **fields)
    assert result.missing == missing
    if fields.get("continued_treatment") and policy == "hunan":
        assert cited(result, "continued_treatment") == citation
    elif missing:
        assert citation in cited(result, "materials_missing")


# ── 湘办法 第五十三条, 芜细则 三（一）: catalogue of a manual claim ───────────────────────────


@pytest.mark.parametrize(
    ("citation", "policy", "fields"),
    [
        ("湘办法 第五十三条", "hunan", {"filing": "long_term"}),
        ("湘办法 第五十三条", "hunan", {"filing": "other_temporary"}),
        ("湘办法 第十八条", "hunan", {"filing": "long_term", "scope": "in_province"}),
        ("湘办法 第十八条", "hunan", {"filing": "none"}),
        ("芜细则 三（一）", "wuhu", {"scope": "in_province"}),
        ("芜细则 五（一）", "wuhu", {"scope": "cross_province"}),
        ("苏规程 第十五条", "jiangsu", {"scope": "in_province"}),
    ],
)
def test_claim_catalogue(citation: str, policy: str, fields: dict[str, Any]) -> None:
    result = claim(policy, **fields)
    assert result.catalogue is not None
    assert result.catalogue.citation.startswith(citation)
    if citation in ("湘办法 第五十三条", "芜细则 三（一）"):
        assert cited(result, "catalogue") == citation
        assert "参保地" in result.catalogue.note or "本市" in result.catalogue.note


def test_wuhu_in_province_inpatient_uses_home_self_pay_ratio() -> None:
    result = claim("wuhu", scope="in_province")
    assert result.catalogue is not None
    assert "个人先行自付比例" in result.catalogue.note
    assert "本市" in result.catalogue.note


# ── 苏规程 第十七条 (second sentence), 湘办法 第二十一条, 芜细则 三（二） ─────────────────────


@pytest.mark.parametrize(
    ("citation", "policy", "fields", "ratio"),
    [
        # 苏 职工 三级 0.85; home referral policy −5 (example at the 第十八条 ceiling)
        ("苏规程 第十七条", "jiangsu", {}, "0.80"),
        # 湘 职工 三级 0.80; referral −5
        ("湘办法 第二十一条", "hunan", {}, "0.75"),
        # 芜 职工 三级 0.85; 跨省 referred −10, 省内 −8
        ("芜细则 三（二）", "wuhu", {}, "0.75"),
        ("芜细则 三（二）", "wuhu", {"scope": "in_province"}, "0.77"),
    ],
)
def test_long_term_referred_out(
    citation: str, policy: str, fields: dict[str, Any], ratio: str
) -> None:
    flags = {"referred_out": True}
    result = claim(policy, flags=flags, **fields)
    assert result.payment is not None
    assert result.payment.ratio == Decimal(ratio)
    assert cited(result, "long_term_referred") == citation
    home = claim(policy, **fields).payment
    assert home is not None and home.reduction_pp == 0  # in the filed place: home ratio


def test_beijing_long_term_referred_out_unchanged() -> None:
    """京: the seed sets no reduction; home parameters either way."""
    referred = claim("beijing", flags={"referred_out": True}).payment
    assert referred is not None and referred.reduction_pp == 0


# ── 补办 windows (苏规程 第十八条 “参保地规定时限”; example values) ────────────────────────────


@pytest.mark.parametrize(
    ("citation", "policy"),
    [
        ("苏规程 第十八条", "jiangsu"),
        ("京通知 一（四）", "beijing"),
        ("芜细则 五（一）", "wuhu"),
        ("湘办法 第十七条", "hunan"),
    ],
)
@pytest.mark.parametrize(
    ("start", "late"),
    [("2025-09-03", False), ("2025-09-02", True), ("2026-03-01", False)],
)
def test_retroactive_window(citation: str, policy: str, start: str, late: bool) -> None:
    """Six months (an example value) from the start; today is 2026-03-02.

    From 2025-09-03 the six months end 2026-03-02 (today: in time); from 2025-09-02 they
    ended 2026-03-01 (too late).
    """
    window = shipped_pack(policy).filing.retroactive_window
    assert window is not None
    assert window.example and window.months == 6 and window.citation == citation
    fields: dict[str, Any] = {"start_date": start}
    if policy == "beijing":
        fields["end_date"] = "2026-12-31"
    result = filing(policy, **fields)
    assert ("retroactive_too_late" in codes(result, "error")) is late
    if late:
        assert cited(result, "retroactive_too_late") == citation
        assert "示例" in next(r.message for r in result.reasons if r.code == "retroactive_too_late")
    else:
        assert "retroactive" in codes(result, "info")


# ── online-review deadlines (苏规程 第九条: 1 working day; 芜规程 第九条, 湘办法 第十条: 2) ───


def working_days_after(day: dt.date, count: int) -> dt.date:
    while count:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            count -= 1
    return day


@pytest.mark.parametrize(
    ("citation", "policy", "days"),
    [
        ("苏规程 第九条", "jiangsu", 1),
        ("芜规程 第九条", "wuhu", 2),
        ("湘办法 第十条", "hunan", 2),
        ("示例", "beijing", 2),
    ],
)
@pytest.mark.parametrize("received", ["2026-03-02", "2026-09-30", "2026-02-13"])
def test_online_review_due(citation: str, policy: str, days: int, received: str) -> None:
    fields: dict[str, Any] = {"today": received, "channel": "online"}
    if policy == "beijing":
        fields["end_date"] = "2026-12-31"
    review = filing(policy, **fields).online_review
    assert review is not None
    assert review.working_days == days
    assert citation in review.citation
    assert review.example is (policy == "beijing")
    assert review.due == working_days_after(dt.date.fromisoformat(received), days)
    at_counter = filing(policy, **{**fields, "channel": "counter"}).online_review
    assert at_counter is not None and at_counter.due is None and at_counter.working_days == days
