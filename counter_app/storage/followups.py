"""Completing a 承诺书 filing's follow-up: the materials handed in, decided and written at once.

One write transaction re-reads the filing, asks ``domain.followup`` on that fresh row, and writes
the follow-up day, a history step (``followup``) with the materials, the audit entry and a
``filing.change`` outbox event carrying ``followup_done_on`` — or nothing, with the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select, update

from counter_app.domain.errors import CounterError
from counter_app.domain.followup import decide_followup
from counter_app.domain.idnumber import mask_id
from counter_app.domain.policy import PolicyPack
from counter_app.domain.results import Reason
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.filings import event_payload, person_payload
from counter_app.storage.models import Filing, FilingHistory, FilingMaterial, Person, utcnow
from counter_app.storage.records import audit, emit


class FollowupRefused(CounterError, ValueError):
    """The materials do not complete the filing (or it owes none); nothing was written."""

    def __init__(self, reasons: list[Reason]) -> None:
        self.reasons = reasons
        super().__init__("；".join(r.message for r in reasons if r.severity == "error"))


@dataclass(frozen=True)
class FollowupDone:
    """What completing the follow-up wrote."""

    number: str
    done_on: date
    event_id: str
    reasons: list[Reason]


def complete_followup(
    db: Database,
    signed: SignedIn,
    pack: PolicyPack,
    number: str,
    materials: list[str],
    today: date,
) -> FollowupDone:
    """Record that the materials of the 承诺书 filing ``number`` were handed in on ``today``."""
    with db.write() as session:
        filing = session.exec(select(Filing).where(Filing.number == number)).first()
        if filing is None:
            raise LookupError(f"没有编号为 {number} 的备案")
        decision = decide_followup(
            pack,
            number=filing.number,
            category=filing.category,
            basis=filing.basis,
            status=filing.status_on(today),
            followup_due=filing.followup_due,
            followup_done_on=filing.followup_done_on,
            materials=materials,
            today=today,
        )
        if not decision.allowed:
            raise FollowupRefused(decision.reasons)
        session.execute(
            update(Filing)
            .where(col(Filing.id) == filing.id, col(Filing.version) == filing.version)
            .values(followup_done_on=today, version=filing.version + 1, updated_at=utcnow())
        )
        session.refresh(filing)
        person = session.get(Person, filing.person_id)
        assert person is not None and filing.id is not None
        history = FilingHistory(
            filing_id=filing.id,
            action="followup",
            snapshot={
                "action": "followup",
                "today": today.isoformat(),
                "materials": materials,
                "followup_due": filing.followup_due.isoformat() if filing.followup_due else None,
            },
            reasons=[r.model_dump(mode="json") for r in decision.reasons],
            clerk_id=signed.clerk_id,
        )
        session.add(history)
        session.flush()
        labels = pack.material_labels
        for material in dict.fromkeys(materials):
            session.add(
                FilingMaterial(
                    filing_id=filing.id,
                    history_id=history.id,  # type: ignore[arg-type]
                    material_id=material,
                    label=labels.get(material, material),
                )
            )
        audit(
            session,
            signed.clerk_id,
            "followup",
            "filing",
            filing.number,
            person_id=person.id,
            id_masked=mask_id(person.id_number),
        )
        event_id = emit(
            session,
            signed.office_id,
            signed.clerk_id,
            "filing.change",
            event_payload(
                filing,
                "change",
                person_payload(person),
                today,
                [],
            ),
        )
        return FollowupDone(filing.number, today, event_id, decision.reasons)
