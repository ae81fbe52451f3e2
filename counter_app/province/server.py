"""The reference provincial server: protocol v1 over HTTP (FastAPI on uvicorn).

Offices authenticate with ``Authorization: Bearer <token>``; an office sends events only for
itself and reads only what is addressed to it or its pool. Every request passes ``GuardedRoute``
first, in this order: the body is capped (``wire.BODY_MAX``, 413) before it is parsed or the token
is looked up, the token is checked (401), then the JSON is parsed strictly (``wire.loads``: no
NaN/Infinity, bounded depth; 400) and validated by the typed models of ``wire`` in strict mode
(422, with a Chinese message naming the field). Events inside a push are checked one by one by
the store (``bad_event`` per event). No client input leads to a 5xx; a database that cannot be
reached answers 503. ``/docs`` and ``/openapi.json`` are off unless ``docs=True``.

FastAPI is imported by this module, which only the ``serve`` command and the tests load.
``COUNTER_PROVINCE_FAULTS`` (tests only) makes the server fail on purpose, e.g.
``die_mid_batch=2`` (the process exits halfway through applying the 2nd push, before commit),
``die_after_commit=1`` (exits after committing the 1st push, before answering), ``error_503=2``
(the first two pushes are answered 503 untouched), ``delay_after_commit=3`` (the first push is
answered 3 s after its commit, so that a client with a shorter timeout gives up),
``pause_each=0.05`` (every push is answered that much later, to catch a client mid-run).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI, Header, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from counter_app.domain.errors import describe_error, field_path
from counter_app.province import api_models as api
from counter_app.province import wire
from counter_app.province.store import OfficeInfo, ProvinceStore
from counter_app.sync import protocol

log = logging.getLogger(__name__)


class Faults:
    """Deliberate failures for the fault tests, parsed from ``COUNTER_PROVINCE_FAULTS``."""

    def __init__(self, spec: str) -> None:
        self.plan: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            self.plan[name] = float(value or 1)
        self.pushes = 0

    def on_push(self) -> int:
        """Count a push; returns its number (1-based)."""
        self.pushes += 1
        return self.pushes

    def wants(self, name: str, push: int) -> bool:
        """Whether fault ``name`` hits push number ``push``."""
        return name in self.plan and int(self.plan[name]) == push


# -- the guard: size, then token, then strict JSON ------------------------------------------

_UNAUTHORIZED = wire.WireError(401, "unauthorized", "令牌无效或缺失")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, or ``WireError`` 413 as soon as it is (or says it will be) over ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 12:
            raise wire.WireError(400, "bad_request", "Content-Length 无效")
        if int(declared) > limit:
            raise wire.WireError(413, "too_large", f"请求体超过 {limit} 字节，已拒收")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise wire.WireError(413, "too_large", f"请求体超过 {limit} 字节，已拒收")
        chunks.append(chunk)
    return b"".join(chunks)


def _authenticate(store: ProvinceStore, authorization: str | None) -> OfficeInfo:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200 or not token.isascii():
        raise _UNAUTHORIZED
    office = store.office_by_token(token)
    if office is None:
        raise _UNAUTHORIZED
    return office


class _CheckedRequest(Request):
    """A request whose body was read under the cap; ``json()`` parses it strictly."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = wire.loads(self._body)
            except wire.WireError as exc:
                raise HTTPException(exc.status, detail=exc.answer()["detail"]) from None
        return self._json


def _error(exc: wire.WireError) -> JSONResponse:
    headers = _CHALLENGE if exc.status == 401 else None
    return JSONResponse(exc.answer(), status_code=exc.status, headers=headers)


