"""Filing rules (备案) of the four shipped policy packs, as a table of cited cases.

Every case names the article it rests on (the seeds in ``/work/shared/seeds`` are the authority;
``DOMAIN.md`` digests them) and asserts the engine's answer: the blocking reasons (exactly), the
checklist and what is missing, validity, locks, follow-up dates, destination and change mode.
Where a case says ``cited``, the engine's reason of that code must cite the case's article.

The reference day is Monday 2026-03-02, so:
  6 months from 2026-03-02 → valid until 2026-09-01 (inclusive), lock lifts 2026-09-02;
  12 months → 2027-03-01; 1 month (芜 follow-up) → 2026-04-01.
"""

from __future__ import annotations

from typing import Any

import pytest

from counter_app.domain.errors import InvalidInput
from counter_app.domain.idnumber import check_digit
from counter_app.domain.results import FilingResult
from counter_app.rules_engine import build_engine

POLICIES = ("jiangsu", "beijing", "wuhu", "hunan")
ID = "11010519491231002X"  # a valid 身份证号 (check digit X)
TODAY = "2026-03-02"

ID_CARD = "id_card"
FORM = "filing_form"
LETTER = "commitment_letter"


def request(policy: str, **fields: Any) -> dict[str, Any]:
    """A new cross-province filing to 深圳 (440300) for an employee; ``fields`` override."""
    base: dict[str, Any] = {
        "policy": policy,
        "action": "new",
        "today": TODAY,
        "person": {"name": "张三", "id_number": ID},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": [],
    }
    base.update(fields)
    return base


def existing(
    category: str = "long_term_resident",
    basis: str = "materials",
    valid_from: str = "2026-01-10",
    **fields: Any,
) -> dict[str, Any]:
    """An existing filing ``B1`` to 深圳 (the target of change/cancel cases)."""
    return {
        "id": "B1",
        "category": category,
        "basis": basis,
        "destination": "440300",
        "valid_from": valid_from,
        **fields,
    }


def decide(policy: str, **fields: Any) -> FilingResult:
    return build_engine(policy).filing(request(policy, **fields))


def check(citation: str, result: FilingResult, expect: dict[str, Any]) -> None:
    """Compare a result with a case's expectations (``errors`` defaults to none at all)."""
    data = result.model_dump(mode="json")
    errors = sorted(r.code for r in result.reasons if r.severity == "error")
    codes = {r.code for r in result.reasons}
    assert errors == sorted(expect.get("errors", [])), result.reasons
    assert result.allowed == (result.needs_filing and not errors)
    for key, value in expect.items():
        if key == "errors":
            continue
        if key == "notes":  # warnings and notices that must be present
            assert set(value) <= codes, result.reasons
        elif key == "absent":
            assert not set(value) & codes, result.reasons
        elif key == "groups":
            assert [item.group for item in result.checklist] == value
        elif key == "destination":
            assert data["destination"]["code"] == value
        elif key == "cited":
            reason = next(r for r in result.reasons if r.code == value)
            assert citation in reason.citation, (citation, reason.citation)
        else:
            assert data[key] == value, key


