"""The claim wizard's state: the engine's ``ClaimRequest`` being built, saved as a draft.

What the clerk typed is kept as typed (dates and amounts as text), so a bad value is never lost:
the engine validates the request and names the bad field; the screens show its message there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from counter_app.domain.claim import filing_for_care
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.errors import FieldError, InvalidInput
from counter_app.domain.money import normalise_typed_amount
from counter_app.domain.requests import FilingRecord
from counter_app.domain.results import ClaimResult
from counter_app.domain.status import STANDING, FilingStatus
from counter_app.domain.text_fields import HOSPITAL_FIELDS, input_problem
from counter_app.printing.sources import claim_record
from counter_app.storage.claims import (
    ClaimCommitted,
    ClaimRefused,
    StaleClaim,
    open_claim,
)
from counter_app.storage.models import Filing, Person
from counter_app.ui.services import Services
from counter_app.ui.wizard.state import TRANSIENT, WizardState
from counter_app.workflows.claims import take_claim

DRAFT_KIND = "claim"
AMOUNT_FIELDS = ("total", "in_scope", "class_b_self", "over_limit_self", "self_pay")
FLAG_FIELDS = (
    "rescue",
    "died",
    "injury_no_third_party",
    "dual_channel",
    "outside_drugs",
    "referred_out",
)
DATE_FIELDS = ("admission_date", "discharge_date", "visit_date")
YTD_FIELDS = ("deductible_paid", "fund_paid")


def filing_kind(services: Services, filing: Filing | None) -> str:
    """The claim request's ``filing`` for the person's filing (``none`` without one)."""
    if filing is None:
        return "none"
    rules = services.engine.pack.filing.categories.get(filing.category)  # type: ignore[call-overload]
    if rules is not None and rules.term == "long":
        return "long_term"
    if filing.category in ("referral", "emergency"):
        return filing.category
    return "other_temporary"


def filing_record(services: Services, filing: Filing) -> dict[str, Any]:
    """A stored filing as a claim carries it (``filing_record``) with its kind, as JSON data."""

    def day(value: object) -> str | None:
        return value.isoformat() if value is not None else None  # type: ignore[attr-defined]

    return {
        "kind": filing_kind(services, filing),
        "number": filing.number,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": day(filing.valid_until),
        "basis": filing.basis,
        "followup_due": day(filing.followup_due),
        "followup_done_on": day(filing.followup_done_on),
    }


def _care_day(values: dict[str, Any]) -> date | None:
    for name in ("admission_date", "visit_date", "discharge_date"):
        try:
            return date.fromisoformat(str(values.get(name)))
        except ValueError:
            continue
    return None


#: What a claim's commit hands the review step: the stored claim and its documents' content.
CommittedClaim = tuple[ClaimCommitted, dict[str, Any]]


@dataclass
class ClaimState(WizardState[ClaimResult, CommittedClaim]):
    """Everything typed so far; plain data so it round-trips through a JSON draft."""

    DRAFT_KIND: ClassVar[str] = DRAFT_KIND
    REFUSALS: ClassVar[tuple[type[Exception], ...]] = (StaleClaim, ClaimRefused)

    person_name: str
    person_id_number: str
    values: dict[str, Any]
    amounts: dict[str, str] = field(default_factory=dict)
    ytd: dict[str, str] = field(default_factory=dict)
    ytd_computed: dict[str, str] | None = None
    ytd_previous: dict[str, str] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: The hospital's name and place for the settlement slip (not part of the engine request).
    hospital: dict[str, str] = field(default_factory=dict)
    claim_number: str | None = None
    claim_version: int | None = None
    #: The person's filings (not superseded) as ``filing_record`` data: the one the care falls
    #: under is sent with the claim, so that the engine checks its dates and basis.
    filings: list[dict[str, Any]] = field(default_factory=list)
    #: Set by F10 on the materials step of a completed 补材料 claim: the review accepts at once.
    accept_on_arrival: bool = field(default=False, compare=False, metadata=TRANSIENT)

    @classmethod
    def begin(cls, services: Services, person: Person, filings: list[Filing]) -> ClaimState:
        """A fresh claim, prefilled from the person and the filing that stands today (else the
        newest that ended by time or was cancelled)."""
        today = services.today
        kept = [f for f in filings if f.status_on(today) != FilingStatus.SUPERSEDED]
        active = next((f for f in kept if f.status_on(today) in STANDING), None) or next(
            iter(kept), None
        )
        values: dict[str, Any] = {
            "insurance": active.insurance if active else person.insurance,
            "scope": active.scope if active else "cross_province",
            "filing": filing_kind(services, active),
            "case": None,
            "treatment": "inpatient",
            "hospital_level": 3,
            "designated": True,
            "special": False,
            "flags": dict.fromkeys(FLAG_FIELDS, False),
            "materials": [],
            "cross_year": None,
            **dict.fromkeys(DATE_FIELDS),
        }
        assert person.id is not None
        return cls(
            person_id=person.id,
            person_name=person.name,
            person_id_number=person.id_number,
            values=values,
            filings=[filing_record(services, f) for f in kept],
        )

    @classmethod
    def resume(
        cls,
        person: Person,
        number: str,
        version: int,
        request: dict[str, Any],
        lines: list,
        hospital: dict[str, str] | None = None,
    ) -> ClaimState:
        """A 待补材料 claim taken up again, from its stored request."""
        values = {
            k: v
            for k, v in request.items()
            if k not in ("policy", "today", "amounts", "ytd", "ytd_previous")
        }
        amounts = {k: v for k, v in (request.get("amounts") or {}).items() if v is not None}
        assert person.id is not None
        return cls(
            person_id=person.id,
            person_name=person.name,
            person_id_number=person.id_number,
            values=values,
            amounts=amounts,
            ytd={k: request["ytd"][k] for k in YTD_FIELDS},
            lines=lines,
            hospital=dict(hospital or {}),
            claim_number=number,
            claim_version=version,
        )

    @property
    def title(self) -> str:
        """How the draft is listed and the steps are headed."""
        if self.claim_number:
            return f"补材料 · {self.person_name}"
        return f"零星报销 · {self.person_name}"

    def request(self, services: Services) -> dict[str, Any]:
        """The engine request as it stands (amounts as typed; the engine checks them)."""
        request: dict[str, Any] = {
            "policy": services.engine.pack.pack.id,
            "today": services.today.isoformat(),
            **{k: v for k, v in self.values.items() if v is not None},
        }
        record = self.covering_filing()
        if record is not None:
            request["filing_record"] = {k: v for k, v in record.items() if k != "kind"}
        elif self.filings:
            request.pop("filing_record", None)
        # an input method may type full-width digits: normalised here, the engine is strict
        amounts = {k: normalise_typed_amount(v) for k, v in self.amounts.items() if v.strip()}
        if amounts:
            request["amounts"] = amounts
        ytd = {k: normalise_typed_amount(v) for k, v in self.ytd.items() if v.strip()}
        if self.ytd_computed:
            ytd = {**self.ytd_computed, **ytd}
        request["ytd"] = ytd
        if self.ytd_previous:
            request["ytd_previous"] = self.ytd_previous
        return request

    def covering_filing(self) -> dict[str, Any] | None:
        """The stored filing the care falls under (by the care's first day), when it is of the
        kind the claim states; ``None`` before a care date is typed."""
        care = _care_day(self.values)
        kind = self.values.get("filing")
        candidates = [r for r in self.filings if r["kind"] == kind]
        if care is None or not candidates:
            return None
        parsed = [
            FilingRecord.model_validate({k: v for k, v in r.items() if k != "kind"})
            for r in candidates
        ]
        index = filing_for_care(parsed, care)
        return candidates[index] if index is not None else None

    def line_sums(self) -> dict[str, str]:
        """The slip categories as the itemised lines add up (总费用 is all of them)."""
        sums = dict.fromkeys(AMOUNT_FIELDS[1:], Decimal("0.00"))
        for line in self.lines:
            sums[line["category"]] += Decimal(line["amount"])
        return {"total": f"{sum(sums.values()):.2f}", **{k: f"{v:.2f}" for k, v in sums.items()}}

    def evaluate(self, services: Services) -> ClaimResult | list[FieldError]:
        """The engine's answer, or the bad fields (the hospital details checked as stored)."""
        text_errors = []
        for key, value in (self.hospital or {}).items():
            problem = input_problem(HOSPITAL_FIELDS.get(key, "hospital_name"), value)
            if problem:
                text_errors.append(FieldError(f"hospital.{key}", problem))
        try:
            answer = services.engine.claim(self.request(services))
        except InvalidInput as exc:
            return [*exc.errors, *text_errors]
        return text_errors or answer

    def commit(self, services: Services, seen: ClaimResult) -> CommittedClaim:
        """Write the claim in one transaction (``take_claim``), then read its documents.

        The year-to-date figures are read again under the person's lock; if the verdict moved
        since the clerk saw it, the workflow refuses and says what changed.
        """
        committed = take_claim(
            services.db,
            services.engine,
            services.clerk,
            self.person_id,
            self.request(services),
            seen=seen,
            lines=[ItemLine.from_json(line) for line in self.lines],
            ytd_shown=self.ytd_computed,
            number=self.claim_number,
            expected_version=self.claim_version,
            draft_id=self.draft_id,
            hospital=self.hospital,
        )
        view = open_claim(services.db, committed.number, services.clerk.clerk_id)
        assert view is not None
        return committed, claim_record(view)
