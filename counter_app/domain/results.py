"""The engine's answers (the JSON contract of ``counter-app rules``).

Every reason carries a machine code, a Chinese message and the article it rests on. A reason of
``severity = "error"`` is what makes ``allowed`` (or ``eligible``) false; warnings and notices are
for the clerk to read out.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reason(_Result):
    """Why the engine decided as it did."""

    code: str
    message: str
    citation: str
    severity: Severity = "error"


class ChecklistItem(_Result):
    """One line of the material checklist: any one option, every item of it, satisfies it."""

    group: str
    label: str
    any_of: list[list[str]]
    satisfied: bool
    citation: str
    labels: dict[str, str] = Field(default_factory=dict)


class Destination(_Result):
    """The normalised filing destination."""

    code: str
    name: str
    level: str
    province_code: str
    full_name: str


class Catalogue(_Result):
    """Which catalogue and policy apply (就医地目录/参保地政策 …)."""

    note: str
    citation: str


class OnlineReview(_Result):
    """How long the office has to review an online (不见面) application, and, for one, the date.

    苏规程 第九条: 1 working day; 芜规程 第九条, 湘办法 第十条: 2. ``due`` is given when the
    request came in online (``channel = "online"``), counted from ``today`` in Chinese working
    days; ``provisional`` when the holiday data does not reach that far.
    """

    working_days: int
    citation: str
    example: bool = False
    due: date | None = None
    provisional: bool = False
    calendar_version: str | None = None


class FilingResult(_Result):
    """The decision on a filing request."""

    allowed: bool
    needs_filing: bool
    complete: bool
    reasons: list[Reason]
    checklist: list[ChecklistItem]
    missing: list[str]
    missing_labels: list[str]
    valid_from: date | None
    valid_until: date | None
    locked_until: date | None
    followup_due: date | None
    destination: Destination | None
    term: Literal["long", "temporary"] | None
    change_mode: Literal["amend", "refile"] | None = None
    supersedes: list[str] = Field(default_factory=list)
    catalogue: Catalogue | None = None
    id_masked: str | None = None
    online_review: OnlineReview | None = None
    special_disease: str | None = None


class FundLine(_Result):
    """A fund's share, by the name the home pool gives it."""

    name: str
    amount: Decimal
    citation: str


class PaymentLine(_Result):
    """One explainable line of the computation."""

    item: str
    amount: Decimal
    citation: str


class Segment(_Result):
    """The part of a stay that falls in one calendar year (where the region splits)."""

    year: int
    days: int
    total: Decimal
    in_scope: Decimal
    deductible: Decimal
    funds: list[FundLine]
    fund_total: Decimal
    personal_cash: Decimal


class Payment(_Result):
    """What the fund pays and what the person pays, with every line explained."""

    deductible: Decimal
    deductible_standard: Decimal
    base_ratio: Decimal
    reduction_pp: Decimal
    ratio: Decimal
    floor_ratio: Decimal | None
    adjustment: str
    adjustment_citation: str
    funds: list[FundLine]
    fund_total: Decimal
    personal_cash: Decimal
    lines: list[PaymentLine]
    segments: list[Segment]
    cross_year: Literal["lump", "split"] | None
    settlement_year: int
    identities: dict[str, bool]


class DueDate(_Result):
    """The promised settlement date."""

    date: date
    working_days: int
    provisional: bool
    calendar_version: str
    citation: str


class ClaimResult(_Result):
    """The decision on a manual reimbursement claim."""

    eligible: bool
    complete: bool
    case: str | None
    case_label: str | None
    reasons: list[Reason]
    checklist: list[ChecklistItem]
    missing: list[str]
    missing_labels: list[str]
    due_date: date | None
    due: DueDate | None
    cost_check_candidate: bool
    payment: Payment | None
    catalogue: Catalogue | None = None
