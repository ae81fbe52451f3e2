"""The reference provincial server: protocol v1 over HTTP (FastAPI on uvicorn).

Offices authenticate with ``Authorization: Bearer <token>``; an office sends events only for
itself and reads only what is addressed to it or its pool. FastAPI is imported by this module,
which only the ``serve`` command and the tests load. ``COUNTER_PROVINCE_FAULTS`` (tests only)
makes the server fail on purpose, e.g.
``die_mid_batch=2`` (the process exits halfway through applying the 2nd push, before commit),
``die_after_commit=1`` (exits after committing the 1st push, before answering), ``error_503=2``
(the first two pushes are answered 503 untouched), ``delay_after_commit=3`` (the first push is
answered 3 s after its commit, so that a client with a shorter timeout gives up),
``pause_each=0.05`` (every push is answered that much later, to catch a client mid-run).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from counter_app.sync import protocol
from counter_app.sync.store import OfficeInfo, ProvinceStore


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


def office_of(request: Request, authorization: Annotated[str, Header()] = "") -> OfficeInfo:
    """The office whose bearer token came with the request, or 401."""
    scheme, _, token = authorization.partition(" ")
    store: ProvinceStore = request.app.state.store
    office = store.office_by_token(token) if scheme.lower() == "bearer" else None
    if office is None:
        raise HTTPException(401, detail={"code": "unauthorized", "message": "令牌无效或缺失"})
    return office


Office = Annotated[OfficeInfo, Depends(office_of)]
JsonBody = Annotated[dict[str, Any], Body()]


def create_app(store: ProvinceStore, faults: Faults | None = None) -> FastAPI:
    """The FastAPI application over a store."""
    faults = faults or Faults(os.environ.get("COUNTER_PROVINCE_FAULTS", ""))
    app = FastAPI(title="异地就医省级平台（参考实现）", version=protocol.VERSION)
    app.state.store = store

    from counter_app.sync.province_hello import router  # hello, own events, office keys

    app.include_router(router)

    @app.post(f"{protocol.PREFIX}/events")
    async def push(request: Request, office: Office) -> Any:
        # The body is read as plain JSON (no model validation of hundreds of payloads); the
        # store checks every event itself, in a worker thread so the event loop stays free.
        number = faults.on_push()
        if faults.plan.get("error_503", 0) >= number:
            return JSONResponse(
                {"code": "unavailable", "message": "省平台维护中（测试故障）"}, status_code=503
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        batch = body.get("events") if isinstance(body, dict) else None
        if not isinstance(batch, list) or len(batch) > protocol.BATCH_MAX:
            raise HTTPException(
                422,
                detail={
                    "code": "bad_batch",
                    "message": f"events 应为不超过 {protocol.BATCH_MAX} 个事件的列表",
                },
            )
        batch_id = str(body.get("batch_id") or uuid.uuid4())
        if faults.wants("die_mid_batch", number):
            half = len(batch) // 2
            store.after_event = lambda i: os._exit(17) if i + 1 >= half else None
        answers = await run_in_threadpool(store.apply_batch, office, batch, batch_id)
        if faults.wants("die_after_commit", number):
            os._exit(17)
        if "delay_after_commit" in faults.plan and number == 1:
            await asyncio.sleep(faults.plan["delay_after_commit"])
        await asyncio.sleep(faults.plan.get("pause_each", 0))
        results = [
            {"id": e.get("id") if isinstance(e, dict) else None, **a}
            for e, a in zip(batch, answers, strict=True)
        ]
        return JSONResponse({"batch_id": batch_id, "results": results})

    @app.post(f"{protocol.PREFIX}/reconcile")
    def reconcile(body: JsonBody, office: Office) -> dict[str, Any]:
        theirs = {int(k): v for k, v in (body.get("blocks") or {}).items()}
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
                entry["server_events"] = store.block_events(office, block)
            blocks.append(entry)
        return {
            "office": office.code,
            "match": all(b["match"] for b in blocks),
            "server_count": sum(d["count"] for d in ours.values()),
            "blocks": blocks,
        }

    @app.get(f"{protocol.PREFIX}/pull")
    def pull(
        office: Office,
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        items = store.pull(office, cursor, limit)
        return {
            "items": items,
            "cursor": items[-1]["cursor"] if items else cursor,
            "more": len(items) == limit,
        }

    @app.get(f"{protocol.PREFIX}/filings")
    def own_filings(office: Office) -> dict[str, Any]:
        return {"filings": store.office_filings(office.code)}

    return app


def app_from_env() -> FastAPI:
    """The application over ``COUNTER_PROVINCE_DB`` (what each uvicorn worker process builds)."""
    from counter_app.sync.store import default_url

    return create_app(ProvinceStore(default_url()))


def serve(url: str, host: str, port: int, workers: int = 1) -> None:
    """Run the server in the foreground until interrupted (``workers`` processes)."""
    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers > 1:
        # Worker processes import the app themselves; they find the database in the environment.
        os.environ["COUNTER_PROVINCE_DB"] = url
        ProvinceStore(url).close()  # create the tables once, before the workers race to
        uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(ProvinceStore(url)), **options)
