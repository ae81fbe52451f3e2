"""Filings in the office database: reading a person's filings, and committing new/change/cancel.

A commit is one write transaction: the filing row, its history entry, the materials presented,
the audit entry, the outbox event for the provincial store, the filings it supersedes and the
draft it came from — all or nothing. The engine's verdict is stored, never re-derived; a verdict
that does not allow the step is refused here too. Changes carry the version the clerk saw: if
another clerk changed the filing meanwhile, the commit fails with ``StaleFiling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select, update

from counter_app.domain.idnumber import mask_id
from counter_app.domain.requests import FilingRequest
from counter_app.domain.results import FilingResult
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import (
    Draft,
    Filing,
    FilingHistory,
    FilingMaterial,
    Office,
    Person,
    utcnow,
)
from counter_app.storage.records import audit, emit, next_number

FILING_PREFIX = "BA"


class FilingRefused(ValueError):
    """The engine did not allow this step; nothing was written."""


class StaleFiling(RuntimeError):
    """Another clerk changed the filing after it was opened; nothing was written."""


@dataclass(frozen=True)
class Committed:
    """What a commit produced."""

    number: str
    filing_id: int
    event_id: str


def person_filings(db: Database, person_id: int) -> list[Filing]:
    """A person's filings, newest first."""
    with db.read() as session:
        statement = (
            select(Filing)
            .where(Filing.person_id == person_id)
            .order_by(col(Filing.created_at).desc(), col(Filing.id).desc())
        )
        return list(session.exec(statement).all())


def filing_history(db: Database, filing_id: int) -> list[FilingHistory]:
    """A filing's steps, oldest first."""
    with db.read() as session:
        statement = (
            select(FilingHistory)
            .where(FilingHistory.filing_id == filing_id)
            .order_by(col(FilingHistory.id))
        )
        return list(session.exec(statement).all())


def as_existing(filings: list[Filing]) -> list[dict[str, Any]]:
    """The person's filings as the engine's ``existing`` list (keyed by filing number)."""
    return [
        {
            "id": f.number,
            "category": f.category,
            "basis": f.basis,
            "destination": f.destination_code,
            "valid_from": f.valid_from.isoformat(),
            "valid_until": f.valid_until.isoformat() if f.valid_until else None,
            "status": f.status,
            "insurance": f.insurance,
        }
        for f in filings
    ]


def _record_step(
    session: Session,
    filing: Filing,
    action: str,
    request: FilingRequest,
    result: FilingResult,
    signed: SignedIn,
    labels: dict[str, str],
) -> FilingHistory:
    snapshot = request.model_dump(mode="json")
    snapshot["result"] = result.model_dump(mode="json", exclude={"checklist"})
    history = FilingHistory(
        filing_id=filing.id,  # type: ignore[arg-type]
        action=action,
        snapshot=snapshot,
        reasons=[r.model_dump(mode="json") for r in result.reasons],
        clerk_id=signed.clerk_id,
    )
    session.add(history)
    session.flush()
    for material in dict.fromkeys(request.materials):
        session.add(
            FilingMaterial(
                filing_id=filing.id,  # type: ignore[arg-type]
                history_id=history.id,  # type: ignore[arg-type]
                material_id=material,
                label=labels.get(material, material),
            )
        )
    return history


def _apply(filing: Filing, request: FilingRequest, result: FilingResult) -> None:
    assert result.destination is not None or request.action == "cancel"
    if result.destination is not None:
        filing.destination_code = result.destination.code
        filing.destination_name = result.destination.full_name
    filing.category, filing.scope, filing.insurance = (
        request.category,
        request.scope,
        request.insurance,
    )
    filing.basis, filing.by_agent, filing.multi_place = (
        request.basis,
        request.by_agent,
        request.multi_place,
    )
    filing.valid_from = result.valid_from or filing.valid_from
    filing.valid_until = result.valid_until
    filing.locked_until = result.locked_until
    filing.followup_due = result.followup_due


def _event_payload(
    filing: Filing,
    action: str,
    request: FilingRequest,
    superseded: list[str],
    person: Person | None = None,
) -> dict[str, Any]:
    contact = (
        {
            "phone2": person.phone2,
            "remote_address": person.remote_address,
            "card_number": person.card_number,
        }
        if person is not None
        else {}
    )
    return {
        "action": action,
        "number": filing.number,
        # the 备案表's 异地联系地址 (居住地, 湘办法 第九条), 联系电话2 and 社会保障卡卡号 too
        "person": {
            "name": request.person.name,
            "id_number": request.person.id_number,
            **contact,
        },
        "category": filing.category,
        "scope": filing.scope,
        "insurance": filing.insurance,
        "destination": filing.destination_code,
        "basis": filing.basis,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat() if filing.valid_until else None,
        "status": filing.status,
        "version": filing.version,
        # The provincial store must end the filings this one replaces too.
        "supersedes": superseded,
    }