# (citation, policy, request fields, expectations)
CASES = [
    # ── 苏 materials: identity + category material, no 备案表 ──────────────────────────────
    pytest.param(
        "苏规程 第八条（一）",
        "jiangsu",
        {
            "category": "retired_resettled",
            "retired": True,
            "materials": [ID_CARD, "household_register", "residence_registration_card"],
        },
        {"complete": True, "missing": [], "groups": ["identity", "resettlement_proof"]},
        id="js-retired-household-register-and-card",
    ),
    pytest.param(
        "苏规程 第八条（一）",
        "jiangsu",
        {
            "category": "retired_resettled",
            "retired": True,
            "materials": [ID_CARD, "household_register"],
        },
        {
            "errors": ["materials_missing"],
            "missing": ["residence_registration_card"],
            "complete": False,
            "cited": "materials_missing",
        },
        id="js-retired-half-of-the-pair",
    ),
    pytest.param(
        "苏规程 第八条（一）",
        "jiangsu",
        {
            "category": "retired_resettled",
            "retired": True,
            "basis": "commitment",
            "materials": ["ss_card"],
        },
        {"errors": ["materials_missing"], "missing": [LETTER], "locked_until": "2026-09-02"},
        id="js-retired-commitment-basis-asks-for-the-letter",
    ),
    pytest.param(
        "苏规程 第八条（一）",
        "jiangsu",
        {
            "category": "retired_resettled",
            "retired": True,
            "basis": "commitment",
            "materials": ["ss_card", "household_register"],
        },
        # the option with the most items presented wins over the (first) 承诺书 option
        {"errors": ["materials_missing"], "missing": ["residence_registration_card"]},
        id="js-retired-commitment-basis-but-pair-started",
    ),
    pytest.param(
        "苏规程 第八条（一）",
        "jiangsu",
        {"category": "retired_resettled", "retired": True, "materials": [ID_CARD, LETTER]},
        # a 承诺书 counts only when the filing is made on a commitment
        {
            "errors": ["materials_missing"],
            "missing": ["household_register", "residence_registration_card"],
        },
        id="js-retired-letter-without-commitment-basis",
    ),
    pytest.param(
        "苏规程 第七条（一）",
        "jiangsu",
        {
            "category": "retired_resettled",
            "materials": [ID_CARD, "household_register", "residence_registration_card"],
        },
        {"errors": ["not_retired"], "complete": True, "cited": "not_retired"},
        id="js-retired-resettled-must-be-retired",
    ),
    pytest.param(
        "苏规程 第八条（二）",
        "jiangsu",
        {"category": "long_term_resident", "materials": ["e_voucher", "residence_proof"]},
        {
            "complete": True,
            "valid_until": None,
            "locked_until": None,
            "followup_due": None,
            "term": "long",
        },
        id="js-long-term-on-materials-not-locked",
    ),
    pytest.param(
        "苏规程 第八条（二）",
        "jiangsu",
        {"category": "long_term_resident", "materials": []},
        # nothing presented: first option of each group (医保电子凭证 listed first)
        {
            "errors": ["materials_missing"],
            "missing": ["e_voucher", "residence_proof"],
            "missing_labels": ["医保电子凭证", "居住证明"],
        },
        id="js-long-term-nothing-presented",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {"category": "long_term_resident", "basis": "commitment", "materials": [ID_CARD, LETTER]},
        {
            "complete": True,
            "valid_until": None,
            "locked_until": "2026-09-02",
            "followup_due": None,
        },
        id="js-long-term-on-commitment-locked-6-months",
    ),
    pytest.param(
        "苏规程 第八条（三）",
        "jiangsu",
        {"category": "posted_worker", "materials": [ID_CARD, "work_certificate"]},
        {"complete": True, "locked_until": None},
        id="js-posted-any-one-work-proof",
    ),
    pytest.param(
        "苏规程 第八条（三）",
        "jiangsu",
        {"category": "posted_worker", "materials": [ID_CARD]},
        {
            "errors": ["materials_missing"],
            "missing": ["dispatch_letter"],
            "cited": "materials_missing",
        },
        id="js-posted-no-proof-first-listed",
    ),
    pytest.param(
        "苏规程 第八条（三）",
        "jiangsu",
        {"category": "posted_worker", "basis": "commitment", "materials": [ID_CARD]},
        {"errors": ["materials_missing"], "missing": [LETTER]},
        id="js-posted-commitment-basis",
    ),
    pytest.param(
        "苏规程 第八条（四）",
        "jiangsu",
        {"category": "referral", "materials": [ID_CARD]},
        {"errors": ["materials_missing"], "missing": ["referral_certificate"]},
        id="js-referral-needs-certificate",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {"category": "referral", "materials": [ID_CARD, "referral_certificate"]},
        {"valid_from": TODAY, "valid_until": "2026-09-01", "term": "temporary"},
        id="js-referral-at-least-6-months",
    ),
    pytest.param(
        "苏规程 第八条（六）",
        "jiangsu",
        {"materials": ["ss_card"]},
        {"complete": True, "groups": ["identity"], "valid_until": "2026-09-01"},
        id="js-other-temporary-identity-only-no-form",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {"materials": [ID_CARD], "end_date": "2026-05-31"},
        {"valid_until": "2026-09-01", "notes": ["minimum_term"], "cited": "minimum_term"},
        id="js-temporary-shorter-end-extended-to-minimum",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {"materials": [ID_CARD], "end_date": "2027-03-01"},
        {"valid_until": "2027-03-01", "absent": ["minimum_term"]},
        id="js-temporary-longer-end-kept",
    ),
    pytest.param(
        "苏规程 第九条（一）",
        "jiangsu",
        {"by_agent": True, "materials": [ID_CARD]},
        {
            "errors": ["materials_missing"],
            "missing": ["agent_id"],
            "groups": ["identity", "agent"],
            "cited": "materials_missing",
        },
        id="js-agent-needs-own-id",
    ),
    pytest.param(
        "苏规程 第九条（一）",
        "jiangsu",
        {"by_agent": True, "materials": [ID_CARD, "agent_id"]},
        {"complete": True},
        id="js-agent-with-own-id",
    ),
    pytest.param(
        "苏规程 第八条（五）",
        "jiangsu",
        {"category": "emergency", "materials": []},
        {
            "needs_filing": False,
            "valid_from": None,
            "valid_until": None,
            "checklist": [],
            "notes": ["no_filing_needed"],
            "cited": "no_filing_needed",
        },
        id="js-emergency-deemed-filed",
    ),
    pytest.param(
        "苏规程 第十一条",
        "jiangsu",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "multi_place": True,
            "materials": [ID_CARD, LETTER],
        },
        {
            "errors": ["materials_missing", "multi_place_no_commitment"],
            "missing": ["residence_proof"],
            "cited": "multi_place_no_commitment",
        },
        id="js-multi-place-cannot-use-commitment",
    ),
    pytest.param(
        "苏规程 第十一条",
        "jiangsu",
        {
            "category": "long_term_resident",
            "multi_place": True,
            "destination": "310000",
            "materials": [ID_CARD, "residence_proof"],
            "existing": [existing()],
        },
        # a second place alongside the active 深圳 filing
        {"complete": True, "supersedes": []},
        id="js-multi-place-on-materials-beside-active-filing",
    ),
    pytest.param(
        "苏规程 第十三条",
        "jiangsu",
        {
            "category": "long_term_resident",
            "destination": "310000",
            "materials": [ID_CARD, "residence_proof"],
            "existing": [existing()],
        },
        {"errors": ["active_long_term"], "cited": "active_long_term"},
        id="js-active-long-term-blocks-new-long-term",
    ),
    pytest.param(
        "苏规程 第十三条",
        "jiangsu",
        {
            "category": "long_term_resident",
            "materials": [ID_CARD, "residence_proof"],
            "existing": [existing(status="cancelled")],
        },
        {"complete": True},
        id="js-cancelled-long-term-does-not-block",
    ),
    pytest.param(
        "苏规程 第十三条",
        "jiangsu",
        {
            "destination": "440305",  # 南山区 → 深圳市, same as the active filing
            "materials": [ID_CARD],
            "existing": [existing("other_temporary", valid_until="2026-06-30")],
        },
        {"errors": ["active_temporary"], "destination": "440300", "cited": "active_temporary"},
        id="js-duplicate-active-temporary",
    ),
    pytest.param(
        "苏规程 第十三条",
        "jiangsu",
        {
            "materials": [ID_CARD],
            "existing": [existing("other_temporary", valid_until="2026-03-01")],
        },
        {"complete": True},
        id="js-expired-temporary-does-not-block",
    ),
    pytest.param(
        "苏规程 第十三条",
        "jiangsu",
        {
            "destination": "310000",
            "materials": [ID_CARD],
            "existing": [existing("other_temporary", valid_until="2026-06-30")],
        },
        {"complete": True, "destination": "310000"},
        id="js-temporary-to-another-place",
    ),
    pytest.param(
        "苏规程 第十二条",
        "jiangsu",
        {"scope": "in_province", "destination": "320582", "materials": [ID_CARD]},
        # 张家港市 (county-level) → 苏州市
        {"destination": "320500", "absent": ["province_level_destination"]},
        id="js-county-normalised-to-city",
    ),
    pytest.param(
        "苏规程 第十二条",
        "jiangsu",
        {"destination": "110105", "materials": [ID_CARD]},
        {
            "destination": "110000",
            "notes": ["province_level_destination"],
            "cited": "province_level_destination",
        },
        id="js-beijing-district-to-municipality",
    ),
    pytest.param(
        "苏规程 第十二条",
        "jiangsu",
        {"destination": "460100", "materials": [ID_CARD]},
        {"destination": "460000", "notes": ["province_level_destination"]},
        id="js-haikou-filed-to-hainan",
    ),
    pytest.param(
        "苏规程 第十二条",
        "jiangsu",
        {"destination": "659001", "materials": [ID_CARD]},
        {"destination": "660000", "notes": ["province_level_destination"]},
        id="js-shihezi-filed-to-bingtuan",
    ),
    pytest.param(
        "苏规程 第二条",
        "jiangsu",
        {"destination": "320500", "materials": [ID_CARD]},
        {"errors": ["scope_mismatch"], "cited": "scope_mismatch"},
        id="js-in-province-place-filed-cross-province",
    ),
    pytest.param(
        "苏规程 第二条",
        "jiangsu",
        {"scope": "in_province", "materials": [ID_CARD]},
        {"errors": ["scope_mismatch"]},
        id="js-out-of-province-place-filed-in-province",
    ),
    pytest.param(
        "苏规程 第二条",
        "jiangsu",
        {"scope": "in_province", "destination": "320102", "materials": [ID_CARD]},
        # 玄武区 is in the home pool 南京市
        {
            "errors": ["destination_is_home"],
            "destination": "320100",
            "cited": "destination_is_home",
        },
        id="js-destination-is-home-pool",
    ),
    pytest.param(
        "苏规程 第二十五条",
        "jiangsu",
        {"start_date": "2026-02-20", "materials": [ID_CARD]},
        {
            "valid_from": "2026-02-20",
            "valid_until": "2026-08-19",
            "notes": ["retroactive"],
            "cited": "retroactive",
        },
        id="js-retroactive-start",
    ),
    # ── 苏 change / cancel: lock only for 承诺书 long-term filings ───────────────────────────
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "destination": None,
            "target": "B1",
            "today": "2026-07-09",
            "existing": [existing(basis="commitment")],
            "materials": [ID_CARD],
        },
        {"errors": ["locked"], "locked_until": "2026-07-10", "cited": "locked"},
        id="js-cancel-commitment-filing-before-6-months",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "destination": None,
            "target": "B1",
            "today": "2026-07-10",
            "existing": [existing(basis="commitment")],
            "materials": [ID_CARD],
        },
        {"locked_until": "2026-07-10", "valid_from": "2026-01-10", "valid_until": "2026-07-10"},
        id="js-cancel-commitment-filing-after-6-months",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "destination": None,
            "target": "B1",
            "today": "2026-01-11",
            "existing": [existing(basis="materials")],
            "materials": [ID_CARD],
        },
        {"locked_until": None, "valid_until": "2026-01-11"},
        id="js-cancel-materials-filing-any-time",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "today": "2026-02-28",
            "existing": [existing(basis="commitment", valid_from="2025-08-31")],
            "materials": [ID_CARD],
        },
        # six months from 2025-08-31 end on 2026-02-28 (no 02-31): 满6个月 from 2026-03-01
        {"errors": ["locked"], "locked_until": "2026-03-01"},
        id="js-change-commitment-filing-month-end-lock",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "today": "2026-03-01",
            "existing": [existing(basis="commitment", valid_from="2025-08-31")],
            "materials": [ID_CARD],
        },
        {"change_mode": "amend", "groups": ["identity"], "supersedes": []},
        id="js-change-commitment-filing-on-lock-day",
    ),
    pytest.param(
        "苏规程 第十条",
        "jiangsu",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "destination": "310000",
            "today": "2026-02-01",
            "existing": [existing()],
            "materials": [ID_CARD],
        },
        # moving needs the category's material again; 苏 amends, it does not refile
        {
            "errors": ["materials_missing"],
            "missing": ["residence_proof"],
            "change_mode": "amend",
            "supersedes": [],
            "locked_until": None,
        },
        id="js-change-destination-amends",
    ),
    # ── 京: 备案表 + 承诺书 for all but 转诊; in-province not applicable; refile ─────────────
    pytest.param(
        "京细则 第七条",
        "beijing",
        {"end_date": "2026-12-31", "materials": [ID_CARD, FORM, LETTER]},
        {
            "complete": True,
            "groups": ["identity", "filing_form", "commitment"],
            "valid_from": TODAY,
            "valid_until": "2026-12-31",
            "locked_until": None,
        },
        id="bj-temporary-form-and-letter-chosen-end",
    ),
    pytest.param(
        "京细则 第七条",
        "beijing",
        {"end_date": "2026-12-31", "materials": [ID_CARD, FORM]},
        {"errors": ["materials_missing"], "missing": [LETTER], "cited": "materials_missing"},
        id="bj-temporary-letter-mandatory-without-commitment-basis",
    ),
    pytest.param(
        "京细则 第七条",
        "beijing",
        {"end_date": "2026-12-31", "materials": [ID_CARD, LETTER]},
        {
            "errors": ["materials_missing"],
            "missing": [FORM],
            "missing_labels": ["北京市跨省异地就医登记备案表"],
        },
        id="bj-temporary-needs-filing-form",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {"end_date": "2026-04-15", "materials": [ID_CARD, FORM, LETTER]},
        # the person's choice stands, however short
        {"valid_until": "2026-04-15", "absent": ["minimum_term", "fixed_term"]},
        id="bj-temporary-short-chosen-end",
    ),
    pytest.param(
        "京细则 第七条",
        "beijing",
        {"category": "long_term_resident", "materials": [ID_CARD, FORM]},
        {"errors": ["materials_missing"], "missing": [LETTER]},
        id="bj-long-term-letter-mandatory",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {"category": "long_term_resident", "materials": [ID_CARD, FORM, LETTER]},
        {"complete": True, "valid_until": None, "locked_until": None, "followup_due": None},
        id="bj-long-term-no-end-no-lock",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "category": "posted_worker",
            "basis": "commitment",
            "end_date": "2028-12-31",
            "materials": [ID_CARD, FORM, LETTER],
        },
        {"valid_until": "2028-12-31", "locked_until": None, "followup_due": None},
        id="bj-long-term-on-commitment-chosen-end-no-lock-no-followup",
    ),
    pytest.param(
        "京细则 第八条",
        "beijing",
        {"category": "referral", "end_date": "2026-12-31", "materials": [ID_CARD, FORM]},
        # 转诊 is filed separately: the 承诺书 does not apply, the certificate does
        {
            "errors": ["materials_missing"],
            "missing": ["referral_certificate"],
            "groups": ["identity", "filing_form", "referral"],
        },
        id="bj-referral-without-letter",
    ),
    pytest.param(
        "京细则 第八条",
        "beijing",
        {
            "category": "referral",
            "basis": "commitment",
            "end_date": "2026-12-31",
            "materials": [ID_CARD, FORM, LETTER],
        },
        {
            "errors": ["commitment_not_allowed", "materials_missing"],
            "missing": ["referral_certificate"],
        },
        id="bj-referral-cannot-be-on-commitment",
    ),
    pytest.param(
        "京细则 第一条",
        "beijing",
        {
            "scope": "in_province",
            "destination": "110105",
            "end_date": "2026-12-31",
            "materials": [ID_CARD, FORM, LETTER],
        },
        {
            "errors": ["destination_is_home", "scope_not_applicable"],
            "cited": "scope_not_applicable",
        },
        id="bj-in-province-not-applicable",
    ),
    pytest.param(
        "京细则 第一条",
        "beijing",
        {"destination": "110108", "end_date": "2026-12-31", "materials": [ID_CARD, FORM, LETTER]},
        {"errors": ["destination_is_home"], "destination": "110000"},
        id="bj-district-is-home",
    ),
    pytest.param(
        "京细则 第九条",
        "beijing",
        {"destination": "659001", "end_date": "2026-12-31", "materials": [ID_CARD, FORM, LETTER]},
        {
            "destination": "660000",
            "notes": ["province_level_destination"],
            "cited": "province_level_destination",
        },
        id="bj-bingtuan-province-level",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "category": "long_term_resident",
            "destination": "310000",
            "materials": [ID_CARD, FORM, LETTER],
            "existing": [existing()],
        },
        {"supersedes": ["B1"], "notes": ["supersedes"], "cited": "supersedes"},
        id="bj-new-long-term-supersedes-active-one",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "destination": "310000",
            "existing": [existing(basis="commitment", valid_from="2026-02-20")],
            "materials": [ID_CARD, FORM, LETTER],
        },
        {
            "change_mode": "refile",
            "supersedes": ["B1"],
            "locked_until": None,
            "notes": ["refile"],
            "cited": "refile",
        },
        id="bj-change-destination-refiles",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "action": "change",
            "category": "long_term_resident",
            "insurance": "resident",
            "target": "B1",
            "existing": [existing(insurance="employee")],
            "materials": [ID_CARD, FORM],
        },
        {"change_mode": "refile", "supersedes": ["B1"]},
        id="bj-change-insurance-refiles",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "existing": [existing()],
            "materials": [ID_CARD, FORM],
        },
        {"change_mode": "amend", "supersedes": []},
        id="bj-change-address-amends",
    ),
    pytest.param(
        "京细则 第十条",
        "beijing",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "target": "B1",
            "today": "2026-02-21",
            "existing": [existing(basis="commitment", valid_from="2026-02-20")],
            "materials": [ID_CARD, FORM],
        },
        {"locked_until": None, "valid_until": "2026-02-21"},
        id="bj-no-lock-on-cancel",
    ),
    pytest.param(
        "京细则 第九条",
        "beijing",
        {
            "destination": "440305",
            "end_date": "2026-12-31",
            "materials": [ID_CARD, FORM, LETTER],
            "existing": [existing("other_temporary", valid_until="2026-06-30")],
        },
        {"errors": ["active_temporary"]},
        id="bj-duplicate-active-temporary",
    ),
    pytest.param(
        "京细则 第二十七条",
        "beijing",
        {"category": "emergency"},
        {
            "needs_filing": False,
            "checklist": [],
            "notes": ["no_filing_needed"],
            "cited": "no_filing_needed",
        },
        id="bj-emergency-deemed-filed",
    ),
    pytest.param(
        "国家22号文",
        "beijing",
        {"category": "retired_resettled", "materials": [ID_CARD, FORM, LETTER]},
        {"errors": ["not_retired"], "cited": "not_retired"},
        id="bj-retired-resettled-must-be-retired",
    ),
    # ── 芜: 备案表, 12 months, lock on every long-term, 1-month follow-up, eligibility ───────
    pytest.param(
        "芜规程 第八条",
        "wuhu",
        {"materials": [ID_CARD]},
        {
            "errors": ["materials_missing"],
            "missing": [FORM],
            "missing_labels": ["安徽省异地就医登记备案表"],
            "cited": "materials_missing",
        },
        id="wh-filing-form-required",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {"materials": [ID_CARD, FORM]},
        {"complete": True, "valid_until": "2027-03-01", "groups": ["identity", "filing_form"]},
        id="wh-temporary-12-months",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {"materials": [ID_CARD, FORM], "end_date": "2026-06-30"},
        {"valid_until": "2027-03-01", "notes": ["fixed_term"], "cited": "fixed_term"},
        id="wh-temporary-chosen-end-ignored",
    ),
    pytest.param(
        "芜规程 第八条（四）",
        "wuhu",
        {"category": "referral", "materials": [ID_CARD, FORM, "referral_certificate"]},
        {"complete": True, "valid_until": "2027-03-01"},
        id="wh-referral-12-months",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {"category": "long_term_resident", "materials": [ID_CARD, FORM, "residence_proof"]},
        {"complete": True, "valid_until": None, "locked_until": "2026-09-02", "followup_due": None},
        id="wh-long-term-on-materials-still-locked",
    ),
    pytest.param(
        "芜细则 三（二）",
        "wuhu",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "materials": [ID_CARD, FORM, LETTER],
        },
        {
            "complete": True,
            "locked_until": "2026-09-02",
            "followup_due": "2026-04-01",
            "notes": ["followup_due"],
            "cited": "followup_due",
        },
        id="wh-commitment-followup-1-month",
    ),
    pytest.param(
        "芜细则 三（二）",
        "wuhu",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "start_date": "2026-01-15",
            "materials": [ID_CARD, FORM, LETTER],
        },
        # 补办: the lock runs from the effect (2026-01-15 + 6 months, 芜规程 第十条), the
        # follow-up from the day the 承诺书 is signed (承诺之日起1个月: 2026-03-02 → 2026-04-01)
        {
            "valid_from": "2026-01-15",
            "locked_until": "2026-07-15",
            "followup_due": "2026-04-01",
            "notes": ["retroactive", "followup_due"],
            "cited": "followup_due",
        },
        id="wh-retroactive-commitment-followup-from-signing-day",
    ),
    pytest.param(
        "芜细则 三（二）",
        "wuhu",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "materials": [ID_CARD, FORM, LETTER],
            "existing": [existing(basis="commitment", valid_from="2025-06-01", status="cancelled")],
        },
        {"errors": ["commitment_yearly_limit"], "cited": "commitment_yearly_limit"},
        id="wh-commitment-once-a-year",
    ),
    pytest.param(
        "芜细则 三（二）",
        "wuhu",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "materials": [ID_CARD, FORM, LETTER],
            "existing": [existing(basis="commitment", valid_from="2025-03-01", status="cancelled")],
        },
        {"complete": True, "followup_due": "2026-04-01"},
        id="wh-commitment-more-than-a-year-ago",
    ),
    pytest.param(
        "芜细则 三（二）",
        "wuhu",
        {
            "category": "long_term_resident",
            "materials": [ID_CARD, FORM, "residence_proof"],
            "existing": [existing(basis="commitment", valid_from="2025-06-01", status="cancelled")],
        },
        {"complete": True, "followup_due": None},
        id="wh-materials-filing-not-limited-by-earlier-commitment",
    ),
    pytest.param(
        "芜细则 二（一）",
        "wuhu",
        {
            "category": "retired_resettled",
            "insurance": "resident",
            "retired": True,
            "materials": [ID_CARD, FORM, "household_register", "residence_registration_card"],
        },
        {"errors": ["resident_not_allowed"], "cited": "resident_not_allowed"},
        id="wh-resident-cannot-be-retired-resettled",
    ),
    pytest.param(
        "芜细则 二（一）",
        "wuhu",
        {
            "category": "posted_worker",
            "insurance": "resident",
            "has_employer": True,
            "materials": [ID_CARD, FORM, "dispatch_letter"],
        },
        {"errors": ["resident_not_allowed"]},
        id="wh-resident-cannot-be-posted-worker",
    ),
    pytest.param(
        "芜细则 二（一）",
        "wuhu",
        {
            "category": "long_term_resident",
            "insurance": "resident",
            "materials": [ID_CARD, FORM, "residence_proof"],
        },
        {"complete": True},
        id="wh-resident-may-be-long-term-resident",
    ),
    pytest.param(
        "芜规程 第七条（一）3",
        "wuhu",
        {
            "category": "long_term_resident",
            "has_employer": True,
            "materials": [ID_CARD, FORM, "residence_proof"],
        },
        {"errors": ["employer_not_long_term"], "cited": "employer_not_long_term"},
        id="wh-employee-with-employer-not-long-term-resident",
    ),
    pytest.param(
        "芜规程 第七条（一）3",
        "wuhu",
        {"category": "posted_worker", "materials": [ID_CARD, FORM, "labor_contract"]},
        {"errors": ["not_posted"], "cited": "not_posted"},
        id="wh-posted-worker-needs-employer",
    ),
    pytest.param(
        "芜规程 第七条（一）3",
        "wuhu",
        {
            "category": "posted_worker",
            "has_employer": True,
            "materials": [ID_CARD, FORM, "labor_contract"],
        },
        {"complete": True, "locked_until": "2026-09-02"},
        id="wh-posted-worker-with-employer",
    ),
    pytest.param(
        "芜规程 第七条（一）1",
        "wuhu",
        {
            "category": "retired_resettled",
            "materials": [ID_CARD, FORM, "household_register", "residence_registration_card"],
        },
        {"errors": ["not_retired"], "cited": "not_retired"},
        id="wh-retired-resettled-must-be-retired",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "target": "B1",
            "today": "2026-07-09",
            "existing": [existing(basis="materials")],
            "materials": [ID_CARD, FORM],
        },
        {"errors": ["locked"], "locked_until": "2026-07-10", "cited": "locked"},
        id="wh-cancel-materials-filing-before-6-months",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {
            "action": "change",
            "category": "long_term_resident",
            "target": "B1",
            "destination": "310000",
            "today": "2026-07-10",
            "existing": [existing(basis="materials")],
            "materials": [ID_CARD, FORM, "residence_proof"],
        },
        {"change_mode": "amend", "locked_until": "2026-07-10", "supersedes": []},
        id="wh-change-after-6-months",
    ),
    pytest.param(
        "芜规程 第十条",
        "wuhu",
        {
            "action": "cancel",
            "category": "other_temporary",
            "target": "B1",
            "today": "2026-01-11",
            "existing": [existing("other_temporary", valid_until="2027-01-09")],
            "materials": [ID_CARD, FORM],
        },
        {"locked_until": None},
        id="wh-temporary-filing-not-locked",
    ),
    pytest.param(
        "芜规程 第十二条",
        "wuhu",
        {
            "category": "posted_worker",
            "has_employer": True,
            "destination": "310000",
            "materials": [ID_CARD, FORM, "labor_contract"],
            "existing": [existing()],
        },
        {"errors": ["active_long_term"]},
        id="wh-active-long-term-blocks-new-long-term",
    ),
    pytest.param(
        "芜规程 第十二条",
        "wuhu",
        {
            "destination": "440304",
            "materials": [ID_CARD, FORM],
            "existing": [existing("referral", valid_until="2027-01-09")],
        },
        {"errors": ["active_temporary"]},
        id="wh-duplicate-active-temporary",
    ),
    pytest.param(
        "芜规程 第十一条",
        "wuhu",
        {"destination": "469001", "materials": [ID_CARD, FORM]},
        # 五指山市 (a county-level city of 海南) → 海南省
        {
            "destination": "460000",
            "notes": ["province_level_destination"],
            "cited": "province_level_destination",
        },
        id="wh-hainan-county-to-province",
    ),
    pytest.param(
        "芜规程 第二条",
        "wuhu",
        {"destination": "340104", "materials": [ID_CARD, FORM]},
        {"errors": ["scope_mismatch"], "destination": "340100"},
        id="wh-hefei-is-in-province",
    ),
    pytest.param(
        "芜规程 第二条",
        "wuhu",
        {"scope": "in_province", "destination": "340202", "materials": [ID_CARD, FORM]},
        {"errors": ["destination_is_home"], "destination": "340200"},
        id="wh-jinghu-is-home",
    ),
    pytest.param(
        "芜规程 第八条（五）",
        "wuhu",
        {"category": "emergency"},
        {
            "needs_filing": False,
            "checklist": [],
            "notes": ["no_filing_needed"],
            "cited": "no_filing_needed",
        },
        id="wh-emergency-deemed-filed",
    ),
    # ── 湘: 备案表, 6 months fixed, one-stop referral, 6-month follow-up, no lock ───────────
    pytest.param(
        "湘办法 第九条（六）",
        "hunan",
        {"materials": ["e_voucher"]},
        {
            "errors": ["materials_missing"],
            "missing": [FORM],
            "missing_labels": ["湖南省异地就医登记备案表"],
        },
        id="hn-filing-form-required",
    ),
    pytest.param(
        "湘办法 第十三条",
        "hunan",
        {"materials": [ID_CARD, FORM]},
        {"complete": True, "valid_until": "2026-09-01"},
        id="hn-temporary-6-months",
    ),
    pytest.param(
        "湘办法 第十三条",
        "hunan",
        {"materials": [ID_CARD, FORM], "end_date": "2027-01-01"},
        {"valid_until": "2026-09-01", "notes": ["fixed_term"], "cited": "fixed_term"},
        id="hn-temporary-chosen-end-ignored",
    ),
    pytest.param(
        "湘办法 第九条（四）",
        "hunan",
        {"category": "referral", "materials": [ID_CARD, FORM]},
        {
            "errors": ["materials_missing"],
            "missing": ["referral_certificate"],
            "cited": "materials_missing",
        },
        id="hn-referral-needs-certificate",
    ),
    pytest.param(
        "湘办法 第九条（四）",
        "hunan",
        {"category": "referral", "referral_one_stop": True, "materials": [ID_CARD, FORM]},
        {"complete": True, "groups": ["identity", "filing_form"], "valid_until": "2026-09-01"},
        id="hn-referral-one-stop-waives-certificate",
    ),
    pytest.param(
        "湘办法 第二十二条",
        "hunan",
        {
            "category": "long_term_resident",
            "basis": "commitment",
            "materials": [ID_CARD, FORM, LETTER],
        },
        {
            "complete": True,
            "locked_until": None,
            "followup_due": "2026-09-01",
            "notes": ["followup_due"],
            "cited": "followup_due",
        },
        id="hn-commitment-followup-6-months-no-lock",
    ),
    pytest.param(
        "湘办法 第十三条",
        "hunan",
        {"category": "posted_worker", "materials": [ID_CARD, FORM, "dispatch_letter"]},
        {"complete": True, "valid_until": None, "locked_until": None, "followup_due": None},
        id="hn-long-term-on-materials",
    ),
    pytest.param(
        "湘办法 第十六条",
        "hunan",
        {
            "action": "cancel",
            "category": "long_term_resident",
            "target": "B1",
            "today": "2026-01-11",
            "existing": [existing(basis="commitment")],
            "materials": [ID_CARD, FORM],
        },
        {"locked_until": None, "valid_until": "2026-01-11"},
        id="hn-cancel-commitment-filing-any-time",
    ),
    pytest.param(
        "湘办法 第七条（一）",
        "hunan",
        {
            "category": "retired_resettled",
            "materials": [ID_CARD, FORM, "household_register", "residence_registration_card"],
        },
        {"errors": ["not_retired"], "cited": "not_retired"},
        id="hn-retired-resettled-must-be-retired",
    ),
    pytest.param(
        "湘办法 第十四条",
        "hunan",
        {
            "category": "long_term_resident",
            "destination": "310000",
            "materials": [ID_CARD, FORM, "residence_proof"],
            "existing": [existing()],
        },
        {"errors": ["active_long_term"], "cited": "active_long_term"},
        id="hn-active-long-term-blocks-new-long-term",
    ),
    pytest.param(
        "湘办法 第十五条",
        "hunan",
        {"scope": "in_province", "destination": "430602", "materials": [ID_CARD, FORM]},
        # 岳阳楼区 → 岳阳市 (省内备案到市州)
        {"complete": True, "destination": "430600"},
        id="hn-in-province-to-city",
    ),
    pytest.param(
        "湘办法 第十五条",
        "hunan",
        {"destination": "540102", "materials": [ID_CARD, FORM]},
        {
            "destination": "540000",
            "notes": ["province_level_destination"],
            "cited": "province_level_destination",
        },
        id="hn-tibet-district-to-province",
    ),
    pytest.param(
        "湘办法 第二条",
        "hunan",
        {"scope": "in_province", "destination": "430104", "materials": [ID_CARD, FORM]},
        {"errors": ["destination_is_home"], "destination": "430100"},
        id="hn-yuelu-is-home",
    ),
    pytest.param(
        "湘办法 第二条",
        "hunan",
        {"destination": "430600", "materials": [ID_CARD, FORM]},
        {"errors": ["scope_mismatch"]},
        id="hn-yueyang-is-in-province",
    ),
    pytest.param(
        "湘办法 第十七条",
        "hunan",
        {"start_date": "2026-01-15", "materials": [ID_CARD, FORM]},
        {
            "valid_from": "2026-01-15",
            "valid_until": "2026-07-14",
            "notes": ["retroactive"],
            "cited": "retroactive",
        },
        id="hn-retroactive-start",
    ),
    pytest.param(
        "湘办法 第九条（五）",
        "hunan",
        {"category": "emergency"},
        {
            "needs_filing": False,
            "checklist": [],
            "notes": ["no_filing_needed"],
            "cited": "no_filing_needed",
        },
        id="hn-emergency-deemed-filed",
    ),
]


