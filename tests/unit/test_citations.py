"""Every citation says what the reason claims: a table of article → topics, read from the seeds.

For a sweep of filing and claim requests in the four regions, every reason, checklist line,
ratio row and fund line is mapped to the topic it claims (``not_designated``, ``lock`` …); each
article its citation names must be one whose text is about that topic. A citation that is an
example (``示例：…``, ``参照…``) names no article of the region and must say so.

The table (``TOPICS``) is written from the seed texts (../shared/seeds/): e.g. 湘办法 第六条 is
about the 就医地目录、参保地政策 service and not about funds; 京细则 第八条 is 特殊病, not 转诊;
芜规程 第七条（二）2 defines 学生, it is not a 零星报销 case; 苏规程 第十八条 gives the 转诊 (≤5)
and 未备案 (≤20) reductions and the 补办 window, not a −10 for other temporary visitors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from counter_app.domain.errors import InvalidInput
from counter_app.domain.results import ClaimResult, FilingResult
from counter_app.rules_engine import build_engine

POLICIES = ("jiangsu", "beijing", "wuhu", "hunan")

#: What each article is about, from the seed texts.
TOPICS: dict[str, set[str]] = {
    # 江苏省异地就医经办服务规程
    "苏规程 第二条": {"scope"},
    "苏规程 第六条": {"fund"},  # 大病保险、公务员医疗补助 … 一站式结算
    "苏规程 第七条": {"category"},
    "苏规程 第八条": {"filing_materials", "no_filing"},
    "苏规程 第九条": {"online_review", "agent"},
    "苏规程 第十条": {"validity", "lock", "filing_materials"},  # 转诊证明, 有效期 ≥ 6 个月
    "苏规程 第十一条": {"multi_place"},
    "苏规程 第十二条": {"destination"},
    "苏规程 第十三条": {"active_filing"},
    "苏规程 第十五条": {"catalogue"},
    "苏规程 第十七条": {"ratio_long_term", "long_term_referral"},
    "苏规程 第十八条": {"ratio_referral", "ratio_unfiled", "retroactive", "claim_case"},
    "苏规程 第十九条": {"ratio_emergency", "not_designated"},
    "苏规程 第二十条": {"ratio_long_term"},
    "苏规程 第二十五条": {"retroactive"},
    "苏规程 第二十六条": {"claim_case"},
    "苏规程 第二十七条": {"claim_materials"},
    "苏规程 第二十八条": {"claim_deadline"},
    "苏规程 第四十四条": {"cross_year"},
    "苏规程 第五十六条": {"cost_check"},
    "苏规程 附件1": {"filing_materials", "commitment"},  # 个人承诺书
    "苏规程 附件7": {"claim_materials"},  # 外伤无第三方责任承诺书
    "苏规程 附件9": {"fund"},  # 住院结算单: #参保地基金
    # 北京：通知 and 实施细则
    "京通知 一（一）": {"catalogue", "ratio"},
    "京通知 一（四）": {"retroactive", "claim_case"},
    "京细则 第一条": {"scope"},
    "京细则 第三条": {"catalogue"},
    "京细则 第七条": {"filing_materials"},  # 备案表 + 承诺书 (no identity proofs)
    "京细则 第八条": {"special_disease"},
    "京细则 第九条": {"destination", "active_filing", "special_disease"},
    "京细则 第十条": {"validity", "refile", "special_disease"},
    "京细则 第十一条": {"filing_materials"},
    "京细则 第二十二条": {"catalogue", "ratio"},
    "京细则 第二十七条": {"no_filing", "claim_case"},
    "京细则 第三十条": {"cross_year"},
    "京细则 第三十一条": {"cross_year"},
    "京细则 第三十三条": {"claim_case"},
    "京细则 第四十八条": {"cost_check"},
    "京细则 附件1": {"filing_materials", "not_designated"},  # 温馨提示5: 非跨省定点
    "京细则 附件2": {"filing_materials", "special_disease"},  # 说明1: not for 转诊/特殊病
    "京细则 附件13": {"fund"},
    # 芜湖：实施细则 and 经办规程
    "芜细则 二（一）": {"category"},
    "芜细则 三（一）": {"not_designated", "catalogue", "ratio"},
    "芜细则 三（二）": {"ratio_long_term", "commitment", "long_term_referral"},
    "芜细则 三（三）": {"ratio_emergency", "ratio_referral", "ratio_unfiled", "ratio_injury"},
    "芜细则 四（二）": {"validity"},
    "芜细则 五（一）": {"retroactive", "claim_case", "no_filing", "catalogue"},
    "芜规程 第二条": {"scope"},
    "芜规程 第六条": {"catalogue", "fund"},  # 补充医疗保险、医疗救助
    "芜规程 第七条": {"category"},
    "芜规程 第八条": {"filing_materials", "no_filing"},
    "芜规程 第九条": {"online_review"},
    "芜规程 第十条": {"validity", "lock"},
    "芜规程 第十一条": {"destination"},
    "芜规程 第十二条": {"active_filing"},
    "芜规程 第十四条": {"claim_case"},
    "芜规程 第十九条": {"catalogue"},
    "芜规程 第二十二条": {"no_filing", "claim_case"},
    "芜规程 第二十八条": {"cross_year"},
    "芜规程 第三十一条": {"claim_case", "no_top_up"},
    "芜规程 附件1": {"filing_materials"},
    "芜规程 附件5": {"fund"},
    # 湖南省异地就医直接结算管理办法
    "湘办法 第二条": {"scope"},
    "湘办法 第七条": {"category"},
    "湘办法 第八条": {"requirement"},
    "湘办法 第九条": {"filing_materials", "no_filing"},
    "湘办法 第十条": {"online_review"},
    "湘办法 第十一条": {"filing_materials", "agent"},  # 承诺书; 代办服务
    "湘办法 第十二条": {"filing_materials", "continued_treatment"},
    "湘办法 第十三条": {"validity"},
    "湘办法 第十四条": {"active_filing"},
    "湘办法 第十五条": {"destination"},
    "湘办法 第十七条": {"retroactive", "claim_case"},
    "湘办法 第十八条": {"catalogue"},
    "湘办法 第二十条": {
        "ratio_long_term",
        "ratio_referral",
        "ratio_emergency",
        "ratio_filed_other",
        "ratio_unfiled",
        "claim_case",
        "not_designated",
    },
    "湘办法 第二十一条": {"ratio_long_term", "long_term_referral"},
    "湘办法 第二十二条": {"commitment"},
    "湘办法 第五十一条": {"cross_year"},
    "湘办法 第五十三条": {"claim_case", "catalogue"},
    "湘办法 第五十五条": {"no_filing", "claim_case"},
    "湘办法 第五十八条": {"fund"},  # 异地就医结算单
    "湘办法 第七十六条": {"cost_check"},
    "湘办法 附件1": {"filing_materials"},
    # the national notice (news digest): filing materials, categories, catalogue, locks ≤ 6 months
    "国家22号文": {"filing_materials", "category", "catalogue", "lock"},
}

#: The topic each reason code claims (materials_missing depends on the kind of request).
CODE_TOPICS: dict[str, set[str]] = {
    "scope_mismatch": {"scope"},
    "destination_is_home": {"scope"},
    "scope_not_applicable": {"scope"},
    "province_level_destination": {"destination"},
    "not_retired": {"category"},
    "resident_not_allowed": {"category"},
    "employer_not_long_term": {"category"},
    "not_posted": {"category"},
    "commitment_not_allowed": {"filing_materials"},
    "multi_place_no_commitment": {"multi_place"},
    "commitment_yearly_limit": {"commitment"},
    "followup_due": {"commitment"},
    "active_long_term": {"active_filing"},
    "active_temporary": {"active_filing"},
    "target_not_active": {"active_filing"},
    "supersedes": {"refile"},
    "refile": {"refile"},
    "retroactive": {"retroactive"},
    "retroactive_too_late": {"retroactive"},
    "locked": {"lock"},
    "fixed_term": {"validity"},
    "minimum_term": {"validity"},
    "no_filing_needed": {"no_filing"},
    "special_disease_counter_only": {"special_disease"},
    "special_disease_hospitals": {"special_disease"},
    "special_disease_effective": {"special_disease"},
    "special_disease_settle_first": {"special_disease"},
    "special_disease_no_commitment": {"special_disease"},
    "continued_treatment": {"continued_treatment"},
    "filing_not_required_outpatient": {"requirement"},
    "filing_required_inpatient": {"requirement"},
    "filing_per_home_pool": {"requirement"},
    "case_mismatch": {"claim_case"},
    "not_claimable": {"claim_case"},
    "not_designated": {"not_designated"},
    "file_first": {"retroactive"},
    "no_top_up": {"no_top_up"},
    "due_provisional": {"claim_deadline"},
    "cost_check_candidate": {"cost_check"},
    "long_term_referred": {"long_term_referral"},
    "catalogue": {"catalogue"},
    # the filing's own dates: 苏规程 第十三条, 芜规程 第十二条, 湘办法 第十四条、第二十二条
    "commitment_terms": {"filing_materials"},
    "admission_in_validity": {"active_filing"},
    "care_before_filing": {"retroactive"},
    "filed_before_discharge": {"retroactive"},
    "care_after_filing": {"active_filing"},
    "commitment_overdue": {"commitment"},
    "target_expired": {"validity", "active_filing"},
    "target_used_up": {"commitment"},
}
NOT_POLICY = {"id_region_unknown"}  # cites GB 11643, the ID standard
DOCS = "苏规程|京细则|京通知|芜细则|芜规程|湘办法|国家22号文"
NUMERAL = "一二三四五六七八九十百零"


def articles(citation: str) -> list[str]:
    """The articles a citation names, at the granularity of ``TOPICS``."""
    found: list[str] = []
    for part in re.split("[；;]", citation):
        part = part.strip()
        if is_example(part):
            continue  # an example borrowed from another region names no article of this one
        match = re.match(rf"({DOCS})\s*(.*)", part)
        assert match, f"unknown document in citation {citation!r}"
        doc, rest = match.groups()
        if doc == "国家22号文":
            found.append(doc)
            continue
        for item in rest.split("、"):
            item = item.strip()
            key = (
                re.match(rf"第[{NUMERAL}]+条", item)
                or re.match(r"附件\d+", item)
                or re.match(rf"[{NUMERAL}]+（[{NUMERAL}]+）", item)
            )
            assert key, f"cannot read article {item!r} of {citation!r}"
            found.append(f"{doc} {key.group(0)}")
    return found


def is_example(citation: str) -> bool:
    return citation.startswith(("示例", "参照"))


def check(citation: str, topics: set[str], what: str) -> None:
    if is_example(citation):
        return
    for article in articles(citation):
        assert article in TOPICS, f"{what}: {article} is not in the table ({citation})"
        assert TOPICS[article] & topics, f"{what}: {article} is not about {topics} ({citation})"


# ── the sweep ───────────────────────────────────────────────────────────────────────────────

ID = "11010519491231002X"
FILINGS: list[dict[str, Any]] = [
    {},
    {"category": "long_term_resident", "basis": "commitment"},
    {"category": "long_term_resident", "basis": "commitment", "multi_place": True},
    {"category": "retired_resettled", "insurance": "resident"},
    {"category": "posted_worker", "insurance": "resident"},
    {"category": "long_term_resident", "has_employer": True},
    {"category": "referral"},
    {"category": "referral", "continued_treatment": True},
    {"category": "emergency"},
    {"category": "other_temporary", "basis": "commitment"},
    {"destination": "320100"},
    {"destination": "460100"},
    {"scope": "in_province", "destination": "440300"},
    {"start_date": "2025-01-01"},
    {"start_date": "2026-02-01"},
    {"end_date": "2026-04-01"},
    {"by_agent": True},
    {"purpose": "outpatient"},
    {"purpose": "inpatient"},
    {"channel": "online"},
    {
        "existing": [
            {
                "id": "B0",
                "category": "other_temporary",
                "destination": "440300",
                "valid_from": "2026-01-01",
                "valid_until": "2026-12-31",
            }
        ]
    },
    {
        "category": "long_term_resident",
        "existing": [
            {
                "id": "B0",
                "category": "posted_worker",
                "destination": "310000",
                "valid_from": "2025-01-01",
            }
        ],
    },
    {
        "action": "change",
        "target": "B1",
        "category": "long_term_resident",
        "destination": "310000",
        "employer_changed": True,
        "existing": [
            {
                "id": "B1",
                "category": "long_term_resident",
                "basis": "commitment",
                "destination": "440300",
                "valid_from": "2026-01-10",
            }
        ],
    },
    {
        "action": "cancel",
        "target": "B1",
        "existing": [
            {
                "id": "B1",
                "category": "other_temporary",
                "destination": "440300",
                "valid_from": "2025-01-10",
                "valid_until": "2025-07-09",
            }
        ],
    },
    {
        "special_disease": {"disease": "血友病", "hospitals": ["甲院", "乙院", "丙院"]},
        "basis": "commitment",
        "channel": "online",
        "start_date": "2026-03-10",
    },
    {
        "action": "cancel",
        "target": "S1",
        "existing": [
            {
                "id": "S1",
                "category": "other_temporary",
                "destination": "440300",
                "valid_from": "2026-01-10",
                "special_disease": "血友病",
                "hospitals": ["甲院"],
            }
        ],
    },
]
INPATIENT = ["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"]
CLAIMS: list[dict[str, Any]] = [
    {},
    {"filing": "none"},
    {"filing": "referral"},
    {"filing": "other_temporary"},
    {"filing": "emergency"},
    {"filing": "none", "treatment": "emergency"},
    {"filing": "none", "flags": {"rescue": True, "died": True}},
    {"filing": "none", "flags": {"injury_no_third_party": True}},
    {"flags": {"referred_out": True}},
    {"insurance": "resident", "filing": "none"},
    {"insurance": "resident", "filing": "referral", "scope": "in_province"},
    {
        "insurance": "resident",
        "filing": "none",
        "treatment": "outpatient",
        "admission_date": None,
        "discharge_date": None,
        "visit_date": "2026-02-20",
    },
    {"scope": "in_province"},
    {"designated": False},
    {"designated": False, "filing": "none", "treatment": "emergency"},
    {"treatment": "maternity"},
    {"case": "student_vacation", "filing": "none"},
    {"case": "maternity"},
    {"materials": []},
    {"flags": {"dual_channel": True, "outside_drugs": True}},
    {"amounts": {"total": "40000.00", "in_scope": "40000.00"}},
    {"admission_date": "2025-12-20", "discharge_date": "2026-01-10"},
    {"amounts": {"total": "900000.00", "in_scope": "900000.00"}},
    {"today": "2026-12-30", "admission_date": "2026-12-01", "discharge_date": "2026-12-10"},
]


def filing_results() -> Iterator[tuple[str, FilingResult]]:
    for policy in POLICIES:
        engine = build_engine(policy)
        for fields in FILINGS:
            request: dict[str, Any] = {
                "policy": policy,
                "action": "new",
                "today": "2026-03-02",
                "person": {"name": "张三", "id_number": ID},
                "insurance": "employee",
                "scope": "cross_province",
                "category": "other_temporary",
                "destination": "440300",
                "materials": ["id_card"],
                "end_date": "2026-12-31",
                **fields,
            }
            try:
                yield f"{policy} {fields}", engine.filing(request)
            except InvalidInput:
                continue


def claim_results() -> Iterator[tuple[str, ClaimResult]]:
    for policy in POLICIES:
        engine = build_engine(policy)
        for fields in CLAIMS:
            request: dict[str, Any] = {
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
                "amounts": {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"},
                **fields,
            }
            try:
                yield f"{policy} {fields}", engine.claim(request)
            except InvalidInput:
                continue


def reason_topics(code: str, kind: str) -> set[str]:
    if code == "materials_missing":
        return (
            {"filing_materials", "special_disease", "agent"}
            if kind == "filing"
            else {"claim_materials"}
        )
    assert code in CODE_TOPICS, f"reason {code} has no topic in the table"
    return CODE_TOPICS[code]


def test_filing_citations_match_their_articles() -> None:
    seen: set[str] = set()
    for what, result in filing_results():
        for reason in result.reasons:
            if reason.code in NOT_POLICY:
                continue
            seen.add(reason.code)
            check(reason.citation, reason_topics(reason.code, "filing"), f"{what}: {reason.code}")
        for item in result.checklist:
            topics = {"filing_materials", "agent", "special_disease", "continued_treatment"}
            check(item.citation, topics, f"{what}: checklist {item.group}")
        if result.online_review is not None:
            check(result.online_review.citation, {"online_review"}, f"{what}: online review")
        if result.catalogue is not None:
            check(result.catalogue.citation, {"catalogue", "scope"}, f"{what}: catalogue")
    # the sweep reaches the rules it is meant to check
    expected = {
        "scope_mismatch",
        "province_level_destination",
        "not_retired",
        "resident_not_allowed",
        "multi_place_no_commitment",
        "followup_due",
        "active_temporary",
        "retroactive",
        "retroactive_too_late",
        "locked",
        "no_filing_needed",
        "materials_missing",
        "refile",
        "special_disease_hospitals",
        "special_disease_counter_only",
        "continued_treatment",
        "filing_not_required_outpatient",
        "special_disease_settle_first",
    }
    assert expected <= seen, expected - seen


def test_claim_citations_match_their_articles() -> None:
    seen: set[str] = set()
    for what, result in claim_results():
        for reason in result.reasons:
            seen.add(reason.code)
            check(reason.citation, reason_topics(reason.code, "claim"), f"{what}: {reason.code}")
        for item in result.checklist:
            check(item.citation, {"claim_materials"}, f"{what}: checklist {item.group}")
        if result.catalogue is not None:
            check(result.catalogue.citation, {"catalogue", "scope"}, f"{what}: catalogue")
        payment = result.payment
        if payment is None:
            continue
        ratio_topics = {"ratio", "ratio_injury", "floor"} | {
            f"ratio_{route}"
            for route in ("long_term", "emergency", "referral", "filed_other", "unfiled")
        }
        check(payment.adjustment_citation, ratio_topics, f"{what}: ratio row")
        for fund in payment.funds:
            check(fund.citation, {"fund"}, f"{what}: fund {fund.name}")
    expected = {
        "not_designated",
        "cost_check_candidate",
        "long_term_referred",
        "catalogue",
        "scope_not_applicable",
        "materials_missing",
        "no_top_up",
        "file_first",
    }
    assert expected <= seen, expected - seen


@pytest.mark.parametrize("policy", POLICIES)
def test_ratio_rows_cite_the_route_they_price(policy: str) -> None:
    """Each ratio row names the article about its own route (苏规程 第十八条 has no −10 row)."""
    route_topic = {
        "long_term": "ratio_long_term",
        "emergency": "ratio_emergency",
        "referral": "ratio_referral",
        "filed_other": "ratio_filed_other",
        "unfiled": "ratio_unfiled",
    }
    for row in build_engine(policy).pack.payment.adjustments:
        routes = row.when.get("route") or []
        if is_example(row.citation):
            assert row.example and "示例" in (row.label + row.note), row.label
            continue
        for route in routes:
            topics = {route_topic[str(route)], "ratio"}
            check(row.citation, topics, f"{policy} row {row.label}")


@pytest.mark.parametrize("policy", POLICIES)
def test_example_values_say_so(policy: str) -> None:
    """A value no seed gives is marked ``example = true`` and its reason says 示例."""
    pack = build_engine(policy).pack
    for row in pack.payment.adjustments:
        if row.example:
            assert "示例" in row.note or "示例" in row.label or "示例" in row.citation, row.label
    for fund in pack.payment.funds:
        if fund.example:
            assert "示例" in fund.citation or "参保地基金" in fund.citation, fund.name
    window = pack.filing.retroactive_window
    assert window is not None and window.example and "示例" in window.note
    assert not pack.filing.online_review.example or "示例" in pack.filing.online_review.citation


def test_reference_table_catches_a_wrong_citation() -> None:
    """The check fails for the citations issue 11 found wrong."""
    wrong = [
        ("湘办法 第六条（参保地基金）", {"fund"}),
        ("京细则 第八条；国家22号文", {"filing_materials"}),  # 转诊 materials
        ("芜规程 第七条（二）2", {"claim_case"}),
        ("苏规程 第十八条", {"ratio_filed_other"}),
        ("京细则 第七条", {"agent"}),
    ]
    for citation, topics in wrong:
        with pytest.raises(AssertionError):
            check(citation, topics, citation)
