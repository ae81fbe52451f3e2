"""``/v1/hello`` and the other calls an office makes to know where it stands (FastAPI router).

``GET /v1/hello`` (authenticated) answers whose token it is, the store's signing key id, the
protocol version, and what the store holds of the office: the highest event sequence number and
the highest document number per prefix and day (from events after ``since``), so that an office
restored from a backup continues above them. ``GET /v1/own-events`` hands the office back its own
events after a sequence number (to recover what a restored database lacks), and
``POST /v1/office-key`` takes an office's new public key (proven and endorsed, see
``province_keys``). ``server.create_app`` includes this router.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from sqlalchemy import func, select

from counter_app.sync import protocol
from counter_app.sync.province_keys import accept_key, signing_key_path, store_key_id
from counter_app.sync.province_tables import events
from counter_app.sync.server import Office
from counter_app.sync.store import ProvinceStore, StoreError

router = APIRouter(prefix=protocol.PREFIX)

#: The highest value of the store's integer columns on both databases (PostgreSQL int4).
SEQ_MAX = 2**31 - 1
OWN_EVENTS_PAGE = 500


def _store(request: Request) -> ProvinceStore:
    return request.app.state.store


def document_numbers(office_code: str, payloads: list[str]) -> list[dict[str, Any]]:
    """The highest serial per (prefix, day) among numbers ``<prefix><office><yyyymmdd><nnnn>``."""
    pattern = re.compile(rf"^([A-Z]{{1,6}}){re.escape(office_code)}(\d{{8}})(\d{{4,6}})$")
    highest: dict[tuple[str, str], int] = {}
    for text in payloads:
        try:
            number = json.loads(text).get("number")
        except (ValueError, AttributeError):
            continue
        match = pattern.match(number) if isinstance(number, str) else None
        if match:
            key = (match.group(1), match.group(2))
            highest[key] = max(highest.get(key, 0), int(match.group(3)))
    return [
        {"prefix": prefix, "day": day, "last": last}
        for (prefix, day), last in sorted(highest.items())
    ]


@router.get("/hello")
def hello(
    request: Request,
    office: Office,
    since: Annotated[int, Query(ge=0, le=SEQ_MAX)] = 0,
) -> dict[str, Any]:
    """Who the token belongs to, the store's key, and what the store holds of the office."""
    store = _store(request)
    with store.engine.connect() as conn:
        max_seq = conn.execute(
            select(func.max(events.c.seq)).where(events.c.office == office.code)
        ).scalar()
        payloads = conn.execute(
            select(events.c.payload).where(events.c.office == office.code, events.c.seq > since)
        ).scalars()
        numbers = document_numbers(office.code, list(payloads))
    key_path = getattr(request.app.state, "signing_key_path", None) or signing_key_path(store.url)
    return {
        "office": office.code,
        "name": office.name,
        "pool_code": office.pool_code,
        "protocol": protocol.VERSION,
        "key_id": store_key_id(key_path),
        "max_seq": max_seq or 0,
        "numbers": numbers,
    }


@router.get("/own-events")
def own_events(
    request: Request,
    office: Office,
    after: Annotated[int, Query(ge=0, le=SEQ_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=OWN_EVENTS_PAGE)] = OWN_EVENTS_PAGE,
) -> dict[str, Any]:
    """The office's own events after sequence number ``after``, in order, as it sent them."""
    with _store(request).engine.connect() as conn:
        rows = conn.execute(
            select(events)
            .where(events.c.office == office.code, events.c.seq > after)
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
    items = [
        {
            "id": r.id,
            "office": r.office,
            "seq": r.seq,
            "clerk": r.clerk,
            "kind": r.kind,
            "payload": json.loads(r.payload),
            "hash": r.hash,
        }
        for r in rows
    ]
    return {"events": items, "more": len(items) == limit}


@router.post("/office-key")
def office_key(
    request: Request, office: Office, document: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Take the office's new public key (announcement proven by it, endorsed by the old one)."""
    try:
        key_id = accept_key(_store(request), document, office.code)
    except StoreError as exc:
        raise HTTPException(409, detail={"code": "key_refused", "message": str(exc)}) from None
    return {"office": office.code, "key_id": key_id}
