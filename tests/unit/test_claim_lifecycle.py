"""The claim's lifecycle and year-to-date arithmetic in ``domain/`` (issue 13 item 2): statuses
and actions are labelled enums defined once, transitions are checked there, the item lines'
draft form round-trips, and the year-to-date sums follow the stored segments (a stay split
across years counts in each year its part fell in: 京细则 第三十条、第三十一条, 苏规程 第四十四条
split a cross-year stay by the days before and after the new year)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from counter_app.domain.claim_lifecycle import (
    ACTION_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUS_ORDER,
    TRANSITIONS,
    ClaimAction,
    ClaimStatus,
    intake_step,
    is_overdue,
    may,
)
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.status import ACTION_LABELS as FILING_ACTION_LABELS
from counter_app.domain.status import STATUS_LABELS as FILING_STATUS_LABELS
from counter_app.domain.status import FilingAction, FilingStatus
from counter_app.domain.year_to_date import year_to_date_sums


def test_statuses_are_the_stored_strings_with_one_label() -> None:
    assert ClaimStatus.PENDING == "pending_materials" and ClaimStatus.PENDING.label == "待补材料"
    assert ClaimStatus("settled").label == "已结算"
    assert ClaimStatus.label_of("unknown") == "unknown"  # an unknown stored value shows as is
    assert {s.value: s.label for s in ClaimStatus} == STATUS_LABELS
    assert set(STATUS_ORDER) == set(ClaimStatus) and STATUS_ORDER[0] is ClaimStatus.PENDING
    assert ACTION_LABELS["return"] == ClaimAction.RETURN.label == "退回"
    assert ClaimAction.label_of("view") == "view"
    # the filing's statuses and actions are the same kind of enum, labelled once
    assert FilingStatus.ACTIVE == "active" and FilingStatus.ACTIVE.label == "有效"
    assert FILING_STATUS_LABELS[FilingStatus.EXPIRED] == "已过期"
    assert FilingAction("cancel").label == FILING_ACTION_LABELS["cancel"] == "取消"


def test_the_ui_and_the_day_report_use_the_domains_labels() -> None:
    import counter_app.sync.day_close as day_close
    import counter_app.ui.services as services

    assert services.ACTION_LABELS is FILING_ACTION_LABELS
    assert day_close.ACTION_LABELS is FILING_ACTION_LABELS


@pytest.mark.parametrize(
    ("action", "status", "allowed"),
    [
        ("review", "accepted", True),
        ("review", "pending_materials", False),
        ("settle", "reviewing", True),
        ("settle", "accepted", False),
        ("return", "pending_materials", True),
        ("return", "reviewing", True),
        ("return", "settled", False),
        ("return", "returned", False),
        ("accept", "pending_materials", False),  # intake, not a transition
    ],
)
def test_transitions(action: str, status: str, allowed: bool) -> None:
    assert may(action, status) is allowed


def test_transitions_lead_to_their_status() -> None:
    assert TRANSITIONS["review"][1] is ClaimStatus.REVIEWING
    assert TRANSITIONS["settle"][1] is ClaimStatus.SETTLED
    assert TRANSITIONS["return"][1] is ClaimStatus.RETURNED


def test_intake_step() -> None:
    assert intake_step(True, resumed=False) == (ClaimStatus.ACCEPTED, ClaimAction.ACCEPT)
    assert intake_step(True, resumed=True) == (ClaimStatus.ACCEPTED, ClaimAction.ACCEPT)
    assert intake_step(False, resumed=False) == (ClaimStatus.PENDING, ClaimAction.SAVE)
    assert intake_step(False, resumed=True) == (ClaimStatus.PENDING, ClaimAction.UPDATE)


def test_overdue_only_while_open() -> None:
    today = date(2026, 11, 23)
    past, future = date(2026, 11, 20), date(2026, 11, 30)
    assert {ClaimStatus.ACCEPTED, ClaimStatus.REVIEWING} == OPEN_STATUSES
    assert is_overdue("accepted", past, today) and is_overdue("reviewing", past, today)
    assert not is_overdue("accepted", future, today)
    assert not is_overdue("accepted", today, today)  # due today is not late yet
    assert not is_overdue("settled", past, today)
    assert not is_overdue("pending_materials", None, today)


def test_item_line_draft_round_trip() -> None:
    line = ItemLine(date(2026, 11, 2), "CT 检查", Decimal("356.5"), "in_scope")
    assert line.as_json() == {
        "day": "2026-11-02",
        "item": "CT 检查",
        "amount": "356.50",
        "category": "in_scope",
    }
    assert ItemLine.from_json(line.as_json()) == line
    undated = ItemLine(None, "挂号", Decimal("5"), "self_pay")
    assert ItemLine.from_json(undated.as_json()) == undated
    assert ItemLine.from_row(line) == line  # any stored line with the four fields


def _fund(name: str, amount: str) -> dict[str, str]:
    return {"name": name, "amount": amount}


def test_year_to_date_sums_by_year_and_fund() -> None:
    basic = ["统筹基金"]
    plain = {
        "payment": {
            "settlement_year": 2026,
            "deductible": "800.00",
            "funds": [_fund("统筹基金", "1200.50"), _fund("大额医疗费用补助", "300.00")],
        }
    }
    split = {
        "payment": {
            "settlement_year": 2027,
            "deductible": "1600.00",
            "funds": [],
            "segments": [
                {"year": 2026, "deductible": "0", "funds": [_fund("统筹基金", "99.50")]},
                {"year": 2027, "deductible": "800", "funds": [_fund("统筹基金", "500")]},
            ],
        }
    }
    no_payment: dict[str, object] = {"payment": None}
    assert year_to_date_sums([plain, split, no_payment], 2026, basic) == {
        "deductible_paid": "800.00",
        "fund_paid": "1300.00",
        "above_cap_paid": "300.00",
    }
    assert year_to_date_sums([plain, split], 2027, basic) == {
        "deductible_paid": "800.00",
        "fund_paid": "500.00",
        "above_cap_paid": "0.00",
    }
    assert year_to_date_sums([], 2026, basic)["fund_paid"] == "0.00"


@pytest.mark.parametrize("region", ["jiangsu", "beijing", "wuhu", "hunan"])
def test_every_claim_status_has_a_paper_label(region: str) -> None:
    """The printed facts of a claim document (and so a QR check) name its status in Chinese."""
    from counter_app.printing.forms import load_form

    paper = load_form("settlement_slip", region).labels["claim_status"]
    for status in ClaimStatus:
        label = paper.get(status.value, "")
        assert label and label.isascii() is False, (status, label)
