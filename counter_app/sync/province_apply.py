"""How the reference provincial store applies each kind of event, inside a push transaction.

A function returns the refusal (a rejected answer) having written nothing, or ``None`` once the
change is written: a filing (new, change, cancel; another office's active filing of the person
refuses a new one) or the review of an online application (approval makes the filing). Other
offices that filed for the same person hear of a new filing through the pull feed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from counter_app.domain.idnumber import mask_id
from counter_app.sync import protocol
from counter_app.sync.protocol import rejection
from counter_app.sync.province_tables import (
    OfficeInfo,
    applications,
    feed,
    filings,
    misfit,
    offices,
    people,
)


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def lock_keys(conn: Connection, keys: list[str], postgres: bool) -> None:
    """Row locks on the persons' rows (PostgreSQL; SQLite has one writer at a time)."""
    # Row locks on the persons' rows, taken in sorted order so that two batches never wait
    # on each other crosswise (if they ever do, PostgreSQL aborts one and it is retried).
    # Row locks live in the rows, so a batch of 500 persons does not fill the lock table.
    # SQLite needs none: it has one writer at a time.
    if not postgres or not keys:
        return
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    conn.execute(
        pg_insert(people).values([{"id_number": k} for k in keys]).on_conflict_do_nothing()
    )
    conn.execute(
        select(people.c.id_number)
        .where(people.c.id_number.in_(keys))
        .order_by(people.c.id_number)
        .with_for_update()
    )


def elsewhere(
    conn: Connection, office: OfficeInfo, id_number: str
) -> tuple[dict[str, Any] | None, set[str]]:
    """The refusal if another office has an active filing; the offices that filed at all."""
    rows = conn.execute(
        select(filings.c.number, filings.c.office, filings.c.status, offices.c.name)
        .join(offices, offices.c.code == filings.c.office)
        .where(filings.c.id_number == id_number, filings.c.office != office.code)
    ).all()
    active = next((r for r in rows if r.status == "active"), None)
    refusal = None
    if active is not None:
        refusal = rejection(
            "active_filing_elsewhere",
            f"{mask_id(id_number)} 有备案 {active.number}（{active.name}）",
        )
    return refusal, {r.office for r in rows}


def apply_filing(
    conn: Connection, office: OfficeInfo, event: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply a filing event; the refusal, or None when applied (persons locked already)."""
    payload = event["payload"]
    number = payload.get("number")
    person = payload.get("person") or {}
    id_number = person.get("id_number")
    if not isinstance(number, str) or not isinstance(id_number, str):
        return rejection("bad_event", "缺少备案编号或身份证号")
    row = conn.execute(select(filings.c.office).where(filings.c.number == number)).first()
    values = {
        "status": payload.get("status", "active"),
        "category": payload.get("category", ""),
        "destination": payload.get("destination", ""),
        "valid_from": payload.get("valid_from", ""),
        "valid_until": payload.get("valid_until"),
        "event_id": event["id"],
        "updated_at": now(),
    }
    unfit = misfit(
        filings,
        {**values, "number": number, "id_number": id_number, "name": person.get("name", "")},
    )
    if unfit:
        return rejection("bad_event", unfit)
    if event["kind"] != "filing.new":
        if row is None:
            return rejection("unknown_filing", number)
        if row.office != office.code:
            return rejection("not_your_filing", number)
        conn.execute(update(filings).where(filings.c.number == number).values(**values))
        return None
    if row is not None and row.office != office.code:
        return rejection("not_your_filing", number)
    conflict, others = elsewhere(conn, office, id_number)
    if conflict and values["status"] == "active":
        return conflict
    for old in payload.get("supersedes") or []:
        conn.execute(
            update(filings)
            .where(filings.c.number == old, filings.c.office == office.code)
            .values(status="superseded", updated_at=now())
        )
    if row is None:
        conn.execute(
            insert(filings).values(
                number=number,
                office=office.code,
                id_number=id_number,
                name=person.get("name", ""),
                **values,
            )
        )
    else:
        conn.execute(update(filings).where(filings.c.number == number).values(**values))
    data = {
        "number": number,
        "office": office.code,
        "office_name": office.name,
        "person": {"name": person.get("name", ""), "id_number": id_number},
        **{k: values[k] for k in ("status", "category", "destination", "valid_from")},
        "valid_until": values["valid_until"],
    }
    for other in sorted(others):  # other offices that filed for this person hear of it
        publish(conn, "filing_elsewhere", data, office=other)
    return None


def apply_review(
    conn: Connection, office: OfficeInfo, event: dict[str, Any], postgres: bool
) -> dict[str, Any] | None:
    """Apply the review of an online application; approval makes the filing."""
    payload = event["payload"]
    app_id = payload.get("application_id")
    decision = payload.get("decision")
    if decision not in ("approved", "rejected"):
        return rejection("bad_event", "审核结论应为 approved 或 rejected")
    if not isinstance(app_id, str) or len(app_id) > 40:
        return rejection("bad_event", "application_id")
    row = conn.execute(
        select(applications).where(
            applications.c.id == app_id, applications.c.office == office.code
        )
    ).first()
    if row is None:
        return rejection("unknown_application", str(app_id))
    if row.status != "pending":
        return rejection("application_reviewed", str(app_id))
    if decision == "approved":
        data = json.loads(row.data)
        person = data.get("person") or {}
        id_number = str(person.get("id_number", ""))
        lock_keys(conn, [id_number] if len(id_number) <= 18 else [], postgres)
        conflict, _ = elsewhere(conn, office, id_number)
        if conflict:
            return conflict
        values = {
            "number": app_id,
            "office": office.code,
            "id_number": id_number,
            "name": person.get("name", ""),
            "status": "active",
            "category": data.get("category", ""),
            "destination": data.get("destination", ""),
            "valid_from": payload.get("valid_from") or data.get("submitted_on", ""),
            "valid_until": payload.get("valid_until"),
            "event_id": event["id"],
            "updated_at": now(),
        }
        unfit = misfit(filings, values)
        if unfit:
            return rejection("bad_event", unfit)
        conn.execute(insert(filings).values(**values))
    conn.execute(
        update(applications)
        .where(applications.c.id == app_id)
        .values(status=decision, reason=str(payload.get("reason", "")), reviewed_at=now())
    )
    return None


def publish(
    conn: Connection,
    type_: str,
    data: dict[str, Any],
    *,
    office: str | None = None,
    pool_code: str | None = None,
) -> None:
    """Put an item on the pull feed: for one office, every office of a pool, or everyone."""
    conn.execute(
        insert(feed).values(
            office=office,
            pool_code=pool_code,
            type=type_,
            data=protocol.canonical(data),
            created_at=now(),
        )
    )
