"""The sync client: push the outbox in batches, pull from the cursor, reconcile (protocol v1).

A run holds the sending lease, so two clerk processes never send at once. Every batch's answers
are recorded before the next batch is read, so a run that is interrupted anywhere (network,
server, this process killed) resumes at the next run with what is still unsent; events the server
had already committed come back as ``duplicate``. Network errors, timeouts and 5xx answers are
retried with exponential backoff and jitter; httpx is imported only here, when a sync starts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from counter_app.domain.engine import RulesEngine
from counter_app.storage.db import Database
from counter_app.sync import outbox, protocol
from counter_app.sync.pulled import PullOutcome, store_page

Progress = Callable[[int, int, str], None]
PULL_PAGE = 200


class SyncError(RuntimeError):
    """A sync that could not finish; the message is Chinese and says what to do."""


class SyncBusy(SyncError):
    """Another process on this office database is syncing now."""


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to reach the provincial store."""

    url: str
    token: str
    terminal: str = ""
    timeout: float = 15.0
    batch_size: int = 200
    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0


@dataclass
class SyncReport:
    """What one run did."""

    tally: outbox.Tally = field(default_factory=outbox.Tally)
    pulled: PullOutcome = field(default_factory=PullOutcome)
    reconciled: bool = False
    mismatched_blocks: list[int] = field(default_factory=list)
    server_count: int = 0
    resent: int = 0


