"""Manual reimbursement claims (零星报销) in the office database: intake, transitions, queue.

The lifecycle (statuses, transitions, labels) is ``domain.claim_lifecycle``, the year-to-date
arithmetic ``domain.year_to_date``, the documents' record ``printing.sources``; this module keeps
the claims. Every transition is written inside the caller's write
transaction: the claim row, its history entry, the itemised lines, the audit entry, the outbox
event ``claim.<action>`` and the draft it came from — all or nothing. The engine's answer
(``ClaimResult``) must have been decided in that transaction on the year-to-date figures read
there (``counter_app.workflows.claims`` does this under the person's lock); the due date, the
payment and the 费用协查 flag are copied from it. A claim the engine does not find eligible is
refused. Transitions carry the version the clerk saw; if
another clerk moved the claim meanwhile, ``StaleClaim`` is raised and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, func
from sqlmodel import Session, col, delete, select, update

from counter_app.domain.claim_lifecycle import (
    OPEN_STATUSES,
    PENDING,
    SETTLED,
    STATUS_ORDER,
    TRANSITIONS,
    ClaimAction,
    ClaimStatus,
    intake_step,
    is_overdue,
    may,
)
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.errors import CounterError
from counter_app.domain.idnumber import mask_id
from counter_app.domain.requests import ClaimRequest
from counter_app.domain.results import ClaimResult
from counter_app.domain.text_fields import TextFieldError, check_hospital, check_text
from counter_app.domain.year_to_date import year_to_date_sums
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import (
    Claim,
    ClaimHistory,
    ClaimLine,
    Clerk,
    Draft,
    Office,
    Person,
    utcnow,
)
from counter_app.storage.records import audit, emit, next_number

CLAIM_PREFIX = "BX"


class ClaimRefused(CounterError, ValueError):
    """The engine or the claim's status does not allow this step; nothing was written."""


class StaleClaim(CounterError, RuntimeError):
    """Another clerk changed the claim after it was opened; nothing was written."""


@dataclass(frozen=True)
class ClaimCommitted:
    """What a transition produced."""

    number: str
    claim_id: int
    status: ClaimStatus
    version: int
    event_id: str


@dataclass(frozen=True)
class ClaimRow:
    """A claim in the queue, with its person (masked)."""

    number: str
    person_id: int
    person_name: str
    id_masked: str
    status: ClaimStatus
    treatment: str
    due_date: date | None
    total: Decimal | None
    fund_total: Decimal | None
    cost_check_candidate: bool
    overdue: bool


@dataclass(frozen=True)
class ClaimView:
    """A whole claim for its page: the row, the person, the office, lines and history."""

    claim: Claim
    person: Person
    office: Office
    lines: list[ClaimLine]
    history: list[ClaimHistory] = field(default_factory=list)
    #: Who handled the latest step (the printed documents name the clerk).
    clerk_name: str = ""


def _committed(claim: Claim, event_id: str) -> ClaimCommitted:
    assert claim.id is not None
    status = ClaimStatus(claim.status)
    return ClaimCommitted(claim.number, claim.id, status, claim.version, event_id)


def _figures(claim: Claim, request: ClaimRequest, result: ClaimResult) -> None:
    """Copy the engine's figures onto the row (the queue and the YTD sums read them)."""
    claim.total = request.amounts.total if request.amounts else None
    payment = result.payment
    claim.fund_total = payment.fund_total if payment else None
    claim.personal_cash = payment.personal_cash if payment else None
    claim.settlement_year = payment.settlement_year if payment else None
    claim.cost_check_candidate = result.cost_check_candidate
    claim.case = result.case
    claim.treatment = request.treatment


def event_payload(claim: Claim, person: Person, action: str) -> dict[str, Any]:
    """The outbox payload of a claim step: the claim as the provincial store keeps it."""
    payment = claim.result.get("payment") or {}
    return {
        "action": action,
        "number": claim.number,
        "status": claim.status,
        "person": {"name": person.name, "id_number": person.id_number},
        "case": claim.case,
        "treatment": claim.treatment,
        "accepted_on": claim.accepted_on.isoformat() if claim.accepted_on else None,
        "due_date": claim.due_date.isoformat() if claim.due_date else None,
        "total": f"{claim.total:.2f}" if claim.total is not None else None,
        "fund_total": f"{claim.fund_total:.2f}" if claim.fund_total is not None else None,
        "personal_cash": f"{claim.personal_cash:.2f}" if claim.personal_cash is not None else None,
        "funds": payment.get("funds", []),
        "missing": claim.result.get("missing", []),
        "return_reason": claim.return_reason,
        # the slip's hospital details (入院方式, 住院号, 科室, 诊断) travel with the claim
        "hospital": claim.hospital or {},
        "version": claim.version,
    }


