"""``/v1/hello`` and the other calls an office makes to know where it stands (FastAPI router).

``GET /v1/hello`` (authenticated) answers whose token it is, the store's signing key id, the
protocol version, and what the store holds of the office: the highest event sequence number and
the highest document number per prefix and day (from events after ``since``), so that an office
restored from a backup continues above them. ``GET /v1/own-events`` hands the office back its own
events after a sequence number (to recover what a restored database lacks), and
``POST /v1/office-key`` takes an office's new public key (proven and endorsed, see
``keys``). ``server.create_app`` includes this router.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from counter_app.province import api_models as api
from counter_app.province.keys import accept_key, signing_key_path, store_key_id
from counter_app.province.server import COMMON, GuardedRoute, Office
from counter_app.province.store import ProvinceStore, StoreError
from counter_app.province.tables import events
from counter_app.sync import protocol

# The store's guard: body capped, then the token, then strict parsing (see ``server``).
router = APIRouter(prefix=protocol.PREFIX, route_class=GuardedRoute, responses=COMMON)

#: The highest value of the store's integer columns on both databases (PostgreSQL int4).
SEQ_MAX = 2**31 - 1
OWN_EVENTS_PAGE = 500


class DocumentNumber(BaseModel):
    """The highest serial the store holds for one document prefix and day."""

    prefix: str
    day: str = Field(description="yyyymmdd")
    last: int


class HelloAnswer(BaseModel):
    """Who the token belongs to and where the store stands with the office."""

    office: str
    name: str
    pool_code: str
    protocol: str
    key_id: str | None = Field(description="the store's signing key id; null before it has one")
    max_seq: int
    numbers: list[DocumentNumber]


class OwnEvent(BaseModel):
    """One of the office's own events as the store holds it."""

    id: str
    office: str
    seq: int
    clerk: str
    kind: str
    payload: dict[str, Any]
    hash: str


class OwnEventsAnswer(BaseModel):
    """A page of the office's own events."""

    events: list[OwnEvent]
    more: bool


class Signature(BaseModel):
    """A detached Ed25519 signature."""

    model_config = ConfigDict(strict=True, extra="forbid")

    alg: str = Field(max_length=16)
    key_id: str = Field(max_length=40)
    value: str = Field(max_length=256)


class KeyAnnouncement(BaseModel):
    """An office's new public key, proven by it and endorsed by the key it replaces."""

    model_config = ConfigDict(strict=True, extra="forbid")

    format: str = Field(max_length=40)
    office: str = Field(max_length=12)
    public_key: str = Field(max_length=64)
    key_id: str = Field(max_length=40)
    proof: Signature
    endorsement: Signature | None = None


class KeyAnswer(BaseModel):
    """The key the store now holds for the office."""

    office: str
    key_id: str


#: An announcement is a few hundred bytes; anything much larger is refused before parsing.
KEY_BODY_MAX = 16 * 1024


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined (to document a hand-parsed body)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def _bad_request(message: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail={"code": "bad_request", "message": message})


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


@router.get("/hello", response_model=HelloAnswer)
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


@router.get("/own-events", response_model=OwnEventsAnswer)
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


@router.post(
    "/office-key",
    response_model=KeyAnswer,
    responses={
        409: {"model": api.ErrorAnswer, "description": "公钥未被采用"},
        413: {"model": api.ErrorAnswer, "description": "请求过大"},
        422: {"model": api.ErrorAnswer, "description": "格式不对"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(KeyAnnouncement)}},
        }
    },
)
async def office_key(request: Request, office: Office) -> dict[str, Any]:
    """Take the office's new public key (announcement proven by it, endorsed by the old one).

    The body is parsed here rather than by FastAPI, whose validation answer echoes the input and
    cannot be encoded when it holds a lone surrogate; the answer names the fields only.
    """
    raw = await request.body()
    if len(raw) > KEY_BODY_MAX:
        raise _bad_request(f"请求过大（超过 {KEY_BODY_MAX} 字节）", 413)
    try:
        document = KeyAnnouncement.model_validate_json(raw)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) or "(正文)" for e in exc.errors()})
        raise _bad_request(f"公钥报送的格式不对：{'、'.join(fields)[:200]}") from None
    try:
        key_id = await run_in_threadpool(
            accept_key, _store(request), document.model_dump(), office.code
        )
    except StoreError as exc:
        raise HTTPException(409, detail={"code": "key_refused", "message": str(exc)}) from None
    return {"office": office.code, "key_id": key_id}
