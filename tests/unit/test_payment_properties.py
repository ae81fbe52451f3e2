"""Property tests: the settlement slip always adds up, and junk input never crashes the engine.

Slip identities (苏 附件9, 京 附件13), to the cent, for any valid claim in any region:
    总费用 = 统筹基金支付范围内费用 + 乙类先行自付费用 + 超限价自付费用 + 自费费用
    总费用 = 基金支付合计金额 + 个人现金支付金额
"""

from __future__ import annotations

import datetime as dt
import json
import string
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter_app.domain.errors import InvalidInput
from counter_app.domain.results import ClaimResult, FilingResult
from counter_app.rules_engine import build_engine

POLICIES = ("jiangsu", "beijing", "wuhu", "hunan")
CENT = Decimal("0.01")
MAX_CENTS = 999_999_999  # 9,999,999.99 元


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


@st.composite
def slip_amounts(draw: st.DrawFn) -> dict[str, str]:
    """A total of 0.01 … 9,999,999.99 split into the four slip categories (any may be 0)."""
    total = draw(st.integers(1, MAX_CENTS))
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=3, max_size=3)))
    parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], total - cuts[2]]
    order = draw(st.permutations(parts))
    names = ("in_scope", "class_b_self", "over_limit_self", "self_pay")
    return {"total": money(total), **{n: money(v) for n, v in zip(names, order, strict=True)}}


ytd_amounts = st.fixed_dictionaries(
    {},
    optional={
        "deductible_paid": st.integers(0, MAX_CENTS).map(money),
        "fund_paid": st.integers(0, MAX_CENTS).map(money),
        "above_cap_paid": st.integers(0, MAX_CENTS).map(money),
    },
)


@st.composite
def valid_claims(draw: st.DrawFn) -> dict[str, Any]:
    policy = draw(st.sampled_from(POLICIES))
    treatment = draw(st.sampled_from(["inpatient", "outpatient", "emergency", "maternity"]))
    start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)))
    stay = draw(st.integers(0, 400))
    end = start + dt.timedelta(days=stay)
    dates: dict[str, str] = {}
    if treatment == "inpatient" or draw(st.booleans()):
        dates = {"admission_date": start.isoformat(), "discharge_date": end.isoformat()}
    else:
        dates = {"visit_date": start.isoformat()}
    modes = build_engine(policy).pack.payment.cross_year.modes
    return {
        "policy": policy,
        "today": (end + dt.timedelta(days=draw(st.integers(0, 60)))).isoformat(),
        "insurance": draw(st.sampled_from(["employee", "resident"])),
        # 京细则 第一条: a 北京 claim is 跨省 only (in_province is refused, not paid)
        "scope": "cross_province"
        if policy == "beijing"
        else draw(st.sampled_from(["cross_province", "in_province"])),
        "filing": draw(
            st.sampled_from(["long_term", "referral", "other_temporary", "emergency", "none"])
        ),
        "treatment": treatment,
        "hospital_level": draw(st.integers(1, 3)),
        "special": draw(st.booleans()),
        "flags": {
            "injury_no_third_party": draw(st.booleans()),
            "rescue": draw(st.booleans()),
        },
        "amounts": draw(slip_amounts()),
        "ytd": draw(ytd_amounts),
        "ytd_previous": draw(ytd_amounts),
        "cross_year": draw(st.sampled_from([None, *modes])),
        **dates,
    }


def is_cents(value: Decimal) -> bool:
    return value.as_tuple().exponent == -2 and value == value.quantize(CENT)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_claims())
