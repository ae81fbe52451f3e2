"""One gate for what may print: which documents a filing or a claim may produce in its state.

``verdicts`` is the single decision (pure, over the record mapping the documents are built from
and the print history); ``check`` applies it to a stored record and is what the print screen,
the print queue and ``counter-app print`` all call. A document the record's current state does
not describe is refused with the reason — a 结算单 before settlement, a 外伤承诺书 without the
injury flag, a 承诺书 of a filing that rests on none, a 一次性告知书 once the materials are in, a
退回通知书 of a claim that was not returned — unless it was already issued in an earlier state:
then it may be printed again from the print history, marked 补打 with its original date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from counter_app.domain.claim_lifecycle import (
    ACCEPTED,
    PENDING,
    RETURNED,
    REVIEWING,
    SETTLED,
    ClaimStatus,
)
from counter_app.domain.errors import CounterError
from counter_app.printing.forms import CLAIM_KINDS, DOCUMENT_KINDS, FILING_KINDS

COMMITMENT_MATERIAL = "commitment_letter"
#: The claim statuses each claim document describes.
CLAIM_STATES: dict[str, frozenset[str]] = {
    "missing_notice": frozenset({PENDING}),
    "claim_receipt": frozenset({ACCEPTED, REVIEWING}),
    "settlement_slip": frozenset({SETTLED}),
    "return_notice": frozenset({RETURNED}),
    "injury_commitment": frozenset({PENDING, ACCEPTED, REVIEWING, SETTLED}),
}
#: Claim documents printed only when the claim's request asks for them (not a state's own).
_ON_REQUEST = frozenset({"injury_commitment"})
_WHEN = {
    "missing_notice": "只在材料不全（待补材料）时出具",
    "claim_receipt": "只在受理后、结算前出具",
    "settlement_slip": "只在结算后出具",
    "return_notice": "只在退回时出具",
    "injury_commitment": "只在报销未退回时出具",
}


def state_document(status: str) -> str | None:
    """The document a claim's status calls for (the one its screen shows): 一次性告知书 while
    materials are missing, 受理回执 once accepted, 结算单 once settled, 退回通知书 once returned."""
    return next(
        (k for k, states in CLAIM_STATES.items() if status in states and k not in _ON_REQUEST),
        None,
    )


class NotPrintable(CounterError, ValueError):
    """The record's state does not allow this document; the message says why (for the clerk)."""


@dataclass(frozen=True)
class Verdict:
    """May this document print now? ``reprint_of`` is the original date of a 补打."""

    kind: str
    allowed: bool
    reason: str = ""
    reprint_of: date | None = None


def _claim_verdict(kind: str, source: Mapping[str, Any], printed: Mapping[str, date]) -> Verdict:
    status = source["status"]
    flags = source["request"].get("flags") or {}
    if kind == "injury_commitment" and not flags.get("injury_no_third_party"):
        return Verdict(
            kind, False, "该报销没有勾选“无第三方责任的外伤”，不出具外伤无第三方责任承诺书"
        )
    if status in CLAIM_STATES[kind]:
        return Verdict(kind, True)
    if kind in printed:
        return Verdict(kind, True, "", printed[kind])
    state = ClaimStatus.label_of(status)
    return Verdict(
        kind, False, f"报销 {source['number']} 当前为“{state}”：{DOCUMENT_KINDS[kind]}{_WHEN[kind]}"
    )


def _filing_verdict(kind: str, record: Mapping[str, Any]) -> Verdict:
    if kind != "commitment":
        return Verdict(kind, True)
    if record.get("basis") == "commitment":
        return Verdict(kind, True)
    ticks = record.get("commitment_ticks", True)
    if COMMITMENT_MATERIAL in (record.get("materials") or ()) and ticks:
        return Verdict(kind, True)
    return Verdict(kind, False, f"备案 {record['number']} 不是以个人承诺书办理的，不出具个人承诺书")


def verdicts(record: Mapping[str, Any], printed: Mapping[str, date] | None = None) -> list[Verdict]:
    """Every document kind of the record (a filing or a claim mapping) and whether it may print.

    ``printed`` maps a kind to the day it was first printed for this record (the print
    history); a document of an earlier state may be printed again from it, as a 补打.
    """
    printed = printed or {}
    if "request" in record:  # a claim
        return [_claim_verdict(kind, record, printed) for kind in CLAIM_KINDS]
    return [_filing_verdict(kind, record) for kind in FILING_KINDS]


def allowed(record: Mapping[str, Any], printed: Mapping[str, date] | None = None) -> list[str]:
    """The kinds that may print now, the one the state calls for first."""
    return [v.kind for v in verdicts(record, printed) if v.allowed and v.reprint_of is None] + [
        v.kind for v in verdicts(record, printed) if v.allowed and v.reprint_of is not None
    ]


def verdict(
    kind: str, record: Mapping[str, Any], printed: Mapping[str, date] | None = None
) -> Verdict:
    """The verdict on one kind (a kind of the other record type is refused)."""
    for item in verdicts(record, printed):
        if item.kind == kind:
            return item
    what = "报销" if "request" in record else "备案"
    return Verdict(kind, False, f"{DOCUMENT_KINDS.get(kind, kind)}不是{what}的文书")
