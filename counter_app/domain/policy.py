"""The policy pack of a region, as pydantic models.

A pack (``assets/policies/<region>.toml``) holds every rule of one region as data, each with the
article that says so (``citation``). Values that the seeds leave open (base ratios, deductibles,
caps, floors, fund tiers) carry ``example = true``: an office replaces them with its own figures.
The engine (``filing``, ``claim``, ``payment``) reads these models and never hard-codes a value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from counter_app.domain.conditions import (
    CLAIM_FACTS,
    FILING_FACTS,
    LOCK_FACTS,
    Condition,
    check_condition,
)

Insurance = Literal["employee", "resident"]
Scope = Literal["cross_province", "in_province"]
Category = Literal[
    "retired_resettled",
    "long_term_resident",
    "posted_worker",
    "referral",
    "emergency",
    "other_temporary",
]
Treatment = Literal["inpatient", "outpatient", "emergency", "maternity"]
TreatmentClass = Literal["inpatient", "outpatient"]
Level = Literal["1", "2", "3"]

INSURANCES: tuple[str, ...] = ("employee", "resident")
CATEGORIES: tuple[str, ...] = (
    "retired_resettled",
    "long_term_resident",
    "posted_worker",
    "referral",
    "emergency",
    "other_temporary",
)
#: The national ceiling on a change/cancel lock (国家22号文: 变更或取消备案时限不超过6个月).
NATIONAL_MAX_LOCK_MONTHS = 6


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(_Model):
    """A rule with the article that says so; ``example`` marks a value the office must set."""

    citation: str = Field(min_length=2)
    example: bool = False
    note: str = ""


class Document(_Model):
    """A policy document of the region and the short name it is cited by."""

    cite_as: str
    title: str


class PackInfo(_Model):
    """Who the pack is for."""

    id: str
    name: str
    province_code: str = Field(pattern=r"^\d{2}0000$")
    home_pool_code: str = Field(pattern=r"^\d{6}$")
    home_pool_name: str
    version: str
    documents: list[Document]
    in_province_filing: bool = True


class Material(_Model):
    """A material the counter may receive: id and the name printed on checklists."""

    id: str
    label: str


class MaterialGroup(Cited):
    """One line of a checklist: satisfied by presenting every item of any one option.

    ``commitment_alternative`` adds the 个人承诺书 as an option, open only when the filing's
    basis is the commitment (and placed first then, so it is what is reported missing).
    """

    id: str
    label: str
    any_of: list[list[str]] = Field(min_length=1)
    commitment_alternative: bool = False
    when: Condition = Field(default_factory=dict)
    waived_when: Condition | list[Condition] = Field(default_factory=dict)

    @property
    def waivers(self) -> list[Condition]:
        """The conditions that waive the group (any one suffices); none for an empty one."""
        if isinstance(self.waived_when, list):
            return [c for c in self.waived_when if c]
        return [self.waived_when] if self.waived_when else []

    @field_validator("any_of")
    @classmethod
    def _options_not_empty(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not option for option in value):
            raise ValueError("any_of 中的每个选项至少包含一项材料")
        return value


class Restriction(Cited):
    """An eligibility limit: when ``when`` holds, the facts in ``require`` must hold too."""

    code: str
    message: str
    when: Condition = Field(default_factory=dict)
    require: Condition


class Validity(Cited):
    """How long a filing is valid.

    ``long_term``: until changed; ``fixed_months``: exactly N months; ``min_months``: at least N
    months, longer if the person asks; ``chosen``: the person picks the end date.
    """

    kind: Literal["long_term", "fixed_months", "min_months", "chosen"]
    months: int | None = Field(default=None, ge=1, le=120)
    end_required: bool = False

    @model_validator(mode="after")
    def _months_given(self) -> Validity:
        if self.kind in ("fixed_months", "min_months") and self.months is None:
            raise ValueError(f"有效期类型 {self.kind} 需要 months")
        return self


class CategoryRules(_Model):
    """The rules of one person category (人员类别) in this region."""

    label: str
    form_label: str = ""
    term: Literal["long", "temporary"]
    needs_filing: bool = True
    no_filing: Cited | None = None
    validity: Validity | None = None
    materials: list[MaterialGroup] = Field(default_factory=list)
    restrictions: list[Restriction] = Field(default_factory=list)
    commitment_allowed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CategoryRules:
        if self.needs_filing and self.validity is None:
            raise ValueError("需要备案的人员类别必须给出 validity")
        if not self.needs_filing and self.no_filing is None:
            raise ValueError("无需备案的人员类别必须给出 no_filing 及其依据")
        return self


class Notice(Cited):
    """Something the clerk must be told when ``when`` holds; it does not block."""

    code: str
    message: str
    when: Condition = Field(default_factory=dict)


class Lock(Cited):
    """Change/cancel is locked for ``months`` after the target filing took effect.

    ``when`` tests the target filing's facts: ``term``, ``basis`` and ``category``.
    """

    months: int = Field(ge=1)
    when: Condition = Field(default_factory=dict)

    @field_validator("months")
    @classmethod
    def _national_ceiling(cls, value: int) -> int:
        if value > NATIONAL_MAX_LOCK_MONTHS:
            raise ValueError(f"变更/取消限制不得超过 {NATIONAL_MAX_LOCK_MONTHS} 个月（国家22号文）")
        return value


class Followup(Cited):
    """After a 承诺书 filing, the materials are due within ``months``; ``overdue`` says what
    missing that date does (the region's article):

    - ``unfiled_until_completed``: care after the date is treated as not filed until the
      materials are handed in (湘办法 第二十二条); the filing stands and is completed on itself;
    - ``once_only``: the commitment gave the long-term benefit that once; care after the date
      has it only if the materials came in by the date (芜细则 三（二）); the used-up filing no
      longer stands in the way of a new filing on materials.
    """

    months: int = Field(ge=1)
    consequence: str
    per_year_limit: int | None = Field(default=None, ge=1)
    overdue: Literal["unfiled_until_completed", "once_only"] = "unfiled_until_completed"


class Supersede(Cited):
    """A change of these fields makes a new filing that voids the old one (京细则 第十条)."""

    fields: list[Literal["destination", "insurance", "category", "employer"]]


class RetroactiveWindow(Cited):
    """补办: a filing may start at most ``months`` before the day it is registered.

    The seeds leave the time limit to the home pool (苏规程 第十八条 “参保地规定时限”), so the
    shipped values are examples.
    """

    months: int = Field(ge=1, le=120)


class Requirement(Cited):
    """Whether a filing is needed for direct settlement, when ``when`` holds (湘办法 第八条)."""

    code: str
    message: str
    when: Condition = Field(default_factory=dict)


class SpecialDiseaseRules(Cited):
    """特殊病 filings (京细则 第八至十条): at the counter only, with their own materials.

    At most ``max_hospitals`` designated hospitals per disease (第九条); effective from the day
    of filing; current costs settled before a stop or a change of hospital (第十条); the
    个人承诺书 does not apply (附件2 说明1).
    """

    counter_only: Cited
    materials: list[MaterialGroup] = Field(min_length=1)
    max_hospitals: int = Field(ge=1)
    hospitals: Cited
    effective: Cited
    settle_first: Cited
    no_commitment: Cited


class FilingRules(_Model):
    """Region-wide filing rules."""

    identity: MaterialGroup
    common: list[MaterialGroup] = Field(default_factory=list)
    categories: dict[Category, CategoryRules]
    locks: list[Lock] = Field(default_factory=list)
    followup: Followup | None = None
    #: Where a region sets no follow-up, what the 承诺书 binds the person to (cited).
    commitment_terms: Cited | None = None
    multi_place_commitment: Cited | None = None
    supersede: Supersede | None = None
    active_conflict: Cited
    retroactive: Cited
    #: Admitted while the filing was valid: settled as filed even after it ends (苏规程 第十三条).
    admission_in_validity: Cited | None = None
    province_level_destination: Cited
    scope_definition: Cited
    online_review_working_days: int = Field(ge=1, le=10)
    online_review: Cited
    in_province_not_applicable: Cited | None = None
    retroactive_window: RetroactiveWindow | None = None  # an office's older pack may lack it
    requirements: list[Requirement] = Field(default_factory=list)
    continued_treatment: Cited | None = None
    special_disease: SpecialDiseaseRules | None = None

    @model_validator(mode="after")
    def _all_categories(self) -> FilingRules:
        missing = [c for c in CATEGORIES if c not in self.categories]
        if missing:
            raise ValueError(f"缺少人员类别：{', '.join(missing)}")
        return self


class ClaimCase(Cited):
    """A case in which a manual reimbursement is allowed (苏规程 第二十六条 …)."""

    id: str
    label: str
    when: Condition


class CatalogueRule(Cited):
    """Which catalogue and policy a manual claim is paid under, when ``when`` holds.

    The first matching rule wins; with none, the payment's catalogue for the scope applies
    (e.g. 湘办法 第五十三条: a 跨省 claim after a system fault uses the home catalogue).
    """

    when: Condition = Field(default_factory=dict)


class Deadline(Cited):
    """Working days to settle a claim from the day its materials are complete."""

    small_outpatient_limit: Decimal
    small_outpatient_days: int = Field(ge=1)
    normal_days: int = Field(ge=1)
    special_days: int = Field(ge=1)


class ClaimRules(_Model):
    """Region-wide manual-reimbursement (零星报销) rules."""

    cases: list[ClaimCase] = Field(min_length=1)
    not_designated: Cited
    designated_exempt: Condition
    materials: list[MaterialGroup]
    materials_source: Cited | None = None
    deadline: Deadline
    cost_check: Cited | None = None
    cost_check_threshold: Decimal = Decimal("30000")
    notices: list[Notice] = Field(default_factory=list)
    catalogue_rules: list[CatalogueRule] = Field(default_factory=list)
    long_term_referral: Cited | None = None


class Adjustment(Cited):
    """A row of the ratio table: the first row whose ``when`` holds decides the ratio."""

    when: Condition = Field(default_factory=dict)
    reduction_pp: Decimal = Decimal(0)
    fixed_ratio: Decimal | None = None
    floor: Literal["kept", "reduced", "none"] = "kept"
    floor_reduction_pp: Decimal = Decimal(0)
    label: str


class LevelTable(Cited):
    """A value by hospital level (一级/二级/三级)."""

    by_level: dict[Level, Decimal]

    @field_validator("by_level")
    @classmethod
    def _all_levels(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if set(value) != {"1", "2", "3"}:
            raise ValueError("by_level 必须给出 1、2、3 三个级别")
        return value


class Deductible(LevelTable):
    """起付标准 by level; ``per`` says whether it is paid per admission or once per year."""

    per: Literal["admission", "year"]


class InsuranceParams(_Model):
    """Home-pool parameters of one insurance type (职工 or 居民)."""

    ratio: dict[TreatmentClass, LevelTable]
    deductible: dict[TreatmentClass, Deductible]
    cap: Decimal
    cap_citation: str
    cap_example: bool = True


class Fund(Cited):
    """A fund line of the slip. ``basic`` is the pool fund; ``above_cap`` pays over its cap."""

    name: str
    kind: Literal["basic", "above_cap"]
    insurance: list[Insurance]
    ratio: Decimal | None = None
    cap: Decimal | None = None


class Floor(Cited):
    """保底: the pool fund pays at least ``ratio`` of the in-scope costs for these persons."""

    ratio: Decimal
    when: Condition


class CrossYear(Cited):
    """How a hospital stay over 1 January is settled: one lump, or split by days."""

    modes: list[Literal["lump", "split"]] = Field(min_length=1)
    default: Literal["lump", "split"]


class PaymentRules(_Model):
    """How the fund payment is computed."""

    employee: InsuranceParams
    resident: InsuranceParams
    adjustments: list[Adjustment] = Field(min_length=1)
    funds: list[Fund] = Field(min_length=1)
    floor: Floor | None = None
    cross_year: CrossYear
    catalogue: dict[Scope, Cited]
    no_top_up: Cited | None = None

    @model_validator(mode="after")
    def _table_complete(self) -> PaymentRules:
        if self.adjustments[-1].when:
            raise ValueError("adjustments 的最后一行必须是不带 when 的兜底行")
        if self.cross_year.default not in self.cross_year.modes:
            raise ValueError("cross_year.default 必须是 modes 之一")
        for insurance in INSURANCES:
            basics = [f for f in self.funds if f.kind == "basic" and insurance in f.insurance]
            if len(basics) != 1:
                raise ValueError(f"险种 {insurance} 必须恰有一个 basic 基金")
        return self

    def params(self, insurance: str) -> InsuranceParams:
        """The parameters of an insurance type."""
        return self.employee if insurance == "employee" else self.resident


class PolicyPack(_Model):
    """Everything the engine knows about one region."""

    pack: PackInfo
    materials: list[Material]
    filing: FilingRules
    claim: ClaimRules
    payment: PaymentRules

    @model_validator(mode="after")
    def _references_resolve(self) -> PolicyPack:
        known = {m.id for m in self.materials}
        filing_groups = [self.filing.identity, *self.filing.common]
        for rules in self.filing.categories.values():
            filing_groups.extend(rules.materials)
        for group in filing_groups:
            _check_group(group, known, FILING_FACTS)
        for rules in self.filing.categories.values():
            for restriction in rules.restrictions:
                check_condition(restriction.when, FILING_FACTS)
                check_condition(restriction.require, FILING_FACTS)
        if self.filing.special_disease:
            for group in self.filing.special_disease.materials:
                _check_group(group, known, FILING_FACTS)
        for requirement in self.filing.requirements:
            check_condition(requirement.when, FILING_FACTS)
        for rule in self.claim.catalogue_rules:
            check_condition(rule.when, CLAIM_FACTS)
        for group in self.claim.materials:
            _check_group(group, known, CLAIM_FACTS)
        for case in self.claim.cases:
            check_condition(case.when, CLAIM_FACTS)
        check_condition(self.claim.designated_exempt, CLAIM_FACTS)
        for notice in self.claim.notices:
            check_condition(notice.when, CLAIM_FACTS)
        for lock in self.filing.locks:
            check_condition(lock.when, LOCK_FACTS)
        for row in self.payment.adjustments:
            check_condition(row.when, CLAIM_FACTS)
        if self.payment.floor:
            check_condition(self.payment.floor.when, CLAIM_FACTS)
        if "commitment_letter" not in known:
            raise ValueError("materials 必须包含 commitment_letter（个人承诺书）")
        return self

    @property
    def material_labels(self) -> dict[str, str]:
        """Material id → the label this region prints."""
        return {m.id: m.label for m in self.materials}

    def citation_doc(self) -> str:
        """The short names of the region's documents, e.g. ``苏规程``."""
        return "、".join(d.cite_as for d in self.pack.documents)


def _check_group(group: MaterialGroup, known: set[str], facts: frozenset[str]) -> None:
    for option in group.any_of:
        for material in option:
            if material not in known:
                raise ValueError(f"材料组“{group.id}”引用了未定义的材料“{material}”")
    check_condition(group.when, facts)
    for waiver in group.waivers:
        check_condition(waiver, facts)
