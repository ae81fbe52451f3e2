"""Strict wire models of protocol v1: what the provincial store accepts, with explicit bounds.

Two levels. A *request* (the push envelope, a reconcile body, the pull cursor) that does not fit
is answered 4xx with a Chinese message; an *event* inside a push that does not fit is answered
``bad_event`` naming the field, alone, while the rest of the batch goes on. Both are checked
before anything is stored, and the bounds are those of the smaller database: integers fit
PostgreSQL's ``integer`` (int4), strings fit their columns, text carries no control characters
and no lone surrogates (PostgreSQL refuses NUL, and a surrogate cannot be encoded), numbers are
finite, JSON nests at most ``MAX_DEPTH`` levels. pydantic validates in strict mode (``true`` is
not ``1``, ``"1"`` is not ``1``); enum values are exact. The request bodies and answers built on
these types are in ``api_models``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from counter_app.domain.errors import CounterError, describe_error, field_path
from counter_app.domain.policy import Category, Insurance, Scope
from counter_app.domain.requests import EARLIEST_DATE, LATEST_DATE
from counter_app.sync import protocol

#: PostgreSQL ``integer``: sequence numbers, cursors and counts stay below this on both databases.
INT4_MAX = 2**31 - 1
#: Integers anywhere in a stored payload (SQLite's and PostgreSQL's ``bigint``).
INT8_MAX = 2**63 - 1
#: Nesting of a whole request body (a push is body → events → event → payload → … ).
MAX_DEPTH = 16
#: A push body larger than this is refused before it is read further, parsed or authenticated.
BODY_MAX = 4 * 1024 * 1024
#: Characters no stored text may hold: C0 controls, DEL, C1 controls, lone surrogates.
_BAD_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: Free text of an event (a reason, a hospital's name) and its keys.
TEXT_MAX = 2000
KEY_MAX = 64

_OPEN = ConfigDict(strict=True, extra="allow", frozen=True)


class WireError(CounterError, ValueError):
    """A request the store refuses as a whole: HTTP status, machine code, Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)

    def answer(self) -> dict[str, Any]:
        """The JSON answer body (the shape of FastAPI's ``HTTPException`` detail)."""
        return {"detail": {"code": self.code, "message": self.message}}


def _no_control(value: str) -> str:
    if _BAD_CHAR.search(value):
        raise ValueError("含控制字符或无效字符")
    return value


def _real_date(value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("日期无效，应为 YYYY-MM-DD 格式的真实日期") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"日期超出合理范围（{EARLIEST_DATE} 至 {LATEST_DATE}）")
    return value


def Limits(max_length: int, min_length: int = 1, pattern: str | None = None) -> StringConstraints:
    """A string's length bounds and optional pattern (``Annotated[str, Limits(…), NO_CONTROL]``:
    a type alias the type checker understands, unlike a function returning ``Annotated``)."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)


#: No control characters in any text that travels. A type whose pattern admits only some ASCII
#: characters (``^[A-Za-z0-9]+$``) needs no such check: pydantic's patterns are Rust regexes,
#: whose ``$`` is the very end of the text (not before a final newline, as in Python's ``re``).
NO_CONTROL = AfterValidator(_no_control)


EventId = Annotated[str, Limits(36, pattern=r"^[A-Za-z0-9._:-]+$")]
OfficeCode = Annotated[str, Limits(12, pattern=r"^[A-Za-z0-9]+$")]
Kind = Annotated[str, Limits(40, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
Number = Annotated[str, Limits(40, pattern=r"^[A-Za-z0-9_-]+$")]
IdNumber = Annotated[str, Limits(18, min_length=18, pattern=r"^[0-9]{17}[0-9X]$")]
RegionCode = Annotated[str, Limits(6, min_length=6, pattern=r"^[0-9]{6}$")]
IsoDate = Annotated[
    str,
    StringConstraints(min_length=10, max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    AfterValidator(_real_date),
]
Money = Annotated[str, Limits(16, pattern=r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
Int4 = Annotated[int, Field(ge=0, le=INT4_MAX)]
Seq = Annotated[int, Field(ge=1, le=INT4_MAX)]
BatchId = Annotated[str, Limits(64, pattern=r"^[A-Za-z0-9._:-]+$")]
Hash = Annotated[str, Limits(64, min_length=64, pattern=r"^[0-9a-f]{64}$")]

Clerk = Annotated[str, Limits(40), NO_CONTROL]
Name = Annotated[str, Limits(50), NO_CONTROL]
Reason = Annotated[str, Limits(500, min_length=0), NO_CONTROL]
Stamp = Annotated[str, Limits(40), NO_CONTROL]
Label = Annotated[str, Limits(40), NO_CONTROL]


# -- events ---------------------------------------------------------------------------------


class WireEvent(BaseModel):
    """One event as it travels (the envelope; the payload is checked per kind)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: EventId
    office: OfficeCode
    seq: Seq
    clerk: Clerk
    kind: Kind
    payload: dict[str, Any]
    created_at: Stamp | None = None