class ProvinceClient:
    """HTTP calls to the provincial store with retries; one per run."""

    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        if not config.url or not config.token:
            raise SyncError("未配置省平台地址或本机构令牌（设置 sync.url 与 sync.token）")
        self._httpx = httpx
        self.config = config
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=config.url.rstrip("/") + protocol.PREFIX,
            timeout=config.timeout,
            headers={"Authorization": f"Bearer {config.token}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request, retried on network errors, timeouts and 5xx with backoff."""
        httpx = self._httpx
        problem = ""
        for attempt in range(self.config.attempts):
            if attempt:
                pause = min(self.config.backoff * 2 ** (attempt - 1), self.config.max_backoff)
                self.sleep(pause * (1 + random.random() / 4))
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TimeoutException:
                problem = "省平台响应超时"
                continue
            except httpx.TransportError as exc:
                problem = f"无法连接省平台（{type(exc).__name__}）"
                continue
            if response.status_code >= 500:
                problem = f"省平台暂时出错（HTTP {response.status_code}）"
                continue
            if response.status_code == 401:
                raise SyncError("省平台不认本机构的令牌：请核对配置中的 sync.token")
            if response.status_code >= 400:
                raise SyncError(
                    f"省平台拒绝了请求（HTTP {response.status_code}）：{_message(response)}"
                )
            return response.json()
        raise SyncError(
            f"{problem}，已重试 {self.config.attempts} 次；待上传的事件都保留着，稍后再同步"
        )

    def push(self, events: list[dict[str, Any]], batch_id: str) -> list[dict[str, Any]]:
        """Send a batch; the per-event answers."""
        return self.call("POST", "/events", json={"batch_id": batch_id, "events": events})[
            "results"
        ]

    def pull(self, cursor: int) -> dict[str, Any]:
        """A page of what was published for this office after ``cursor``."""
        return self.call("GET", "/pull", params={"cursor": cursor, "limit": PULL_PAGE})

    def reconcile(self, blocks: dict[int, dict[str, Any]]) -> dict[str, Any]:
        """Compare per-block counts and hashes with the store."""
        return self.call(
            "POST", "/reconcile", json={"blocks": {str(k): v for k, v in blocks.items()}}
        )


def _message(response: Any) -> str:
    """The Chinese message of an error answer (``{"detail": {"message": …}}``), else its text."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text[:200]
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    return str(detail)[:200]


def push_all(
    db: Database,
    client: ProvinceClient,
    holder: str,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> outbox.Tally:
    """Send every pending event, batch by batch, recording each batch's answers at once."""
    office = outbox.office_of(db)
    tally = outbox.Tally()
    total, done = outbox.status(db).pending, 0
    while not (cancelled and cancelled()):
        batch = outbox.pending_batch(db, office, client.config.batch_size)
        if not batch:
            break
        # The same events make the same batch id, so a resent batch is recognisable on the server.
        batch_id = f"{office.code}-{batch[0]['seq']}-{batch[-1]['seq']}"
        results = client.push(batch, batch_id)
        sent_ids = {e["id"] for e in batch}
        answers = [(r["id"], r) for r in results if r.get("id") in sent_ids]
        tally.add(outbox.record_answers(db, answers))
        done += len(batch)
        if progress:
            progress(min(done, total), max(total, done), "上传")
        if not outbox.acquire_lease(db, holder):
            raise SyncBusy("同步权被另一个窗口接管，本次上传已停止（已上传的都已记下）")
    return tally


def pull_all(db: Database, client: ProvinceClient, engine: RulesEngine, today: date) -> PullOutcome:
    """Take every page after the stored cursor."""
    office = outbox.office_of(db)
    assert office.id is not None
    total = PullOutcome()
    with db.read() as session:
        cursor = outbox.get_cursor(session).value
    while True:
        page = client.pull(cursor)
        outcome = store_page(db, engine, office.id, page["items"], page["cursor"], today)
        total.applications += outcome.applications
        total.inbox += outcome.inbox
        total.packages += outcome.packages
        total.refused.extend(outcome.refused)
        cursor = page["cursor"]
        if not page.get("more"):
            return total


def run_sync(
    db: Database,
    engine: RulesEngine,
    config: ClientConfig,
    today: date,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    client: ProvinceClient | None = None,
) -> SyncReport:
    """Push, pull and reconcile under the lease; the run is recorded whatever happens."""
    holder = outbox.new_holder()
    if not outbox.acquire_lease(db, holder):
        raise SyncBusy("另一个窗口正在同步，请稍后再试")
    run_id = outbox.start_run(db, "online", config.terminal)
    report = SyncReport()
    error = ""
    own_client = client is None
    try:
        client = client or ProvinceClient(config)
        report.tally = push_all(db, client, holder, progress, cancelled)
        if progress:
            progress(0, 0, "下载")
        report.pulled = pull_all(db, client, engine, today)
        office = outbox.office_of(db)
        answer = client.reconcile(outbox.local_digests(db, office))
        if not answer["match"]:
            # Events the store lost (restored from an older backup, say) are sent again, once.
            held = {
                b["block"]: [e["id"] for e in b.get("server_events", [])]
                for b in answer["blocks"]
                if not b["match"]
            }
            report.resent = outbox.unmark_missing(db, office, held)
            if report.resent:
                report.tally.add(push_all(db, client, holder, progress, cancelled))
                answer = client.reconcile(outbox.local_digests(db, office))
        report.server_count = answer["server_count"]
        report.mismatched_blocks = [b["block"] for b in answer["blocks"] if not b["match"]]
        report.reconciled = answer["match"]
        if not report.reconciled:
            error = f"对账不符：第 {'、'.join(map(str, report.mismatched_blocks))} 批"
    except SyncError as exc:
        error = str(exc)
        raise
    except Exception as exc:
        error = f"同步中断：{exc}"
        raise
    finally:
        outbox.finish_run(db, run_id, report.tally, report.pulled.total, error)
        outbox.release_lease(db, holder)
        if own_client and client is not None:
            client.close()
    return report


def probe(config: ClientConfig, timeout: float = 3.0) -> bool:
    """Whether the provincial store answers with this token now (one try, short timeout)."""
    import httpx

    if not config.url or not config.token:
        return False
    try:
        response = httpx.get(
            config.url.rstrip("/") + protocol.PREFIX + "/hello",
            headers={"Authorization": f"Bearer {config.token}"},
            timeout=timeout,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200
