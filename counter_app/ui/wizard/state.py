"""A wizard's state: what the clerk typed so far, one round trip through a JSON draft.

``WizardState[Result, Committed]`` is the base of the filing state (``ui.filings.state``) and the
claim state (``ui.claims.state``): each asks the engine (``evaluate``), says whether a draft is
worth keeping, and commits through the workflows layer (``commit``). Draft saves and commits run
in worker threads under ``DRAFT_LOCK``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from counter_app.domain.errors import FieldError

if TYPE_CHECKING:
    from counter_app.ui.services import Services

#: Draft saves and the commit run in worker threads; this keeps them in order, so a commit
#: never races the save of the draft it deletes.
DRAFT_LOCK = threading.Lock()

#: ``field(metadata=TRANSIENT)``: a field that is not saved with the draft.
TRANSIENT = {"transient": True}

ResultT = TypeVar("ResultT")
CommittedT = TypeVar("CommittedT")


@dataclass(kw_only=True)
class WizardState(ABC, Generic[ResultT, CommittedT]):
    """Plain data (so it round-trips through a JSON draft) plus the wizard's three questions.

    ``ResultT`` is the engine's answer (``FilingResult``, ``ClaimResult``); ``CommittedT`` what a
    commit returns to the review step.
    """

    #: ``Draft.kind`` of the drafts this state is saved as.
    DRAFT_KIND: ClassVar[str] = ""
    #: The workflow's refusals: their message is shown on the review step, not as a failure.
    REFUSALS: ClassVar[tuple[type[Exception], ...]] = ()

    person_id: int
    step: int = 0
    draft_id: int | None = field(default=None, compare=False, metadata=TRANSIENT)

    def to_draft(self) -> dict[str, Any]:
        """JSON-ready data of the draft (the draft's own id and transient fields kept apart)."""
        data = asdict(self)
        for item in fields(self):
            if item.metadata.get("transient"):
                data.pop(item.name)
        return data

    @classmethod
    def from_draft(cls, data: dict[str, Any], draft_id: int) -> Self:
        """Back from a draft."""
        return cls(**data, draft_id=draft_id)

    @property
    @abstractmethod
    def title(self) -> str:
        """How the draft is listed and the steps are headed."""

    @abstractmethod
    def evaluate(self, services: Services) -> ResultT | list[FieldError]:
        """The engine's answer, or the bad fields."""

    @abstractmethod
    def commit(self, services: Services, seen: ResultT) -> CommittedT:
        """Decide again and write in one transaction (a workflow); raises one of ``REFUSALS``
        when the verdict moved since the clerk saw ``seen``. Runs in a worker thread."""

    def worth_keeping(self, services: Services) -> bool:
        """Whether this work may be resumed later from a draft."""
        return True
