"""The filing wizard's state: the engine request being built, saved as a draft at every step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from counter_app.domain.errors import FieldError, InvalidInput
from counter_app.domain.results import FilingResult
from counter_app.storage.filings import Committed, FilingRefused, StaleFiling, as_existing
from counter_app.storage.models import Filing, Person
from counter_app.ui.services import ACTION_LABELS, Services
from counter_app.ui.wizard.state import WizardState
from counter_app.workflows.filings import commit_filing

DRAFT_KIND = "filing"


@dataclass
class FilingState(WizardState[FilingResult, Committed]):
    """Everything typed so far; plain data so it round-trips through a JSON draft."""

    DRAFT_KIND: ClassVar[str] = DRAFT_KIND
    REFUSALS: ClassVar[tuple[type[Exception], ...]] = (StaleFiling, FilingRefused)

    action: str
    person_name: str
    person_id_number: str
    values: dict[str, Any]
    existing: list[dict[str, Any]]
    target: str | None = None
    target_version: int | None = None

    @classmethod
    def begin(
        cls,
        services: Services,
        person: Person,
        action: str,
        target: Filing | None,
        filings: list[Filing],
    ) -> FilingState:
        """A fresh wizard, prefilled from the person (and the filing changed or cancelled)."""
        values: dict[str, Any] = {
            "insurance": person.insurance,
            "category": "long_term_resident",
            "scope": "cross_province",
            "destination": None,
            "basis": "materials",
            "materials": [],
            "by_agent": False,
            "multi_place": False,
            "has_employer": person.has_employer,
            "retired": person.retired,
            "referral_one_stop": False,
            "start_date": None,
            "end_date": None,
        }
        if target is not None:
            values.update(
                insurance=target.insurance,
                category=target.category,
                scope=target.scope,
                destination=target.destination_code,
                basis=target.basis,
                by_agent=target.by_agent,
                multi_place=target.multi_place,
            )
            rules = services.engine.pack.filing.categories.get(target.category)  # type: ignore[call-overload]
            if rules and rules.validity and rules.validity.kind == "chosen" and target.valid_until:
                # The person chose the end date (京细则 第十条); keep it unless they change it.
                values["end_date"] = target.valid_until.isoformat()
        assert person.id is not None
        return cls(
            action=action,
            person_id=person.id,
            person_name=person.name,
            person_id_number=person.id_number,
            values=values,
            existing=as_existing(filings),
            target=target.number if target else None,
            target_version=target.version if target else None,
        )

    @property
    def title(self) -> str:
        """How the draft is listed."""
        return f"{ACTION_LABELS[self.action]}备案 · {self.person_name}"

    def request(self, services: Services) -> dict[str, Any]:
        """The engine request as it stands."""
        request = {
            "policy": services.engine.pack.pack.id,
            "action": self.action,
            "today": services.today.isoformat(),
            "person": {"name": self.person_name, "id_number": self.person_id_number},
            "existing": self.existing,
            "target": self.target,
            **{k: v for k, v in self.values.items() if v is not None},
        }
        return request

    def worth_keeping(self, services: Services) -> bool:
        """A change or cancel the rules lock cannot be finished later either: no draft for it."""
        if self.action == "new":
            return True
        outcome = self.evaluate(services)
        return isinstance(outcome, list) or not any(r.code == "locked" for r in outcome.reasons)

    def evaluate(self, services: Services) -> FilingResult | list[FieldError]:
        """The engine's verdict, or the bad fields."""
        try:
            return services.engine.filing(self.request(services))
        except InvalidInput as exc:
            return exc.errors

    def commit(self, services: Services, seen: FilingResult) -> Committed:
        """Write the filing in one transaction (``commit_filing``): the workflow re-reads the
        person's filings under the person's lock and refuses if the verdict moved meanwhile."""
        return commit_filing(
            services.db,
            services.engine,
            services.clerk,
            self.person_id,
            self.request(services),
            seen=seen,
            expected_version=self.target_version,
            draft_id=self.draft_id,
        )