def _record(
    session: Session,
    claim: Claim,
    person: Person,
    signed: SignedIn,
    action: str,
    from_status: str,
    note: str = "",
) -> str:
    """History, audit and outbox of one transition; returns the event id."""
    assert claim.id is not None
    session.add(
        ClaimHistory(
            claim_id=claim.id,
            action=action,
            from_status=from_status,
            to_status=claim.status,
            note=note,
            missing=list(claim.result.get("missing", [])),
            clerk_id=signed.clerk_id,
        )
    )
    audit(
        session,
        signed.clerk_id,
        action,
        "claim",
        claim.number,
        person_id=person.id,
        id_masked=mask_id(person.id_number),
        status=claim.status,
        **({"note": note} if note else {}),
    )
    return emit(
        session,
        signed.office_id,
        signed.clerk_id,
        f"claim.{action}",
        event_payload(claim, person, action),
    )


def _bump(session: Session, claim: Claim, expected_version: int | None, **values: Any) -> None:
    """Optimistic update: only if nobody changed the claim since the clerk opened it."""
    version = claim.version if expected_version is None else expected_version
    outcome = cast(  # an UPDATE's result is a CursorResult (sqlmodel types it as Result)
        CursorResult[Any],
        session.execute(
            update(Claim)
            .where(col(Claim.id) == claim.id, col(Claim.version) == version)
            .values(version=version + 1, updated_at=utcnow(), **values)
        ),
    )
    if outcome.rowcount != 1:
        raise StaleClaim(f"报销 {claim.number} 已被其他经办人办理，请重新打开后再办理")
    session.refresh(claim)


def _replace_lines(session: Session, claim_id: int, lines: Sequence[ItemLine]) -> None:
    session.execute(delete(ClaimLine).where(col(ClaimLine.claim_id) == claim_id))
    for position, line in enumerate(lines):
        session.add(
            ClaimLine(
                claim_id=claim_id,
                position=position,
                day=line.day,
                item=line.item,
                amount=line.amount,
                category=line.category,
            )
        )


def write_claim(
    session: Session,
    signed: SignedIn,
    person_id: int,
    request: ClaimRequest,
    result: ClaimResult,
    *,
    lines: Sequence[ItemLine] = (),
    ytd_computed: dict[str, str] | None = None,
    number: str | None = None,
    expected_version: int | None = None,
    draft_id: int | None = None,
    hospital: dict[str, str] | None = None,
) -> ClaimCommitted:
    """Save a claim as 待补材料 or accept it (complete materials), in one transaction.

    With ``number`` the claim already exists as 待补材料 and is resumed: still incomplete, it is
    updated; complete, it is accepted. ``ytd_computed`` is what the office's settled claims gave
    for the year-to-date accumulators: when the request's ``ytd`` differs, the clerk overrode it
    and the override is stored on the claim and audited. ``hospital`` (name, place) is what
    the clerk typed for the settlement slip; empty values are not stored.
    """
    if not result.eligible:
        raise ClaimRefused(
            "规则判断不予报销，未保存："
            + "；".join(r.message for r in result.reasons if r.severity == "error")
        )
    try:
        hospital = check_hospital(hospital)
        for line in lines:
            check_text("item", line.item)
    except TextFieldError as exc:
        raise ClaimRefused(str(exc)) from None
    complete = result.complete and result.due is not None
    person = session.get(Person, person_id)
    office = session.get(Office, signed.office_id)
    assert person is not None and office is not None
    request_json = request.model_dump(mode="json")
    result_json = result.model_dump(mode="json")
    if number is None:
        claim = Claim(
            number=next_number(session, office, "claim", request.today, CLAIM_PREFIX),
            person_id=person_id,
            office_id=signed.office_id,
            policy=request.policy,
            treatment=request.treatment,
            request=request_json,
            result=result_json,
            created_by=signed.clerk_id,
        )
        from_status = ""
        session.add(claim)
        session.flush()
    else:
        claim = session.exec(select(Claim).where(Claim.number == number)).one()
        if claim.person_id != person_id:
            raise ClaimRefused(f"报销 {number} 不属于该参保人")
        if claim.status != PENDING:
            raise StaleClaim(f"报销 {number} 已不是待补材料状态，请重新打开后再办理")
        from_status = claim.status
        _bump(session, claim, expected_version)
    claim.request, claim.result = request_json, result_json
    claim.hospital = {k: v for k, v in (hospital or {}).items() if v} or None
    _figures(claim, request, result)
    claim.status, action = intake_step(complete, resumed=number is not None)
    if complete:
        assert result.due is not None
        claim.materials_complete_on = claim.accepted_on = request.today
        claim.due_date, claim.calendar_version = result.due.date, result.due.calendar_version
    override = request.ytd.model_dump(mode="json")
    if ytd_computed is not None and override != ytd_computed:
        claim.ytd_override = {"entered": override, "computed": ytd_computed}
        audit(
            session,
            signed.clerk_id,
            "ytd_override",
            "claim",
            claim.number,
            person_id=person_id,
            entered=override,
            computed=ytd_computed,
        )
    else:
        claim.ytd_override = None
    session.add(claim)
    session.flush()
    assert claim.id is not None
    _replace_lines(session, claim.id, lines)
    event_id = _record(session, claim, person, signed, action, from_status)
    if draft_id is not None:
        draft = session.get(Draft, draft_id)
        if draft is not None:
            session.delete(draft)
    return _committed(claim, event_id)