class GuardedRoute(APIRoute):
    """Every route of the store: cap the body, authenticate, then let FastAPI parse and validate."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                body = await _read_capped(request, wire.BODY_MAX)
                store: ProvinceStore = request.app.state.store
                office = await run_in_threadpool(
                    _authenticate, store, request.headers.get("authorization")
                )
            except wire.WireError as exc:
                return _error(exc)
            refusal = protocol.client_refusal(
                request.headers.get(protocol.PROTOCOL_HEADER),
                request.headers.get(protocol.VERSION_HEADER),
                *request.app.state.client_floor,
            )
            if refusal:
                return _error(wire.WireError(*refusal))
            checked = _CheckedRequest(request.scope, request.receive)
            checked._body = body
            checked.state.office = office
            return await handler(checked)

        return guarded


_bearer = HTTPBearer(
    auto_error=False, description="本机构令牌（省平台 office-add 或 token 命令给出）"
)


def office_of(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    _protocol: Annotated[
        str | None,
        Header(
            alias=protocol.PROTOCOL_HEADER,
            pattern=r"^[0-9]{1,4}$",
            description=f"客户端协议版本（当前 {protocol.CLIENT_PROTOCOL}；不带时按 1）；"
            "低于省平台接受的最低版本时答 426",
        ),
    ] = None,
    _version: Annotated[
        str | None,
        Header(
            alias=protocol.VERSION_HEADER,
            pattern=r"^[0-9A-Za-z.+-]{1,40}$",
            description="客户端程序版本，如 0.1.0（省平台设置了最低版本时，低于它答 426）",
        ),
    ] = None,
) -> OfficeInfo:
    """The office the guard authenticated (the security scheme documents the bearer token)."""
    return request.state.office


Office = Annotated[OfficeInfo, Depends(office_of)]


def _answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "请求体不是有效的 JSON（编码、NaN/Infinity、嵌套过深）",
        401: "令牌无效或缺失",
        413: "请求体过大",
        426: "客户端版本过旧（协议或程序版本低于省平台接受的最低版本），须安装新版本",
        422: "请求格式有误（字段、类型、取值范围）",
        503: "省平台暂时不可用，稍后重试",
    }
    return {c: {"model": api.ErrorAnswer, "description": texts[c]} for c in codes}


COMMON = _answers(400, 401, 413, 422, 426, 503)


def client_floor() -> tuple[int, str]:
    """The oldest client accepted: ``COUNTER_PROVINCE_MIN_PROTOCOL`` (default: the previous
    revision, for rollouts) and ``COUNTER_PROVINCE_MIN_VERSION`` (an app version, default none)."""
    raw = os.environ.get("COUNTER_PROVINCE_MIN_PROTOCOL", "").strip()
    floor = int(raw) if raw.isdigit() else protocol.MIN_CLIENT_PROTOCOL
    return floor, os.environ.get("COUNTER_PROVINCE_MIN_VERSION", "").strip()


# -- error answers -------------------------------------------------------------------------

_HTTP_TEXT = {
    404: ("not_found", "没有这个地址"),
    405: ("method_not_allowed", "该地址不支持这种请求方法"),
}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in list(exc.errors())[:3]:
            loc = tuple(x for x in error.get("loc", ()) if x != "body")
            parts.append(f"{field_path(loc)}：{describe_error(dict(error))}")
        message = "请求格式有误：" + "；".join(parts)
        return JSONResponse({"detail": {"code": "bad_request", "message": message}}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if not isinstance(detail, dict):
            code, message = _HTTP_TEXT.get(exc.status_code, ("bad_request", "请求有误"))
            detail = {"code": code, "message": message}
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__)
        return JSONResponse(
            {"detail": {"code": "unavailable", "message": "省平台数据库暂时不可用，稍后重试"}}, 503
        )


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The schema, with ``WireEvent`` (what each pushed event should look like) as a component."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        event = wire.WireEvent.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(event.pop("$defs", {}))
        components["WireEvent"] = event
        _document_client_floor(schema, *app.state.client_floor)
        app.openapi_schema = schema
        return schema

    return build


def _document_client_floor(schema: dict[str, Any], floor: int, _min_version: str) -> None:
    """The protocol revisions this store accepts now, as the header's ``enum``."""
    accepted = [str(v) for v in range(max(floor, 1), protocol.CLIENT_PROTOCOL + 1)]
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == protocol.PROTOCOL_HEADER:
                    parameter["schema"] = {"type": "string", "enum": accepted}
                    parameter["required"] = floor > 1  # revision 1 sent no header


# -- the application -----------------------------------------------------------------------


