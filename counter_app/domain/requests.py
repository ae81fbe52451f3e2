"""The requests the engine answers (the JSON contract of ``counter-app rules``).

Field names are a contract with offices' scripts: add fields freely, rename none. Structural
problems (a missing field, a bad date, an unknown enum value) are caught by pydantic and turned
into Chinese messages by ``errors.from_validation``; rules about the values (a wrong 身份证号,
amounts that do not add up) are checked by the engine and reported the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from counter_app.domain.money import MoneyError, parse_money
from counter_app.domain.policy import Category, Insurance, Scope, Treatment
from counter_app.domain.text_fields import check_text

Policy = Literal["jiangsu", "beijing", "wuhu", "hunan"]
Action = Literal["new", "change", "cancel"]
Basis = Literal["materials", "commitment"]
FilingKind = Literal["long_term", "referral", "other_temporary", "emergency", "none"]
ClaimCaseId = Literal[
    "filed_not_settled", "emergency_unfiled", "student_vacation", "maternity", "other"
]
FilingStatus = Literal["active", "cancelled", "expired", "superseded"]
#: How the application came in: at the window, or online (不见面, reviewed within N working days).
Channel = Literal["counter", "online"]
#: What the filing is for (湘办法 第八条: 门诊 direct settlement needs no filing).
Purpose = Literal["inpatient", "outpatient"]

#: The dates a request may carry. Outside this range the month and working-day arithmetic would
#: leave ``datetime``'s range (year 1–9999); no real filing or claim is that far off.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def _in_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"日期 {value} 超出合理范围（{EARLIEST_DATE} 至 {LATEST_DATE}）")
    return value


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """Dates are ``YYYY-MM-DD`` strings (or ``date`` objects from the UI): no numbers, no times."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("日期应为 YYYY-MM-DD 格式的字符串")


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Person(_Request):
    """The insured person as the request names them."""

    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=40)

    @field_validator("name", mode="before")
    @classmethod
    def _storable_name(cls, value: object) -> object:
        """The name as stored and printed: no control characters (one check for every entry)."""
        if isinstance(value, str):
            return check_text("name", value, required=True)
        return value


class SpecialDisease(_Request):
    """A 特殊病 filing (京细则 第八至十条): the disease and its designated hospitals."""

    disease: str = Field(min_length=1, max_length=100)
    hospitals: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=1)


class ExistingFiling(_Request):
    """A filing the person already has (from the local database or the provincial store)."""

    id: str = Field(min_length=1)
    category: Category
    basis: Basis = "materials"
    destination: str
    valid_from: Day
    valid_until: Day | None = None
    status: FilingStatus = "active"
    insurance: Insurance | None = None
    employer: str | None = Field(default=None, max_length=200)
    special_disease: str | None = Field(default=None, max_length=100)
    hospitals: list[str] = Field(default_factory=list)
    #: A 承诺书 filing's last day for the materials, and the day they came in (if they did).
    followup_due: Day | None = None
    followup_done_on: Day | None = None


class FilingRequest(_Request):
    """A request to register, change or cancel a filing (备案)."""

    policy: Policy
    action: Action
    today: Day
    person: Person
    insurance: Insurance
    category: Category
    scope: Scope
    destination: str | None = None
    basis: Basis = "materials"
    materials: list[str] = Field(default_factory=list)
    by_agent: StrictBool = False
    start_date: Day | None = None
    end_date: Day | None = None
    multi_place: StrictBool = False
    has_employer: StrictBool = False
    retired: StrictBool = False
    referral_one_stop: StrictBool = False
    existing: list[ExistingFiling] = Field(default_factory=list)
    target: str | None = None
    home_pool: str | None = Field(default=None, pattern=r"^\d{6}$")
    channel: Channel = "counter"
    purpose: Purpose | None = None
    continued_treatment: StrictBool = False
    employer: str | None = Field(default=None, max_length=200)
    employer_changed: StrictBool = False
    special_disease: SpecialDisease | None = None
    costs_settled: StrictBool = False


class FilingRecord(_Request):
    """The stored filing a claim is made under: its dates and basis, so that the claim can
    check them (苏规程 第十三条, 芜规程 第十二条, 湘办法 第十四条、第二十二条)."""

    number: str | None = None
    valid_from: Day
    valid_until: Day | None = None
    basis: Basis = "materials"
    followup_due: Day | None = None
    followup_done_on: Day | None = None


class ClaimFlags(_Request):
    """Circumstances that add materials or change the ratio."""

    injury_no_third_party: StrictBool = False
    rescue: StrictBool = False
    died: StrictBool = False
    dual_channel: StrictBool = False
    outside_drugs: StrictBool = False
    referred_out: StrictBool = False


def _money(value: object) -> Decimal:
    try:
        return parse_money(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


class Amounts(_Request):
    """The slip categories, in 元, given as strings ("1234.50")."""

    total: Decimal
    in_scope: Decimal
    class_b_self: Decimal = Decimal("0.00")
    over_limit_self: Decimal = Decimal("0.00")
    self_pay: Decimal = Decimal("0.00")

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: object) -> Decimal:
        return _money(value)


class YearToDate(_Request):
    """What the person has already had this year (from settled claims or the clerk)."""

    deductible_paid: Decimal = Decimal("0.00")
    fund_paid: Decimal = Decimal("0.00")
    above_cap_paid: Decimal = Decimal("0.00")

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: object) -> Decimal:
        return _money(value)


class ClaimRequest(_Request):
    """A manual reimbursement claim (零星报销) to check and compute."""

    policy: Policy
    today: Day
    insurance: Insurance
    scope: Scope
    filing: FilingKind
    treatment: Treatment
    hospital_level: StrictInt = Field(ge=1, le=3)
    designated: StrictBool = True
    special: StrictBool = False
    case: ClaimCaseId | None = None
    flags: ClaimFlags = Field(default_factory=ClaimFlags)
    materials: list[str] = Field(default_factory=list)
    admission_date: Day | None = None
    discharge_date: Day | None = None
    visit_date: Day | None = None
    amounts: Amounts | None = None
    ytd: YearToDate = Field(default_factory=YearToDate)
    ytd_previous: YearToDate = Field(default_factory=YearToDate)
    cross_year: Literal["lump", "split"] | None = None
    #: Optional: the filing's validity and basis; without it only ``filing`` (the kind) counts.
    filing_record: FilingRecord | None = None