def write_recalculation(
    session: Session,
    signed: SignedIn,
    claim: Claim,
    request: ClaimRequest,
    result: ClaimResult,
    ytd_computed: dict[str, str],
) -> ClaimCommitted:
    """The engine's figures on fresh year-to-date data replace the stored ones (audited).

    Used when a settlement finds that the year-to-date figures moved since the claim was taken
    (another claim of the person was settled meanwhile): the clerk sees the new figures first.
    """
    person = session.get(Person, claim.person_id)
    assert person is not None and claim.id is not None
    before = claim.result.get("payment") or {}
    _bump(session, claim, None)
    claim.request, claim.result = request.model_dump(mode="json"), result.model_dump(mode="json")
    _figures(claim, request, result)
    session.add(claim)
    session.flush()
    session.add(
        ClaimHistory(
            claim_id=claim.id,
            action=ClaimAction.RECALCULATE,
            from_status=claim.status,
            to_status=claim.status,
            note="本年度累计已变化，按最新累计重新计算",
            missing=list(claim.result.get("missing", [])),
            clerk_id=signed.clerk_id,
        )
    )
    audit(
        session,
        signed.clerk_id,
        ClaimAction.RECALCULATE,
        "claim",
        claim.number,
        person_id=person.id,
        ytd=ytd_computed,
        fund_total_before=before.get("fund_total"),
        fund_total_after=f"{claim.fund_total:.2f}" if claim.fund_total is not None else None,
    )
    return _committed(claim, "")


def write_transition(
    session: Session,
    signed: SignedIn,
    number: str,
    action: str,
    *,
    expected_version: int | None = None,
    reason: str = "",
    today: date | None = None,
) -> ClaimCommitted:
    """审核 (review), 结算 (settle: the stored payment is confirmed) or 退回 (return: reason).

    ``today`` is the office's business date (fixed in tests and training); a settlement is
    counted on it in the day report.
    """
    target = TRANSITIONS[action][1]
    try:
        reason = check_text("reason", reason)
    except TextFieldError as exc:
        raise ClaimRefused(str(exc)) from None
    if action == ClaimAction.RETURN and not reason:
        raise ClaimRefused("退回原因：请填写退回的原因")
    claim = session.exec(select(Claim).where(Claim.number == number)).first()
    if claim is None:
        raise ClaimRefused(f"没有编号为 {number} 的报销")
    if not may(action, claim.status):
        label = ClaimAction(action).label
        raise StaleClaim(f"报销 {number} 当前状态不能{label}，请重新打开后再办理")
    if action == ClaimAction.SETTLE and not claim.result.get("payment"):
        raise ClaimRefused(f"报销 {number} 没有规则计算的支付结果，不能结算")
    values: dict[str, Any] = {"status": target}
    if action == ClaimAction.SETTLE:
        values["settled_at"] = utcnow()
        values["settled_on"] = today or date.today()
    if action == ClaimAction.RETURN:
        values["return_reason"] = reason
    from_status = claim.status
    _bump(session, claim, expected_version, **values)
    person = session.get(Person, claim.person_id)
    assert person is not None and claim.id is not None
    event_id = _record(session, claim, person, signed, action, from_status, reason)
    return _committed(claim, event_id)


