"""Filings in the office database: reading a person's filings, and writing new/change/cancel.

``write_filing`` writes one step inside the caller's write transaction: the filing row, its
history entry, the materials presented, the audit entry, the outbox event for the provincial
store, the filings it supersedes and the draft it came from. The verdict it is given must have
been decided in that same transaction, on the filings read there (``counter_app.workflows``
does this under the person's lock); a verdict that does not allow the step is refused here too.
Changes carry the version the clerk saw: if another clerk changed the filing meanwhile, the
write fails with ``StaleFiling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlmodel import Session, col, select, update

from counter_app.domain.errors import CounterError
from counter_app.domain.idnumber import mask_id
from counter_app.domain.requests import FilingRequest
from counter_app.domain.results import FilingResult
from counter_app.domain.status import FilingStatus
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


class FilingRefused(CounterError, ValueError):
    """The engine did not allow this step; nothing was written."""


class StaleFiling(CounterError, RuntimeError):
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
        return filings_of(session, person_id)


def filings_of(session: Session, person_id: int) -> list[Filing]:
    """A person's filings, newest first, as the given transaction sees them."""
    statement = (
        select(Filing)
        .where(Filing.person_id == person_id)
        .order_by(col(Filing.created_at).desc(), col(Filing.id).desc())
        .execution_options(populate_existing=True)
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


#: A filing the provincial store refused and the office withdrew: it never existed for the rules.
WITHDRAWN = FilingStatus.WITHDRAWN.value


def as_existing(filings: list[Filing]) -> list[dict[str, Any]]:
    """The person's filings as the engine's ``existing`` list (keyed by filing number).

    Withdrawn filings are left out: the provincial store never had them.
    """
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
            "followup_due": f.followup_due.isoformat() if f.followup_due else None,
            "followup_done_on": f.followup_done_on.isoformat() if f.followup_done_on else None,
        }
        for f in filings
        if f.status != WITHDRAWN
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


def person_payload(
    person: Person | None, name: str | None = None, id_number: str | None = None
) -> dict[str, str | None]:
    """The person as a filing event carries it: name and 身份证号 (as filed), and the 备案表's
    异地联系地址 (居住地, 湘办法 第九条), 联系电话2 and 社会保障卡卡号 where the person has them."""
    carried: dict[str, str | None] = {
        "name": name if name is not None else (person.name if person else ""),
        "id_number": id_number if id_number is not None else (person.id_number if person else ""),
    }
    if person is not None:
        carried |= {
            "phone2": person.phone2,
            "remote_address": person.remote_address,
            "card_number": person.card_number,
        }
    return carried


def event_payload(
    filing: Filing,
    action: str,
    person: dict[str, str | None],
    today: date,
    superseded: list[str],
) -> dict[str, Any]:
    """The outbox payload of a filing step: the record as the provincial store keeps it.

    ``status`` is what the person decided (active, cancelled, superseded); ``effective_status``
    is what the filing is on the step's business day ``as_of`` (``domain.status``: 已过期 past
    ``valid_until``, 逾期未补 past ``followup_due``) — the store derives later days itself from
    the dates.
    """
    return {
        "action": action,
        "number": filing.number,
        "person": dict(person),  # see ``person_payload``
        "category": filing.category,
        "scope": filing.scope,
        "insurance": filing.insurance,
        "destination": filing.destination_code,
        "basis": filing.basis,
        # 多地备案: the store's conflict check lets these coexist where the region allows it.
        "multi_place": filing.multi_place,
        "valid_from": filing.valid_from.isoformat(),
        "valid_until": filing.valid_until.isoformat() if filing.valid_until else None,
        "status": filing.status,
        "effective_status": str(filing.status_on(today)),
        "as_of": today.isoformat(),
        "followup_due": filing.followup_due.isoformat() if filing.followup_due else None,
        "followup_done_on": (
            filing.followup_done_on.isoformat() if filing.followup_done_on else None
        ),
        "version": filing.version,
        # The provincial store must end the filings this one replaces too.
        "supersedes": superseded,
    }