class PersonRef(BaseModel):
    """The person an event is about."""

    model_config = _OPEN

    name: Name
    id_number: IdNumber


class FilingPayload(BaseModel):
    """``filing.new`` and ``filing.change``: the filing as it should stand."""

    model_config = _OPEN

    action: Literal["new", "change"] | None = None
    number: Number
    person: PersonRef
    category: Category
    scope: Scope | None = None
    insurance: Insurance | None = None
    destination: RegionCode
    basis: Literal["materials", "commitment"] = "materials"
    valid_from: IsoDate
    valid_until: IsoDate | None = None
    #: The status the office asks for; the store decides (see ``transitions``).
    status: Literal["active", "pending"] = "active"
    version: Int4 | None = None
    supersedes: list[Number] = Field(default_factory=list, max_length=20)
    #: 多地备案: long-term filings to different places may coexist where the region allows it.
    multi_place: bool = False


class CancelPayload(BaseModel):
    """``filing.cancel``: which filing, of whom; it ends today (or on ``valid_until``)."""

    model_config = _OPEN

    action: Literal["cancel"] | None = None
    number: Number
    person: PersonRef
    status: Literal["cancelled"] = "cancelled"
    valid_until: IsoDate | None = None
    version: Int4 | None = None


class ReviewPayload(BaseModel):
    """``application.review``: the office's decision on an online application."""

    model_config = _OPEN

    application_id: Number
    decision: Literal["approved", "rejected"]
    reason: Reason = ""
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None


class ClaimPayload(BaseModel):
    """``claim.*``: kept as it comes, within these bounds."""

    model_config = _OPEN

    number: Number
    action: Label | None = None
    status: Label | None = None
    person: PersonRef | None = None
    total: Money | None = None
    fund_total: Money | None = None
    personal_cash: Money | None = None
    version: Int4 | None = None


PAYLOADS: dict[str, type[BaseModel]] = {
    "filing.new": FilingPayload,
    "filing.change": FilingPayload,
    "filing.cancel": CancelPayload,
    protocol.REVIEW_KIND: ReviewPayload,
}


class Parsed(NamedTuple):
    """An event that passed the envelope check; ``payload`` is ``None`` if the kind is unknown.

    (A named tuple: one is made for every pushed event, quicker than a frozen dataclass.)"""

    raw: dict[str, Any]
    event: WireEvent
    payload: BaseModel | None
    problem: str = ""


def payload_model(kind: str) -> type[BaseModel] | None:
    """The payload model of a kind the store applies, or ``None``."""
    if kind in PAYLOADS:
        return PAYLOADS[kind]
    return ClaimPayload if protocol.known_kind(kind) else None


def parse_event(raw: Any) -> Parsed | str:
    """The checked event, or the problem (field and what is wrong) for a ``bad_event``.

    ``Parsed.problem`` is set when only the payload is wrong: the envelope (id, office, seq) is
    then known, so the answer can still be matched and duplicates recognised.
    """
    if not isinstance(raw, dict):
        return "事件应为 JSON 对象"
    problem = value_problem(raw)
    if problem:
        return problem
    try:
        event = _validate_event(raw)
    except ValidationError as exc:
        return describe(exc)
    model = payload_model(event.kind)
    if model is None:
        return Parsed(raw, event, None)
    try:
        payload = model.__pydantic_validator__.validate_python(event.payload)
    except ValidationError as exc:
        return Parsed(raw, event, None, describe(exc, ("payload",)))
    action = getattr(payload, "action", None) if event.kind in PAYLOADS else None
    if action is not None and f"filing.{action}" != event.kind:
        return Parsed(raw, event, None, f"payload.action：{action} 与事件类型 {event.kind} 不符")
    return Parsed(raw, event, payload)


#: ``WireEvent.model_validate`` without its Python wrapper (called for every pushed event).
_validate_event = WireEvent.__pydantic_validator__.validate_python