def test_slip_identities_hold_to_the_cent(request: dict[str, Any]) -> None:
    result = build_engine(request["policy"]).claim(request)
    payment = result.payment
    assert payment is not None, result.reasons
    amounts = {k: Decimal(v) for k, v in request["amounts"].items()}
    total = amounts["total"]
    parts = (
        amounts["in_scope"]
        + amounts["class_b_self"]
        + amounts["over_limit_self"]
        + amounts["self_pay"]
    )
    assert total == parts
    assert total == payment.fund_total + payment.personal_cash
    assert payment.fund_total == sum((f.amount for f in payment.funds), Decimal(0))
    assert all(payment.identities.values())
    assert all(f.amount >= 0 for f in payment.funds)
    assert payment.personal_cash >= 0
    assert payment.fund_total <= amounts["in_scope"]
    assert 0 <= payment.deductible <= amounts["in_scope"]
    # the funds (保底 included) never pay any of the 起付 the person owes
    assert payment.fund_total <= amounts["in_scope"] - payment.deductible
    money_fields = [payment.fund_total, payment.personal_cash, payment.deductible]
    money_fields += [f.amount for f in payment.funds]
    for segment in payment.segments:
        assert segment.total == segment.fund_total + segment.personal_cash
        assert 0 <= segment.fund_total <= segment.in_scope - segment.deductible
        assert segment.personal_cash >= 0
        money_fields += [segment.total, segment.in_scope, segment.fund_total, segment.personal_cash]
    if payment.segments:
        assert sum((s.total for s in payment.segments), Decimal(0)) == total
        assert sum((s.fund_total for s in payment.segments), Decimal(0)) == payment.fund_total
        assert (
            sum(s.days for s in payment.segments)
            == (
                dt.date.fromisoformat(request["discharge_date"])
                - dt.date.fromisoformat(request["admission_date"])
            ).days
        )
    assert all(is_cents(v) for v in money_fields), money_fields
    assert 0 <= payment.ratio <= 1


# ── junk input: InvalidInput or a decision, never anything else ─────────────────────────────

VALID_FILING: dict[str, Any] = {
    "policy": "wuhu",
    "action": "new",
    "today": "2026-03-02",
    "person": {"name": "张三", "id_number": "11010519491231002X"},
    "insurance": "employee",
    "scope": "cross_province",
    "category": "long_term_resident",
    "destination": "440300",
    "basis": "commitment",
    "materials": ["id_card", "filing_form", "commitment_letter"],
    "existing": [
        {
            "id": "B1",
            "category": "long_term_resident",
            "basis": "commitment",
            "destination": "440300",
            "valid_from": "2025-06-01",
        }
    ],
    "target": "B1",
}
VALID_CLAIM: dict[str, Any] = {
    "policy": "beijing",
    "today": "2026-01-20",
    "insurance": "resident",
    "scope": "cross_province",
    "filing": "none",
    "treatment": "inpatient",
    "hospital_level": 2,
    "admission_date": "2025-12-27",
    "discharge_date": "2026-01-11",
    "materials": ["id_card", "invoice"],
    "flags": {"rescue": True},
    "amounts": {"total": "1000.00", "in_scope": "900.00", "self_pay": "100.00"},
    "ytd": {"fund_paid": "10.00"},
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
bad_dates = st.sampled_from(
    ["2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "0001-01-01", "2026/03/02", "", "今天"]
) | st.dates().map(dt.date.isoformat)
python_objects = st.one_of(
    st.from_type(dt.date),
    st.from_type(dt.datetime),
    st.from_type(Decimal),
    st.from_type(int),
    st.from_type(bytes),
    st.from_type(complex),
    st.from_type(tuple),
)
digits = st.text(alphabet=string.digits + "X٠١٢３", min_size=0, max_size=20)
sane_dates = st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat)
cents = st.integers(0, MAX_CENTS).map(money)
MATERIAL_IDS = [m.id for m in build_engine("jiangsu").materials()]

#: Values a field may plausibly take (valid ones, or nearly), so mutations reach deep rules.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "policy": st.sampled_from(POLICIES),
    "action": st.sampled_from(["new", "change", "cancel"]),
    "category": st.sampled_from(
        [
            "retired_resettled",
            "long_term_resident",
            "posted_worker",
            "referral",
            "emergency",
            "other_temporary",
        ]
    ),
    "insurance": st.sampled_from(["employee", "resident"]),
    "scope": st.sampled_from(["cross_province", "in_province"]),
    "basis": st.sampled_from(["materials", "commitment"]),
    "status": st.sampled_from(["active", "cancelled", "expired", "superseded"]),
    "destination": st.sampled_from(
        ["440300", "440305", "320500", "110105", "460100", "659001", "340202", "430602", "999999"]
    ),
    "home_pool": st.sampled_from(["320100", "340200", "110000", "430100", "460000", "12345"]),
    "target": st.sampled_from(["B1", "B2", ""]),
    "id": st.sampled_from(["B1", "B2"]),
    "materials": st.lists(st.sampled_from([*MATERIAL_IDS, "bogus"]), max_size=6),
    "filing": st.sampled_from(["long_term", "referral", "other_temporary", "emergency", "none"]),
    "treatment": st.sampled_from(["inpatient", "outpatient", "emergency", "maternity"]),
    "case": st.sampled_from(
        [None, "filed_not_settled", "emergency_unfiled", "student_vacation", "maternity", "other"]
    ),
    "cross_year": st.sampled_from([None, "lump", "split"]),
    "hospital_level": st.integers(0, 4),
    **{
        name: st.booleans()
        for name in (
            "by_agent",
            "multi_place",
            "has_employer",
            "retired",
            "referral_one_stop",
            "designated",
            "special",
            "injury_no_third_party",
            "rescue",
            "died",
            "dual_channel",
            "outside_drugs",
        )
    },
    **{
        name: sane_dates | st.none()
        for name in (
            "today",
            "start_date",
            "end_date",
            "valid_from",
            "valid_until",
            "admission_date",
            "discharge_date",
            "visit_date",
        )
    },
    **{
        name: cents
        for name in (
            "total",
            "in_scope",
            "class_b_self",
            "over_limit_self",
            "self_pay",
            "deductible_paid",
            "fund_paid",
            "above_cap_paid",
        )
    },
}