def _new_filing(
    session: Session, office: Office, person_id: int, request: FilingRequest, signed: SignedIn
) -> Filing:
    filing = Filing(
        number=next_number(session, office, "filing", request.today, FILING_PREFIX),
        person_id=person_id,
        office_id=signed.office_id,
        policy=request.policy,
        category=request.category,
        scope=request.scope,
        insurance=request.insurance,
        destination_code="",
        destination_name="",
        valid_from=request.today,
        created_by=signed.clerk_id,
    )
    return filing


def _bump(session: Session, filing: Filing, expected_version: int | None, **values: Any) -> None:
    """Optimistic update: only if nobody changed the filing since the clerk opened it."""
    version = filing.version if expected_version is None else expected_version
    outcome = session.execute(
        update(Filing)
        .where(col(Filing.id) == filing.id, col(Filing.version) == version)
        .values(version=version + 1, updated_at=utcnow(), **values)
    )
    if outcome.rowcount != 1:
        raise StaleFiling(f"备案 {filing.number} 已被其他经办人修改，请重新打开后再办理")
    session.refresh(filing)


def commit_filing(
    db: Database,
    signed: SignedIn,
    person_id: int,
    request: FilingRequest,
    result: FilingResult,
    labels: dict[str, str],
    *,
    expected_version: int | None = None,
    draft_id: int | None = None,
) -> Committed:
    """Write a new, changed or cancelled filing in one transaction."""
    if not result.allowed:
        raise FilingRefused(
            "规则判断不允许办理，未保存："
            + "；".join(r.message for r in result.reasons if r.severity == "error")
        )
    with db.write() as session:
        office = session.get(Office, signed.office_id)
        assert office is not None
        superseded_numbers = list(result.supersedes)
        if request.action == "new" or result.change_mode == "refile":
            if request.action == "change":
                superseded_numbers = [request.target or ""]
            filing = _new_filing(session, office, person_id, request, signed)
            _apply(filing, request, result)
            session.add(filing)
            session.flush()
            action = "new"
        else:
            filing = session.exec(select(Filing).where(Filing.number == request.target)).one()
            if filing.person_id != person_id:
                raise FilingRefused(f"备案 {filing.number} 不属于该参保人")
            if request.action == "cancel":
                _bump(
                    session,
                    filing,
                    expected_version,
                    status="cancelled",
                    valid_until=result.valid_until,
                )
            else:
                _bump(session, filing, expected_version)
                _apply(filing, request, result)
                session.add(filing)
            action = request.action
        superseded: list[str] = []
        for number in superseded_numbers:
            old = session.exec(select(Filing).where(Filing.number == number)).first()
            if number == request.target:
                # The filing being refiled is checked like an amended one: the person's own, and
                # still as the clerk saw it (a second refile of it must not make another filing).
                if old is None or old.person_id != person_id:
                    raise FilingRefused(f"备案 {number} 不属于该参保人")
                if old.status != "active":
                    raise StaleFiling(f"备案 {number} 已被其他经办人变更或注销，请重新打开后再办理")
                _bump(session, old, expected_version, status="superseded")
            elif old is not None and old.status == "active":
                _bump(session, old, None, status="superseded")
            else:
                continue
            superseded.append(old.number)
            audit(session, signed.clerk_id, "supersede", "filing", old.number, by=filing.number)
        _record_step(session, filing, action, request, result, signed, labels)
        audit(
            session,
            signed.clerk_id,
            action,
            "filing",
            filing.number,
            person_id=person_id,
            id_masked=mask_id(request.person.id_number),
        )
        event_id = emit(
            session,
            signed.office_id,
            signed.clerk_id,
            f"filing.{action}",
            _event_payload(filing, action, request, superseded, session.get(Person, person_id)),
        )
        if draft_id is not None:
            draft = session.get(Draft, draft_id)
            if draft is not None:
                session.delete(draft)
        assert filing.id is not None
        return Committed(filing.number, filing.id, event_id)