def year_to_date(
    db: Database, office_id: int, person_id: int, year: int, basic_funds: Iterable[str]
) -> dict[str, str]:
    """The accumulators of ``year`` from this office's settled claims of the person.

    Sums the deductible and the fund amounts as the engine stored them (per calendar-year segment
    where a stay was split): ``basic_funds`` are the funds the annual cap applies to; the others
    count as paid above the cap. Returns the ``YearToDate`` request form (amounts as text).
    """
    with db.read() as session:
        return year_to_date_in(session, office_id, person_id, year, basic_funds)


def year_to_date_in(
    session: Session, office_id: int, person_id: int, year: int, basic_funds: Iterable[str]
) -> dict[str, str]:
    """``year_to_date`` as the given transaction sees the settled claims."""
    results = session.exec(
        select(Claim.result).where(
            Claim.office_id == office_id,
            Claim.person_id == person_id,
            Claim.status == SETTLED,
            col(Claim.settlement_year).in_([year, year + 1]),
        )
    ).all()
    return year_to_date_sums(results, year, basic_funds)


def claim_queue(
    db: Database, today: date, statuses: Iterable[str] = STATUS_ORDER, limit: int = 500
) -> list[ClaimRow]:
    """Claims by status (work to do first) and due date, with overdue ones marked."""
    wanted = list(statuses)
    with db.read() as session:
        statement = (
            select(Claim, Person)
            .join(Person, col(Person.id) == col(Claim.person_id))
            .where(col(Claim.status).in_(wanted))
            .order_by(col(Claim.due_date).is_(None), col(Claim.due_date), col(Claim.id))
            .limit(limit)
        )
        pairs = session.exec(statement).all()
    rows = [
        ClaimRow(
            number=c.number,
            person_id=p.id,  # type: ignore[arg-type]
            person_name=p.name,
            id_masked=mask_id(p.id_number),
            status=ClaimStatus(c.status),
            treatment=c.treatment,
            due_date=c.due_date,
            total=c.total,
            fund_total=c.fund_total,
            cost_check_candidate=c.cost_check_candidate,
            overdue=is_overdue(c.status, c.due_date, today),
        )
        for c, p in pairs
    ]
    return sorted(rows, key=lambda r: STATUS_ORDER.index(r.status))


def claim_counts(db: Database, today: date) -> dict[str, int]:
    """How many claims are in each status, and how many open ones are overdue."""
    with db.read() as session:
        counts = dict(session.exec(select(Claim.status, func.count()).group_by(Claim.status)).all())
        overdue = session.exec(
            select(func.count())
            .select_from(Claim)
            .where(col(Claim.status).in_(list(OPEN_STATUSES)), col(Claim.due_date) < today)
        ).one()
    return {**{s: counts.get(s, 0) for s in STATUS_ORDER}, "overdue": overdue}


def person_claims(db: Database, person_id: int) -> list[Claim]:
    """A person's claims, newest first."""
    with db.read() as session:
        statement = select(Claim).where(Claim.person_id == person_id).order_by(col(Claim.id).desc())
        return list(session.exec(statement).all())


def _view(session: Session, claim: Claim) -> ClaimView:
    person = session.get(Person, claim.person_id)
    office = session.get(Office, claim.office_id)
    assert person is not None and office is not None
    lines = session.exec(
        select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(col(ClaimLine.position))
    ).all()
    history = session.exec(
        select(ClaimHistory).where(ClaimHistory.claim_id == claim.id).order_by(col(ClaimHistory.id))
    ).all()
    clerk = session.get(Clerk, history[-1].clerk_id if history else claim.created_by)
    return ClaimView(
        claim, person, office, list(lines), list(history), clerk.display_name if clerk else ""
    )


def open_claim(db: Database, number: str, clerk_id: int) -> ClaimView | None:
    """A claim with everything its page shows; the view is audited."""
    with db.write() as session:
        claim = session.exec(select(Claim).where(Claim.number == number)).first()
        if claim is None:
            return None
        view = _view(session, claim)
        audit(session, clerk_id, "view", "claim", number, person_id=view.person.id)
        return view


def read_claim(db: Database, number: str) -> ClaimView | None:
    """A claim for printing; not audited here, as every print job is (``printing.jobs``)."""
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.number == number)).first()
        return _view(session, claim) if claim is not None else None