def truncations(value: Any) -> st.SearchStrategy[Any]:
    """A valid value cut short (strings and JSON text), or the value itself."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return st.integers(0, len(text)).map(lambda n: text[:n])


def junk_for(key: str, value: Any) -> st.SearchStrategy[Any]:
    options = [json_values, bad_dates, python_objects, digits, truncations(value)]
    if isinstance(value, dict):
        options.append(mutated(value))
    if isinstance(value, list) and value and isinstance(value[0], dict):
        options.append(st.lists(mutated(value[0]), max_size=3))
    if key in PLAUSIBLE:  # listed first: shrinks towards plausible values
        options.insert(0, PLAUSIBLE[key])
    return st.one_of(options)


def mutated(valid: dict[str, Any], optional: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """The valid request with some keys dropped, some replaced by junk or by other plausible
    values, some ``optional`` fields added, and now and then unknown keys."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in [*valid, *optional]:
            choice = draw(st.sampled_from(["keep"] * 6 + ["drop", "junk", "plausible"]))
            if choice == "keep" and key in valid:
                result[key] = valid[key]
            elif choice == "junk" and key in valid:
                result[key] = draw(junk_for(key, valid[key]))
            elif choice == "plausible" and key in PLAUSIBLE:
                result[key] = draw(PLAUSIBLE[key])
        if draw(st.integers(0, 9)) == 0:
            result.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
        return result

    return build()


FILING_OPTIONAL = (
    "start_date",
    "end_date",
    "home_pool",
    "by_agent",
    "multi_place",
    "has_employer",
    "retired",
    "referral_one_stop",
)
CLAIM_OPTIONAL = ("visit_date", "designated", "special", "case", "cross_year")


def decides_or_refuses(engine_call: Any, data: Any, kind: type) -> None:
    try:
        result = engine_call(data)
    except InvalidInput as exc:
        assert exc.errors, "InvalidInput must name at least one field"
        assert all(e.field and e.message for e in exc.errors)
        return
    assert isinstance(result, kind)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(VALID_FILING, FILING_OPTIONAL), json_values, python_objects))
def test_junk_filing_input_is_refused_cleanly(data: Any) -> None:
    decides_or_refuses(build_engine("wuhu").filing, data, FilingResult)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(VALID_CLAIM, CLAIM_OPTIONAL), json_values, python_objects))
def test_junk_claim_input_is_refused_cleanly(data: Any) -> None:
    decides_or_refuses(build_engine("beijing").claim, data, ClaimResult)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(POLICIES),
    mutated({**VALID_FILING, "action": "change", "end_date": "2026-12-31"}, FILING_OPTIONAL),
)
def test_junk_filing_in_every_region(policy: str, data: dict[str, Any]) -> None:
    data = {**data, "policy": policy}
    decides_or_refuses(build_engine(policy).filing, data, FilingResult)


def test_the_valid_bases_are_decided() -> None:
    """The junk is made from requests that are themselves valid (so mutations reach deep)."""
    assert isinstance(build_engine("wuhu").filing(VALID_FILING), FilingResult)
    assert build_engine("beijing").claim(VALID_CLAIM).payment is not None