def push_slots() -> int:
    """How many pushes one server process applies at the same time (``COUNTER_PROVINCE_PUSH_SLOTS``,
    default 2); the others wait their turn without holding a thread.

    Dozens of batches at once in one process share one interpreter lock and mostly switch
    between each other (50 offices at once: ~7 % more server CPU per event than with 2); two
    keep the process busy while one waits for the database (a commit's flush, a person's row
    lock held by another batch).
    """
    raw = os.environ.get("COUNTER_PROVINCE_PUSH_SLOTS", "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 64 else 2


def create_app(store: ProvinceStore, faults: Faults | None = None, docs: bool = False) -> FastAPI:
    """The FastAPI application over a store (``docs``: serve ``/docs`` and ``/openapi.json``)."""
    faults = faults or Faults(os.environ.get("COUNTER_PROVINCE_FAULTS", ""))
    app = FastAPI(
        title="异地就医省级平台（参考实现）",
        version=protocol.VERSION,
        description="经办机构同步协议 v1：上传事件、对账、下载发布内容。",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.store = store
    app.state.client_floor = client_floor()
    app.state.push_slots = CapacityLimiter(push_slots())
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    _install_handlers(app)
    router = APIRouter(prefix=protocol.PREFIX, route_class=GuardedRoute, responses=COMMON)

    from counter_app.province.hello import router as hello_router

    app.include_router(hello_router)  # hello, own events, office keys

    @router.post("/events", response_model=api.PushAnswer, summary="上传一批事件")
    async def push(body: api.PushRequest, office: Office) -> Any:
        number = faults.on_push()
        if faults.plan.get("error_503", 0) >= number:
            return JSONResponse(
                {"detail": {"code": "unavailable", "message": "省平台维护中（测试故障）"}},
                status_code=503,
            )
        batch, batch_id = body.events, body.batch_id or str(uuid.uuid4())
        if faults.wants("die_mid_batch", number):
            half = len(batch) // 2
            store.after_event = lambda i: os._exit(17) if i + 1 >= half else None
        answers = await to_thread.run_sync(
            store.apply_batch, office, batch, batch_id, limiter=app.state.push_slots
        )
        if faults.wants("die_after_commit", number):
            os._exit(17)
        if "delay_after_commit" in faults.plan and number == 1:
            await asyncio.sleep(faults.plan["delay_after_commit"])
        await asyncio.sleep(faults.plan.get("pause_each", 0))
        results = [{"id": _echo_id(e), **a} for e, a in zip(batch, answers, strict=True)]
        return JSONResponse({"batch_id": batch_id, "results": results})

    @router.post("/reconcile", response_model=api.ReconcileAnswer, summary="按块对账")
    def reconcile(body: api.ReconcileRequest, office: Office) -> dict[str, Any]:
        theirs = {int(k): v.model_dump() for k, v in body.blocks.items()}
        ours = store.digests(office)
        blocks = []
        for block in sorted(set(theirs) | set(ours)):
            client, server = theirs.get(block), ours.get(block)
            entry: dict[str, Any] = {
                "block": block,
                "client": client,
                "server": server,
                "match": client == server,
            }
            if client != server:
                entry["server_events"] = store.block_events(office, block) if server else []
            blocks.append(entry)
        return {
            "office": office.code,
            "match": all(b["match"] for b in blocks),
            "server_count": sum(d["count"] for d in ours.values()),
            "blocks": blocks,
        }

    @router.get("/pull", response_model=api.PullAnswer, summary="下载发布给本机构的内容")
    def pull(
        office: Office,
        cursor: Annotated[int, Query(ge=0, le=wire.INT4_MAX)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        items = store.pull(office, cursor, limit)
        return {
            "items": items,
            "cursor": items[-1]["cursor"] if items else cursor,
            "more": len(items) == limit,
        }

    @router.get("/filings", response_model=api.FilingsAnswer, summary="本机构在省平台的备案")
    def own_filings(office: Office) -> dict[str, Any]:
        rows = store.office_filings(office.code)
        return {"filings": [{**r, "updated_at": r["updated_at"].isoformat()} for r in rows]}

    app.include_router(router)
    return app


def _echo_id(event: Any) -> str | None:
    """The event's id as it came, if it is a well-formed id (anything else is not echoed)."""
    value = event.get("id") if isinstance(event, dict) else None
    if isinstance(value, str) and len(value) <= 36 and wire.clean_text(value):
        return value
    return None


def app_from_env() -> FastAPI:
    """The application over ``COUNTER_PROVINCE_DB`` (what each uvicorn worker process builds)."""
    from counter_app.province.store import default_url

    docs = os.environ.get("COUNTER_PROVINCE_DOCS") == "1"
    return _settled(create_app(ProvinceStore(default_url()), docs=docs))


def _settled(app: FastAPI) -> FastAPI:
    """The app, with everything made at start-up set aside from the garbage collector.

    A push makes thousands of short-lived objects; each full collection would otherwise walk
    the ~150,000 long-lived ones (modules, models, the region table) as well, about a sixth of
    a push's time. ``gc.freeze`` moves them to a generation that is never collected.
    """
    import gc

    gc.collect()
    gc.freeze()
    return app


def serve(
    url: str,
    host: str,
    port: int,
    workers: int = 1,
    *,
    docs: bool = False,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> None:
    """Run the server in the foreground until interrupted (``workers`` processes).

    With ``tls_cert`` and ``tls_key`` (PEM files) it speaks HTTPS only.
    """
    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if tls_cert or tls_key:
        options["ssl_certfile"], options["ssl_keyfile"] = tls_cert, tls_key
    if workers > 1:
        # Worker processes import the app themselves; they find the database in the environment.
        os.environ["COUNTER_PROVINCE_DB"] = url
        os.environ["COUNTER_PROVINCE_DOCS"] = "1" if docs else "0"
        ProvinceStore(url).close()  # create the tables once, before the workers race to
        uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers, **options)
    else:
        uvicorn.run(_settled(create_app(ProvinceStore(url), docs=docs)), **options)
