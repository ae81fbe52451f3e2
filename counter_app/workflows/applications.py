"""Reviewing an online application (不见面备案): approval makes a real filing at the counter.

The review is one transaction: the person (created from the application if the office does not
know them yet) is locked, the engine decides on the application and the person's filings read
there, and an approval writes the filing — under the application's number, with the destination
normalised as at the counter (海南 → province level) — its history, materials and audit, beside
the application's status and the ``application.review`` outbox event that carries the answer to
the provincial store (the store makes its copy of the filing from that event). After the next
sync the person and the filing are found at the counter by 身份证号, name, pinyin and number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import CounterError, InvalidInput
from counter_app.domain.idnumber import mask_id
from counter_app.domain.requests import FilingRequest
from counter_app.domain.results import FilingResult
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.filings import FilingRefused, as_existing, filings_of, write_filing
from counter_app.storage.models import Person, utcnow
from counter_app.storage.persons import PersonError, ensure_person
from counter_app.storage.records import audit, emit
from counter_app.storage.sync_models import OnlineApplication
from counter_app.workflows.filings import decide
from counter_app.workflows.refusals import REVIEW_KIND


class ReviewRefused(CounterError, ValueError):
    """A review that cannot be recorded; the message is Chinese."""


@dataclass(frozen=True)
class ApplicationView:
    """An application as the clerk sees it before deciding: what was sent, the materials by
    name, and the engine's verdict on the person's filings as the office holds them now."""

    application: OnlineApplication
    materials: list[str]
    verdict: FilingResult | None
    errors: list[str]


def application_request(engine: RulesEngine, app: OnlineApplication, today: date) -> dict[str, Any]:
    """The application as a filing request for the engine."""
    data = app.data
    return {
        "policy": engine.pack.pack.id,
        "action": "new",
        "today": today.isoformat(),
        "person": data.get("person") or {},
        "insurance": data.get("insurance"),
        "category": data.get("category"),
        "scope": data.get("scope"),
        "destination": data.get("destination"),
        "basis": data.get("basis", "commitment"),
        "materials": data.get("materials") or [],
        "channel": "online",  # e.g. 京细则 第八条: a 特殊病 filing is counter-only
        **({"end_date": data["end_date"]} if data.get("end_date") else {}),
    }


def _known_filings(session: Session, app: OnlineApplication) -> list[dict[str, Any]]:
    id_number = str((app.data.get("person") or {}).get("id_number", "")).upper()
    person = session.exec(select(Person).where(Person.id_number == id_number)).first()
    return as_existing(filings_of(session, person.id)) if person and person.id else []


def open_application(
    db: Database, engine: RulesEngine, app_id: str, today: date, clerk_id: int
) -> ApplicationView | None:
    """An application with its materials and the engine's verdict now (the view is audited)."""
    with db.write() as session:
        app = session.get(OnlineApplication, app_id)
        if app is None:
            return None
        request = {**application_request(engine, app, today), "existing": []}
        request["existing"] = _known_filings(session, app)
        person = app.data.get("person") or {}
        audit(
            session,
            clerk_id,
            "view",
            "online_application",
            app_id,
            id_masked=mask_id(str(person.get("id_number", ""))),
        )
    labels = engine.pack.material_labels
    materials = [labels.get(m, m) for m in request["materials"]]
    try:
        return ApplicationView(app, materials, engine.filing(request), [])
    except InvalidInput as exc:
        return ApplicationView(app, materials, None, [e.message for e in exc.errors])


def _approve(
    session: Session,
    engine: RulesEngine,
    signed: SignedIn,
    app: OnlineApplication,
    today: date,
) -> dict[str, Any]:
    """The application as a filing of the person (created if new); what the answer carries."""
    data = app.data
    person = data.get("person") or {}
    try:
        person_id = ensure_person(
            session,
            signed.clerk_id,
            name=str(person.get("name", "")),
            id_number=str(person.get("id_number", "")),
            insurance=str(data.get("insurance") or "employee"),
            today=today,
        )
    except PersonError as exc:
        raise ReviewRefused(f"申请内容有误，不能通过：{exc}") from None
    try:
        fresh, verdict = decide(session, engine, person_id, application_request(engine, app, today))
    except FilingRefused as exc:
        raise ReviewRefused(str(exc).replace("未保存", "不能通过")) from None
    if not verdict.allowed:
        raise ReviewRefused(
            "规则判断不允许，不能通过："
            + "；".join(r.message for r in verdict.reasons if r.severity == "error")
        )
    write_filing(
        session,
        signed,
        person_id,
        FilingRequest.model_validate(fresh),
        verdict,
        engine.pack.material_labels,
        number=app.id,
        announce=False,  # the review event below carries it; the store makes its copy from it
    )
    return {
        "valid_from": verdict.valid_from.isoformat() if verdict.valid_from else None,
        "valid_until": verdict.valid_until.isoformat() if verdict.valid_until else None,
    }


def review(
    db: Database,
    engine: RulesEngine,
    signed: SignedIn,
    app_id: str,
    decision: str,
    reason: str,
    today: date,
) -> str:
    """Record a review and queue the answer; approval needs the engine's consent and makes the
    filing. Returns the outbox event id."""
    if decision not in ("approved", "rejected"):
        raise ReviewRefused("审核结论应为 通过 或 不通过")
    try:
        reason = check_text("reason", reason)
    except TextFieldError as exc:
        raise ReviewRefused(str(exc)) from None
    if decision == "rejected" and not reason.strip():
        raise ReviewRefused("不通过原因：请填写（将告知申请人）")
    with db.write() as session:
        app = session.get(OnlineApplication, app_id)
        if app is None:
            raise ReviewRefused(f"没有线上申请 {app_id}")
        if app.status != "pending":
            raise ReviewRefused(f"线上申请 {app_id} 已审核过")
        extra = _approve(session, engine, signed, app, today) if decision == "approved" else {}
        app.status, app.reason = decision, reason.strip()
        app.reviewed_by, app.reviewed_at = signed.clerk_id, utcnow()
        session.add(app)
        person = app.data.get("person") or {}
        audit(
            session,
            signed.clerk_id,
            f"review_{decision}",
            "online_application",
            app_id,
            id_masked=mask_id(str(person.get("id_number", ""))),
        )
        return emit(
            session,
            signed.office_id,
            signed.clerk_id,
            REVIEW_KIND,
            {"application_id": app_id, "decision": decision, "reason": app.reason, **extra},
        )