def describe(exc: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """The first few field errors in Chinese, each naming its field."""
    parts = []
    for error in exc.errors()[:3]:
        loc = tuple(
            x for x in error["loc"] if not (isinstance(x, str) and x.startswith("function"))
        )
        parts.append(f"{field_path((*prefix, *loc))}：{describe_error(dict(error))}")
    return "；".join(parts)


# -- generic JSON bounds ---------------------------------------------------------------------


class _Constant(CounterError, ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a body."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def loads(raw: bytes) -> Any:
    """Parse a request body: UTF-8 JSON, no ``NaN``/``Infinity``, nesting within bounds."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(400, "bad_json", "请求体不是 UTF-8 编码的文字") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _Constant as exc:
        raise WireError(400, "bad_json", f"请求体含 {exc}：JSON 不允许非有限数") from None
    except RecursionError:
        raise WireError(400, "too_deep", f"请求体嵌套过深（最多 {MAX_DEPTH} 层）") from None
    except ValueError as exc:
        raise WireError(400, "bad_json", f"请求体不是有效的 JSON（{_where(exc)}）") from None
    if depth(value) > MAX_DEPTH:
        raise WireError(400, "too_deep", f"请求体嵌套过深（最多 {MAX_DEPTH} 层）")
    return value


def _where(exc: ValueError) -> str:
    position = getattr(exc, "pos", None)
    return f"第 {position} 个字符附近" if isinstance(position, int) else "无法解析"


#: The containers a parsed JSON value is made of (``json.loads`` makes exactly these types).
_NESTED = (dict, list)


def depth(value: Any) -> int:
    """How deeply arrays and objects of parsed JSON nest (a scalar is 0), without recursion.

    Level by level: the containers of one level give the values of the next, so each value is
    looked at once, in comprehensions rather than a stack of pairs; it stops counting past
    ``MAX_DEPTH``."""
    level = 0
    current = [value]
    while True:
        containers = [v for v in current if type(v) in _NESTED]
        if not containers:
            return level
        level += 1
        if level > MAX_DEPTH:
            return level
        current = []
        extend = current.extend
        for item in containers:
            extend(item.values() if type(item) is dict else item)


def clean_text(value: str) -> bool:
    """Whether a text may be stored: no control characters or lone surrogates, within
    ``TEXT_MAX`` (``value_problem`` of a text alone, without building a path)."""
    return len(value) <= TEXT_MAX and not _BAD_CHAR.search(value)


def value_problem(value: Any, limit: int = MAX_DEPTH) -> str:
    """The first value that may not be stored (with its path), or ``""``.

    Text and keys without control characters or lone surrogates and within ``TEXT_MAX``,
    integers within int8, finite numbers, nesting within ``limit``.
    """
    if _plainly_fine(value, limit):
        return ""
    return _first_problem(value, limit)


def _plainly_fine(value: Any, limit: int) -> bool:
    """The same checks without the paths (most bodies are fine): ``True`` only when nothing is
    wrong; anything unusual (or wrong) is left to ``_first_problem`` to find and name. Only
    containers go on the stack; the texts and keys are measured and searched for bad characters
    at the end, all at once (joined by a space, which is allowed)."""
    texts: list[str] = []
    keys: list[Any] = []
    keep, keep_keys = texts.append, keys.extend
    # A bare value is checked as the only item of a list one level up.
    top = (value, 0) if type(value) in (dict, list) else ([value], -1)
    stack: list[tuple[Any, int]] = [top]
    pop, push = stack.pop, stack.append
    low, high = -INT8_MAX, INT8_MAX
    while stack:
        item, level = pop()
        if level >= limit:
            return False
        level += 1
        if type(item) is dict:
            keep_keys(item)
            children: Any = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is str:
                keep(child)
            elif kind is dict or kind is list:
                push((child, level))
            elif kind is int:
                if not low <= child <= high:
                    return False
            elif child is not None and kind is not bool:
                return False
    try:
        if keys and max(map(len, keys)) > KEY_MAX:
            return False
        if texts and max(map(len, texts)) > TEXT_MAX:
            return False
        joined = " ".join(keys) + " " + " ".join(texts)
    except TypeError:  # a key that is not text
        return False
    return not _BAD_CHAR.search(joined)


def _first_problem(value: Any, limit: int) -> str:
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, str):
            if _BAD_CHAR.search(item):
                return f"{path or '(值)'}：含控制字符或无效字符"
            if len(item) > TEXT_MAX:
                return f"{path or '(值)'}：过长（最多 {TEXT_MAX} 个字符）"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -INT8_MAX <= item <= INT8_MAX:
                return f"{path or '(值)'}：整数超出范围"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{path or '(值)'}：应为有限数"
        elif isinstance(item, dict | list):
            if level >= limit:
                return f"{path or '(值)'}：嵌套过深（最多 {limit} 层）"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str) or _BAD_CHAR.search(key) or len(key) > KEY_MAX:
                        return f"{path or '(值)'}：键名无效"
                    stack.append((child, f"{path}.{key}" if path else key, level + 1))
            else:
                stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(item))
        else:
            return f"{path or '(值)'}：不是 JSON 值"
    return ""
