"""Strict JSON input for ``counter-app rules`` (issue 11): every bad field named, exit 2.

Amounts are plain decimal strings ("1234.50"): no thousands separators ("12,34" is not 1234),
exponents, underscores, signs or full-width digits, and no JSON numbers; booleans are JSON
booleans; integers are integers (``true`` is not 1); dates are "YYYY-MM-DD" strings. Valid
requests decide as before. Only the terminal UI normalises what an input method types.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from counter_app.domain.errors import InvalidInput
from counter_app.domain.money import MoneyError, normalise_typed_amount, parse_money
from counter_app.rules_engine import build_engine
from tests.unit.test_cli import CLAIM, FILING, run, with_changes, write

AMOUNTS = {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"}


@pytest.mark.parametrize(
    "text",
    [
        "12,34",
        "1,234.50",
        "1，234",
        "1e3",
        "1E3",
        "1_000",
        "１２３４",
        "１２３４．５０",
        "١٢٣",
        "-5",
        "+5",
        ".5",
        "5.",
        "1.001",
        "NaN",
        "Infinity",
        "0x10",
        "12 34",
        "",
    ],
)
def test_amount_text_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(text)


@pytest.mark.parametrize("value", [1234, 12.5, True, None, [], {}])
def test_amount_non_strings_refused(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_money(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.50", "1234.50"),
        ("1234.5", "1234.50"),
        ("0", "0.00"),
        ("007", "7.00"),
        ("9999999.99", "9999999.99"),
    ],
)
def test_plain_amounts_accepted(text: str, value: str) -> None:
    assert parse_money(text) == Decimal(value)


def test_ui_normalises_full_width_digits_only() -> None:
    assert parse_money(normalise_typed_amount("１２３４．５０")) == Decimal("1234.50")
    with pytest.raises(MoneyError):
        parse_money(normalise_typed_amount("１，２３４"))  # grouping stays refused


def claim_with(**changes: Any) -> dict[str, Any]:
    return with_changes(CLAIM, **changes)


def filing_with(**changes: Any) -> dict[str, Any]:
    return with_changes(FILING, **changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amounts": {**AMOUNTS, "total": "12,000.00"}}, "amounts.total"),
        ({"amounts": {**AMOUNTS, "in_scope": "1e4"}}, "amounts.in_scope"),
        ({"amounts": {**AMOUNTS, "self_pay": "2_000"}}, "amounts.self_pay"),
        ({"amounts": {**AMOUNTS, "total": "１２０００"}}, "amounts.total"),
        ({"amounts": {**AMOUNTS, "total": 12000}}, "amounts.total"),
        ({"ytd": {"fund_paid": "1,000"}}, "ytd.fund_paid"),
        ({"hospital_level": True}, "hospital_level"),
        ({"hospital_level": "3"}, "hospital_level"),
        ({"hospital_level": 3.0}, "hospital_level"),
        ({"designated": "true"}, "designated"),
        ({"designated": 1}, "designated"),
        ({"special": "false"}, "special"),
        ({"flags": {"rescue": "yes"}}, "flags.rescue"),
        ({"flags": {"referred_out": 0}}, "flags.referred_out"),
        ({"admission_date": 20260201}, "admission_date"),
        ({"admission_date": "2026-02-01T00:00:00"}, "admission_date"),
        ({"today": 0}, "today"),
    ],
)
def test_claim_field_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_engine("jiangsu").claim(claim_with(**changes))
    assert [e.field for e in caught.value.errors] == [field]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"by_agent": "false"}, "by_agent"),
        ({"multi_place": 1}, "multi_place"),
        ({"retired": "true"}, "retired"),
        ({"has_employer": None}, "has_employer"),
        ({"continued_treatment": "true"}, "continued_treatment"),
        ({"costs_settled": 1}, "costs_settled"),
        ({"channel": "phone"}, "channel"),
        ({"start_date": 20260302}, "start_date"),
    ],
)
def test_filing_field_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_engine("wuhu").filing(filing_with(**changes))
    assert [e.field for e in caught.value.errors] == [field]


def test_cli_names_every_bad_field(tmp_path: Path) -> None:
    request = claim_with(
        hospital_level=True,
        designated="true",
        amounts={**AMOUNTS, "total": "12,000.00"},
    )
    result = run("rules", "claim", write(tmp_path, request))
    assert result.returncode == 2, result.stdout
    fields = sorted(e["field"] for e in json.loads(result.stdout)["errors"])
    assert fields == ["amounts.total", "designated", "hospital_level"]


def test_cli_valid_requests_unchanged(tmp_path: Path) -> None:
    claim = run("rules", "claim", write(tmp_path, CLAIM, "claim.json"))
    filing = run("rules", "filing", write(tmp_path, FILING, "filing.json"))
    assert (claim.returncode, filing.returncode) == (0, 0), (claim.stdout, filing.stdout)
    data = json.loads(claim.stdout)
    # 职工 三级 0.85, 起付 900: (10000 − 900) × 85% = 7735.00
    assert data["payment"]["fund_total"] == "7735.00"
    online = json.loads(filing.stdout)["online_review"]
    assert online == {
        "working_days": 2,
        "citation": "芜规程 第九条",
        "example": False,
        "due": None,
        "provisional": False,
        "calendar_version": None,
    }