@pytest.mark.parametrize(("citation", "policy", "fields", "expect"), CASES)
def test_filing_rule(
    citation: str, policy: str, fields: dict[str, Any], expect: dict[str, Any]
) -> None:
    check(citation, decide(policy, **fields), expect)


def test_every_case_names_a_citation_of_its_region() -> None:
    prefixes = {"jiangsu": "苏规程", "beijing": "京", "wuhu": "芜", "hunan": "湘办法"}
    for case in CASES:
        citation, policy = case.values[0], case.values[1]
        assert citation.startswith(prefixes[policy]) or citation == "国家22号文", case.id


# ── the four regions side by side: they differ exactly where the seeds do ────────────────────


def _project(result: FilingResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    return {
        "form_needed": "filing_form" in [item.group for item in result.checklist],
        "missing": data["missing"],
        "valid_until": data["valid_until"],
        "locked_until": data["locked_until"],
        "followup_due": data["followup_due"],
        "destination": data["destination"]["code"],
        "valid_from": data["valid_from"],
        "term": data["term"],
        "needs_filing": data["needs_filing"],
    }


SAME = {"destination": "440300", "valid_from": TODAY, "needs_filing": True}


def test_temporary_filing_across_regions() -> None:
    """The same 其他临时外出 request (end date chosen 2026-12-31) in the four packs.

    备案表: 苏 no (苏规程 第八条（六）); 京/芜/湘 yes (京细则 第七条, 芜规程 第八条（六）,
    湘办法 第九条（六）).
    Validity: 苏 ≥ 6 months so the chosen end stands (苏规程 第十条); 京 chosen (京细则 第十条);
    芜 12 months fixed (芜规程 第十条); 湘 6 months fixed (湘办法 第十三条).
    """
    fields = {"end_date": "2026-12-31", "materials": [ID_CARD, LETTER]}
    got = {p: _project(decide(p, **fields)) for p in POLICIES}
    expected = {
        "jiangsu": (False, [], "2026-12-31"),
        "beijing": (True, [FORM], "2026-12-31"),
        "wuhu": (True, [FORM], "2027-03-01"),
        "hunan": (True, [FORM], "2026-09-01"),
    }
    for policy, (form, missing, until) in expected.items():
        assert got[policy] == {
            **SAME,
            "form_needed": form,
            "missing": missing,
            "valid_until": until,
            "locked_until": None,
            "followup_due": None,
            "term": "temporary",
        }, policy


def test_long_term_commitment_filing_across_regions() -> None:
    """A 承诺书 long-term filing: lock 苏/芜 6 months (苏规程 第十条, 芜规程 第十条), none in 京/湘;
    follow-up 芜 1 month (芜细则 三（二）), 湘 6 months (湘办法 第二十二条), none in 苏/京."""
    fields = {
        "category": "long_term_resident",
        "basis": "commitment",
        "materials": [ID_CARD, FORM, LETTER],
    }
    got = {p: _project(decide(p, **fields)) for p in POLICIES}
    expected = {
        "jiangsu": (False, "2026-09-02", None),
        "beijing": (True, None, None),
        "wuhu": (True, "2026-09-02", "2026-04-01"),
        "hunan": (True, None, "2026-09-01"),
    }
    for policy, (form, lock, followup) in expected.items():
        assert got[policy] == {
            **SAME,
            "form_needed": form,
            "missing": [],
            "valid_until": None,
            "locked_until": lock,
            "followup_due": followup,
            "term": "long",
        }, policy


def test_long_term_materials_filing_across_regions() -> None:
    """On 认定材料 only 芜 still locks (芜规程 第十条: 长期 regardless of basis); 京 has no
    材料 option at all, the 承诺书 is what it asks for (京细则 第七条)."""
    fields = {"category": "long_term_resident", "materials": [ID_CARD, FORM, "residence_proof"]}
    got = {p: _project(decide(p, **fields)) for p in POLICIES}
    assert {p: g["locked_until"] for p, g in got.items()} == {
        "jiangsu": None,
        "beijing": None,
        "wuhu": "2026-09-02",
        "hunan": None,
    }
    assert {p: g["missing"] for p, g in got.items()} == {
        "jiangsu": [],
        "beijing": [LETTER],
        "wuhu": [],
        "hunan": [],
    }
    assert all(g["followup_due"] is None and g["valid_until"] is None for g in got.values())


@pytest.mark.parametrize("policy", POLICIES)
def test_emergency_never_creates_a_filing(policy: str) -> None:
    result = decide(policy, category="emergency", destination=None, materials=[ID_CARD])
    assert (result.needs_filing, result.allowed, result.complete) == (False, False, True)
    assert (result.valid_from, result.valid_until, result.locked_until) == (None, None, None)
    assert [r.code for r in result.reasons] == ["no_filing_needed"]


@pytest.mark.parametrize("policy", POLICIES)
def test_agent_id_needed_everywhere(policy: str) -> None:
    """代办 needs the agent's own ID (苏规程 第九条（一）; other packs follow it as an example)."""
    base = [ID_CARD, FORM, LETTER]
    fields = {"by_agent": True, "end_date": "2026-12-31"}
    assert decide(policy, materials=base, **fields).missing == ["agent_id"]
    assert decide(policy, materials=[*base, "agent_id"], **fields).missing == []
    assert "agent" not in [
        i.group for i in decide(policy, materials=base, end_date="2026-12-31").checklist
    ]


# ── invalid input: every bad field is named ──────────────────────────────────────────────────


def _fields(policy: str, **fields: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        decide(policy, **fields)
    return [e.field for e in caught.value.errors]


@pytest.mark.parametrize("action", ["new", "change"])
@pytest.mark.parametrize("category", ["other_temporary", "referral"])
def test_beijing_temporary_needs_chosen_end_date(category: str, action: str) -> None:
    """京细则 第十条: the person picks the end date; without it the request cannot be decided.

    A change re-states the filing too, so it may not leave a temporary filing without an end.
    """
    target = {"target": "B1", "existing": [existing(category, valid_until="2026-06-30")]}
    fields = {"category": category, "action": action, "materials": [ID_CARD, FORM], **target}
    assert _fields("beijing", **fields) == ["end_date"]
    result = decide("beijing", end_date="2026-10-31", **fields)
    assert result.valid_until is not None and result.valid_until.isoformat() == "2026-10-31"
    assert result.change_mode == ("amend" if action == "change" else None)


def test_beijing_cancel_needs_no_end_date() -> None:
    target = {"target": "B1", "existing": [existing("other_temporary", valid_until="2026-06-30")]}
    result = decide("beijing", action="cancel", materials=[ID_CARD, FORM], **target)
    assert result.allowed and str(result.valid_until) == TODAY


def test_beijing_long_term_needs_no_end_date() -> None:
    result = decide("beijing", category="long_term_resident", materials=[ID_CARD, FORM, LETTER])
    assert result.valid_until is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"destination": None}, ["destination"]),
        ({"destination": "999999"}, ["destination"]),
        ({"destination": "4403"}, ["destination"]),
        ({"destination": "440000"}, ["destination"]),  # 广东 is filed by city
        ({"start_date": "2026-03-10", "end_date": "2026-03-09"}, ["end_date"]),
        ({"materials": [ID_CARD, "passport"]}, ["materials[1]"]),
        ({"person": {"name": "张三", "id_number": "110105194912310021"}}, ["person.id_number"]),
        ({"action": "change"}, ["target"]),
        ({"action": "cancel", "target": "B9", "existing": [existing()]}, ["target"]),
        ({"home_pool": "999999"}, ["home_pool"]),
        ({"today": "2026-02-30"}, ["today"]),
        ({"today": "9999-12-31"}, ["today"]),
        ({"category": "tourist"}, ["category"]),
        ({"existing": [existing(valid_until="2025-01-01")]}, ["existing[0].valid_until"]),
        (
            {
                "destination": "999999",
                "materials": ["x"],
                "person": {"name": "张三", "id_number": "1"},
            },
            ["person.id_number", "materials[0]", "destination"],
        ),
    ],
)
def test_invalid_filing_input_names_fields(fields: dict[str, Any], expected: list[str]) -> None:
    assert _fields("jiangsu", **fields) == expected


def test_valid_id_with_computed_check_digit() -> None:
    number = "34020219900101123"
    number += check_digit(number)
    result = decide("jiangsu", person={"name": "李四", "id_number": number}, materials=[ID_CARD])
    assert result.allowed
    assert result.id_masked == number[:6] + "*" * 8 + number[-4:]


def test_policy_of_request_must_match_pack() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_engine("jiangsu").filing(request("hunan", materials=[ID_CARD]))
    assert [e.field for e in caught.value.errors] == ["policy"]
