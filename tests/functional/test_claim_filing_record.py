"""The claim wizard fills ``filing_record`` from the person's stored filings: the one the care's
first day falls under, so the engine judges the claim on the filing's dates (苏规程 第十三条,
芜规程 第十二条, 湘办法 第十四条、第二十二条)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from counter_app.rules_engine import build_engine
from counter_app.storage.models import Filing, Person
from counter_app.ui.claims.state import ClaimState

TODAY = date(2026, 6, 30)


def _filing(number: str, category: str, valid_from: date, valid_until: date | None, **kw) -> Filing:  # type: ignore[no-untyped-def]
    return Filing(
        number=number,
        person_id=1,
        office_id=1,
        policy="hunan",
        category=category,
        scope="cross_province",
        insurance="employee",
        destination_code="440300",
        destination_name="广东省深圳市",
        valid_from=valid_from,
        valid_until=valid_until,
        created_by=1,
        **kw,
    )


def _state(filings: list[Filing]) -> tuple[ClaimState, SimpleNamespace]:
    services = SimpleNamespace(today=TODAY, engine=build_engine("hunan"))
    person = Person(id=1, id_number="430102198001010011", name="王临时")
    return ClaimState.begin(services, person, filings), services  # type: ignore[arg-type]


def _claim(state: ClaimState, services: SimpleNamespace, admission: str, discharge: str):  # type: ignore[no-untyped-def]
    state.values.update(
        admission_date=admission,
        discharge_date=discharge,
        materials=["id_card", "invoice", "inpatient_bill", "diagnosis_certificate"],
    )
    state.amounts = {"total": "1000.00", "in_scope": "1000.00"}
    return state.request(services), state.evaluate(services)  # type: ignore[arg-type]


def test_the_expired_filing_is_used_and_judged_on_its_dates() -> None:
    ended = _filing("BA1", "other_temporary", date(2025, 10, 27), date(2026, 4, 26))
    state, services = _state([ended])
    assert state.values["filing"] == "other_temporary"  # the newest filing, though ended
    request, result = _claim(state, services, "2026-04-20", "2026-05-06")
    assert request["filing_record"]["number"] == "BA1"
    assert request["filing_record"]["valid_until"] == "2026-04-26"
    assert result.case == "filed_not_settled"
    assert any(r.code == "admission_in_validity" for r in result.reasons)
    _, after = _claim(state, services, "2026-04-27", "2026-05-06")
    assert after.case == "other" and any(r.code == "care_after_filing" for r in after.reasons)


def test_the_filing_covering_the_care_day_is_chosen() -> None:
    old = _filing("BA1", "other_temporary", date(2025, 5, 1), date(2025, 10, 31))
    new = _filing("BA2", "other_temporary", date(2026, 5, 1), date(2026, 10, 31))
    state, services = _state([new, old])
    request, result = _claim(state, services, "2025-09-01", "2025-09-05")
    assert request["filing_record"]["number"] == "BA1" and result.case == "filed_not_settled"
    request, _ = _claim(state, services, "2026-06-01", "2026-06-05")
    assert request["filing_record"]["number"] == "BA2"


def test_a_commitment_past_its_followup() -> None:
    """湘办法 第二十二条: the stored follow-up date travels with the claim."""
    pledge = _filing(
        "BA3",
        "long_term_resident",
        date(2025, 10, 27),
        None,
        basis="commitment",
        followup_due=date(2026, 4, 26),
    )
    state, services = _state([pledge])
    assert state.values["filing"] == "long_term"
    request, result = _claim(state, services, "2026-05-01", "2026-05-06")
    assert request["filing_record"]["followup_due"] == "2026-04-26"
    assert result.case == "other"
    reason = next(r for r in result.reasons if r.code == "commitment_overdue")
    assert reason.citation == "湘办法 第二十二条"