def _new_filing(
    session: Session,
    office: Office,
    person_id: int,
    request: FilingRequest,
    signed: SignedIn,
    number: str | None = None,
) -> Filing:
    filing = Filing(
        number=number or next_number(session, office, "filing", request.today, FILING_PREFIX),
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
    outcome = cast(  # an UPDATE's result is a CursorResult (sqlmodel types it as Result)
        CursorResult[Any],
        session.execute(
            update(Filing)
            .where(col(Filing.id) == filing.id, col(Filing.version) == version)
            .values(version=version + 1, updated_at=utcnow(), **values)
        ),
    )
    if outcome.rowcount != 1:
        raise StaleFiling(f"备案 {filing.number} 已被其他经办人修改，请重新打开后再办理")
    session.refresh(filing)


def write_filing(
    session: Session,
    signed: SignedIn,
    person_id: int,
    request: FilingRequest,
    result: FilingResult,
    labels: dict[str, str],
    *,
    expected_version: int | None = None,
    draft_id: int | None = None,
    number: str | None = None,
    announce: bool = True,
) -> Committed:
    """Write a new, changed or cancelled filing in the caller's write transaction.

    ``number`` gives a new filing the number it already has elsewhere (an approved online
    application keeps the application's number). Without ``announce`` no outbox event is written:
    the caller's own event carries the step to the provincial store (the review of an online
    application, from which the store makes the filing); the event id returned is then empty.
    """
    if not result.allowed:
        raise FilingRefused(
            "规则判断不允许办理，未保存："
            + "；".join(r.message for r in result.reasons if r.severity == "error")
        )
    office = session.get(Office, signed.office_id)
    assert office is not None
    superseded_numbers = list(result.supersedes)
    if request.action == "new" or result.change_mode == "refile":
        if request.action == "change":
            superseded_numbers = [request.target or ""]
        filing = _new_filing(session, office, person_id, request, signed, number)
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
                status=FilingStatus.CANCELLED,
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
            if old.status != FilingStatus.ACTIVE:
                raise StaleFiling(f"备案 {number} 已被其他经办人变更或注销，请重新打开后再办理")
            _bump(session, old, expected_version, status=FilingStatus.SUPERSEDED)
        elif old is not None and old.status == FilingStatus.ACTIVE:
            _bump(session, old, None, status=FilingStatus.SUPERSEDED)
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
    event_id = ""
    if announce:
        event_id = emit(
            session,
            signed.office_id,
            signed.clerk_id,
            f"filing.{action}",
            event_payload(
                filing,
                action,
                person_payload(
                    session.get(Person, person_id), request.person.name, request.person.id_number
                ),
                request.today,
                superseded,
            ),
        )
    if draft_id is not None:
        draft = session.get(Draft, draft_id)
        if draft is not None:
            session.delete(draft)
    assert filing.id is not None
    return Committed(filing.number, filing.id, event_id)


def undo_refused_step(
    session: Session,
    clerk_id: int,
    number: str,
    supersedes: list[str],
    reason: str,
    refusal: str,
) -> str:
    """Take back the latest step of a filing that the provincial store refused; returns what
    became of it (``withdrawn`` or ``restored``).

    The filing's first step refused (a new filing, an approved online application): the store
    never had the filing, so it is withdrawn, and the filings that step superseded are active
    again (the store still holds them so). A later step refused (change, cancel): the filing
    goes back to how the step before left it, which is what the store holds. History and audit
    record the clerk's reason and the store's.
    """
    filing = session.exec(
        select(Filing).where(Filing.number == number).execution_options(populate_existing=True)
    ).first()
    if filing is None:
        raise FilingRefused(f"没有编号为 {number} 的备案")
    steps = [
        h
        for h in session.exec(
            select(FilingHistory)
            .where(FilingHistory.filing_id == filing.id)
            .order_by(col(FilingHistory.id))
        ).all()
        if h.action != "withdraw"
    ]
    note = [
        {"code": "withdraw", "message": f"撤回：{reason}（省平台：{refusal}）", "severity": "info"}
    ]
    if len(steps) <= 1:
        if filing.status == WITHDRAWN:
            raise FilingRefused(f"备案 {number} 已撤回")
        _bump(session, filing, None, status=WITHDRAWN)
        outcome = "withdrawn"
        for old_number in supersedes:
            old = session.exec(select(Filing).where(Filing.number == old_number)).first()
            if old is not None and old.status == FilingStatus.SUPERSEDED:
                _bump(session, old, None, status=FilingStatus.ACTIVE)
                audit(session, clerk_id, "restore", "filing", old.number, by=number)
    else:
        before = dict(steps[-2].snapshot)
        result = FilingResult.model_validate({**before.pop("result"), "checklist": []})
        request = FilingRequest.model_validate(before)
        _bump(session, filing, None, status=FilingStatus.ACTIVE)
        _apply(filing, request, result)
        session.add(filing)
        outcome = "restored"
    session.add(
        FilingHistory(
            filing_id=filing.id,  # type: ignore[arg-type]
            action="withdraw",
            snapshot={"reason": reason, "refusal": refusal, "outcome": outcome},
            reasons=note,
            clerk_id=clerk_id,
        )
    )
    audit(
        session,
        clerk_id,
        "withdraw",
        "filing",
        number,
        person_id=filing.person_id,
        reason=reason,
        refusal=refusal,
        outcome=outcome,
    )
    return outcome


def filings_of_id_number(db: Database, id_number: str) -> list[Filing]:
    """The filings of the person with this 身份证号 (none when unknown), newest first."""
    with db.read() as session:
        statement = (
            select(Filing)
            .join(Person, col(Person.id) == col(Filing.person_id))
            .where(Person.id_number == id_number.strip().upper())
            .order_by(col(Filing.created_at).desc(), col(Filing.id).desc())
        )
        return list(session.exec(statement).all())
