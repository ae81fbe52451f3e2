"""The typed request bodies and answers of the provincial server (what its OpenAPI schema shows).

Requests are validated in strict mode with the bounds of ``wire``; a request that does not fit is
answered 422 with a Chinese message. Each event inside a push is left to the store, which checks
it against ``wire.WireEvent`` and its kind's payload model and answers ``bad_event`` alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from counter_app.province.wire import BatchId, Hash, Limits
from counter_app.sync import protocol

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

#: A reconcile block number as text; six digits reach sequence number 500 million (int4 would
#: allow 4,294,967 blocks, but a pattern that says exactly that would not fit in a schema).
BlockKey = Annotated[str, Limits(6, pattern=r"^(0|[1-9][0-9]{0,5})$")]
_BLOCK_KEYS: dict[str, Any] = {"pattern": r"^(0|[1-9][0-9]{0,5})$", "minLength": 1, "maxLength": 6}


class PushRequest(BaseModel):
    """``POST /v1/events``: a batch of at most ``BATCH_MAX`` events, each checked on its own."""

    model_config = _STRICT

    batch_id: BatchId | None = None
    events: list[
        Annotated[
            Any,
            Field(
                json_schema_extra={
                    "anyOf": [{"$ref": "#/components/schemas/WireEvent"}, {}],
                    "description": "一个事件（WireEvent）；格式不符的事件单独得到 bad_event",
                }
            ),
        ]
    ] = Field(max_length=protocol.BATCH_MAX)


class EventAnswer(BaseModel):
    """The store's answer to one event, in the order they came."""

    id: str | None = Field(description="事件编号（格式无效时为 null）")
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None


class PushAnswer(BaseModel):
    """The answers to a push."""

    batch_id: str
    results: list[EventAnswer]


def _integral(value: Any) -> Any:
    """JSON Schema counts ``3.0`` as an integer: take it as 3 (``true`` stays refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Digest(BaseModel):
    """Count and hash of one reconcile block."""

    model_config = _STRICT

    count: Annotated[int, Field(ge=0, le=protocol.BATCH_MAX), BeforeValidator(_integral)]
    hash: Hash


class ReconcileRequest(BaseModel):
    """``POST /v1/reconcile``: the office's digests per block (block number as text)."""

    model_config = _STRICT

    blocks: dict[BlockKey, Digest] = Field(
        default_factory=dict,
        max_length=10_000,
        # pydantic writes patternProperties, which lets other keys through: say it exactly.
        json_schema_extra={
            "propertyNames": _BLOCK_KEYS,
            "additionalProperties": {"$ref": "#/components/schemas/Digest"},
            "patternProperties": None,
        },
    )


class StoredEvent(BaseModel):
    """An event of a block that differs: sequence, id and hash."""

    seq: int
    id: str
    hash: str


class BlockCompare(BaseModel):
    """One block compared."""

    block: int
    client: Digest | None
    server: Digest | None
    match: bool
    server_events: list[StoredEvent] | None = None


class ReconcileAnswer(BaseModel):
    """The comparison of the office's events with the store's."""

    office: str
    match: bool
    server_count: int
    blocks: list[BlockCompare]


class FeedItem(BaseModel):
    """One item published for the office."""

    cursor: int
    type: str
    data: dict[str, Any]


class PullAnswer(BaseModel):
    """A page of the pull feed."""

    items: list[FeedItem]
    cursor: int
    more: bool


class StoredFiling(BaseModel):
    """A filing as the store holds it."""

    number: str
    office: str
    id_number: str
    name: str
    status: str
    category: str
    destination: str
    valid_from: str
    valid_until: str | None
    event_id: str
    updated_at: str


class FilingsAnswer(BaseModel):
    """The office's filings at the store, newest first."""

    filings: list[StoredFiling]


class ErrorDetail(BaseModel):
    """A refused request: machine code and Chinese message."""

    code: str
    message: str


class ErrorAnswer(BaseModel):
    """Every 4xx/5xx answer of the store."""

    detail: ErrorDetail
