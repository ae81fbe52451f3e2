"""The sync client: push the outbox in batches, pull from the cursor, reconcile (protocol v1).

A run holds the sending lease, so two clerk processes never send at once. One batch is in flight
at a time; its answers are recorded as soon as they come (while the store works on the next batch,
read above it), so a run that is interrupted anywhere (network, server, this process killed)
resumes at the next run with what is still unsent; events the server had already committed come
back as ``duplicate``. Network errors, timeouts and 5xx answers are
retried with exponential backoff and jitter; httpx is imported only here, when a sync starts.

Before anything else the client asks ``/v1/hello`` who it is talking to: a token of another office,
a store whose signing key is not the one registered, or another protocol stops the run before
anything is pulled or marked. The answer also tells how far the store's numbering of this office
goes, so that a database restored from a backup continues above it (``restore.align``).
Certificates are verified (the system's store, or the CA file in ``sync.ca_file``), and plain
``http://`` is refused for anything but this machine unless ``sync.allow_insecure`` is set.
"""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import CounterError
from counter_app.locations import is_loopback
from counter_app.storage.db import Database
from counter_app.storage.models import Office
from counter_app.sync import outbox, protocol, registration
from counter_app.sync.pulled import PullOutcome, store_page
from counter_app.sync.restore import Alignment, align

if TYPE_CHECKING:
    from counter_app.settings import SyncSettings

Progress = Callable[[int, int, str], None]
PULL_PAGE = 200


class SyncError(CounterError, RuntimeError):
    """A sync that could not finish; the message is Chinese and says what to do."""


class SyncBusy(SyncError):
    """Another process on this office database is syncing now."""


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to reach the provincial store."""

    url: str
    token: SecretStr | str
    terminal: str = ""
    timeout: float = 15.0
    batch_size: int = 200
    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    #: The office's key folder (registration, signing key); None: beside the database.
    key_dir: Path | None = None
    #: A CA certificate file (PEM) to trust instead of the system's store.
    ca_file: Path | None = None
    #: Allow plain http:// to another machine (the token then travels readable).
    allow_insecure: bool = False

    def secret(self) -> SecretStr:
        """The token as a secret (``str(config.secret())`` shows stars)."""
        return self.token if isinstance(self.token, SecretStr) else SecretStr(self.token)

    def __repr__(self) -> str:
        return f"ClientConfig(url={self.url!r}, token='**********', terminal={self.terminal!r})"

    @classmethod
    def from_settings(cls, settings: SyncSettings) -> ClientConfig:
        """The client's view of the ``[sync]`` settings."""
        return cls(
            url=settings.url,
            token=settings.token,
            terminal=settings.terminal,
            timeout=settings.timeout_s,
            batch_size=settings.batch_size,
            attempts=settings.attempts,
            key_dir=settings.key_dir,
            ca_file=settings.ca_file,
            allow_insecure=settings.allow_insecure,
        )


def plain_http_refused(url: str, allow_insecure: bool) -> str:
    """Why this URL may not be used (a Chinese message), or "" when it may."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "https" or (scheme == "http" and (is_loopback(url) or allow_insecure)):
        return ""
    if scheme == "http":
        return (
            f"拒绝以明文 http 连接其他机器上的省平台（{urlsplit(url).hostname}）：令牌会被看到。"
            "请改用 https:// 地址；确需明文时在配置中设置 sync.allow_insecure = true"
        )
    return f"省平台地址应以 https:// 开头（现为 {url[:60]}）"


def with_registration(config: ClientConfig, db_path: Path | None) -> ClientConfig:
    """The configuration completed from the office's registration (token, address, key folder)."""
    try:
        folder = registration.key_dir(db_path, config.key_dir)
        registered = registration.load(folder)
    except registration.RegistrationError as exc:
        raise SyncError(str(exc)) from None
    if registered is None:
        return replace(config, key_dir=folder)
    return replace(
        config,
        key_dir=folder,
        url=config.url or registered.url,
        token=config.token if config.secret().get_secret_value() else registered.token,
    )


def client_headers() -> dict[str, str]:
    """What every request says about the client: protocol revision and program version."""
    from counter_app import __version__

    return {
        protocol.PROTOCOL_HEADER: str(protocol.CLIENT_PROTOCOL),
        protocol.VERSION_HEADER: __version__,
    }


class _Bearer:
    """Adds the token to each request without keeping it in a plain string anywhere else."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return request


@dataclass
class SyncReport:
    """What one run did."""

    tally: outbox.Tally = field(default_factory=outbox.Tally)
    pulled: PullOutcome = field(default_factory=PullOutcome)
    reconciled: bool = False
    mismatched_blocks: list[int] = field(default_factory=list)
    server_count: int = 0
    resent: int = 0
    #: Acknowledged events the store lost and refused when sent again (they stay marked sent).
    resend_refused: list[str] = field(default_factory=list)
    #: What ``/v1/hello`` showed about a restored database, and what was done about it.
    alignment: Alignment = field(default_factory=Alignment)
    #: Earlier runs found unfinished (killed midway) and closed as interrupted.
    interrupted: int = 0
    #: Events of this office the store holds and this database lacks (``sync recover``).
    missing_here: int = 0


class ProvinceClient:
    """HTTP calls to the provincial store with retries; one per run."""

    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        if not config.url or not config.secret().get_secret_value():
            raise SyncError(
                "未配置省平台地址或本机构令牌（设置 sync.url 与 sync.token，"
                "或用 counter-app sync register 导入省平台的登记文件）"
            )
        refused = plain_http_refused(config.url, config.allow_insecure)
        if refused:
            raise SyncError(refused)
        self._httpx = httpx
        self.config = config
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=config.url.rstrip("/") + protocol.PREFIX,
            timeout=config.timeout,
            auth=_Bearer(config.secret()),
            verify=_tls_context(config.ca_file),
            headers=client_headers(),
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
            except httpx.ConnectError as exc:
                if "CERTIFICATE" in str(exc).upper():
                    raise SyncError(
                        "省平台的证书未通过验证：地址不对，或证书不是受信任的机构签发的"
                        "（自建证书请在配置中设置 sync.ca_file）"
                    ) from None
                problem = f"无法连接省平台（{type(exc).__name__}）"
                continue
            except httpx.TransportError as exc:
                problem = f"无法连接省平台（{type(exc).__name__}）"
                continue
            if response.status_code >= 500:
                problem = f"省平台暂时出错（HTTP {response.status_code}）"
                continue
            if response.status_code == 401:
                raise SyncError(
                    "省平台不认本机构的令牌：请核对配置中的 sync.token，或重新登记"
                    "（counter-app sync register）"
                )
            if response.status_code == protocol.CLIENT_TOO_OLD:
                raise SyncError(_message(response))
            if response.status_code >= 400:
                raise SyncError(
                    f"省平台拒绝了请求（HTTP {response.status_code}）：{_message(response)}"
                )
            try:
                answer = response.json()
            except ValueError:
                raise SyncError("省平台的回答不是 JSON：地址可能指向了别的服务") from None
            if not isinstance(answer, dict):
                raise SyncError("省平台的回答格式不对：地址可能指向了别的服务")
            return answer
        raise SyncError(
            f"{problem}，已重试 {self.config.attempts} 次；待上传的事件都保留着，稍后再同步"
        )

    def hello(self, since: int = 0) -> dict[str, Any]:
        """Who the token belongs to, the store's key id, and how far its numbering goes."""
        return self.call("GET", "/hello", params={"since": since})

    def own_events(self, after: int, limit: int = 500) -> dict[str, Any]:
        """A page of this office's own events the store holds after sequence number ``after``."""
        return self.call("GET", "/own-events", params={"after": after, "limit": limit})

    def all_own_events(self, after: int) -> list[dict[str, Any]]:
        """Every own event after ``after`` (page by page)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.own_events(after)
            found.extend(page["events"])
            if not page.get("more") or not page["events"]:
                return found
            after = page["events"][-1]["seq"]

    def announce_key(self, announcement: dict[str, Any]) -> dict[str, Any]:
        """Tell the store the office's new public key."""
        return self.call("POST", "/office-key", json=announcement)

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


def _tls_context(ca_file: Path | None) -> Any:
    """Certificate checks: the system's trusted CAs, or only the pinned CA file.

    Reading the system's CA store costs tens of milliseconds of CPU, so a context is made once
    per CA file as it stands (its path, size and modification time) and shared by the clients
    of this process; a changed file makes a new one.
    """
    import ssl

    if ca_file is None:
        return _context(None, 0, 0)
    try:
        stat = ca_file.stat()
        return _context(str(ca_file), stat.st_size, stat.st_mtime_ns)
    except (OSError, ssl.SSLError):
        raise SyncError(f"无法读取配置的 CA 证书文件 {ca_file}（sync.ca_file）") from None


@functools.lru_cache(maxsize=8)
def _context(ca_file: str | None, _size: int, _mtime: int) -> Any:
    import ssl

    return ssl.create_default_context(cafile=ca_file)


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
    hashes: dict[str, str] | None = None,
    office: Office | None = None,
) -> outbox.Tally:
    """Send every pending event, batch by batch, recording each batch's answers at once.

    One request is in flight at a time, in sequence order. While the store works on a batch,
    this side records the answers to the one before, reads the next (above the batch in
    flight) and puts the event hashes of the batch in ``hashes`` (for the reconcile), so the
    two sides work at the same time. A request that fails ends the run with every answer
    received so far recorded.
    """
    from concurrent.futures import ThreadPoolExecutor

    office = office or outbox.office_of(db)
    tally = outbox.Tally()
    total, done = outbox.pending_count(db), 0
    size = client.config.batch_size
    answered: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None

    def record(sent: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        nonlocal done
        sent_ids = {e["id"] for e in sent}
        answers = [(r["id"], r) for r in results if r.get("id") in sent_ids]
        tally.add(outbox.record_answers(db, answers))
        done += len(sent)
        if progress:
            progress(min(done, total), max(total, done), "上传")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as sender:
        batch = outbox.pending_batch(db, office, size)
        while batch and not (cancelled and cancelled()):
            # The same events make the same batch id, so a resent batch is recognisable.
            batch_id = f"{office.code}-{batch[0]['seq']}-{batch[-1]['seq']}"
            in_flight = sender.submit(client.push, batch, batch_id)
            try:
                if answered is not None:
                    record(*answered)
                    answered = None
                    if not outbox.acquire_lease(db, holder):
                        # The batch in flight is answered and recorded before stopping.
                        record(batch, in_flight.result())
                        raise SyncBusy("同步权被另一个窗口接管，本次上传已停止（已上传的都已记下）")
                following = outbox.pending_batch(db, office, size, after=batch[-1]["seq"])
                if hashes is not None:
                    hashes.update((e["id"], protocol.event_hash(e)) for e in batch)
            except BaseException:
                in_flight.cancel()
                with contextlib.suppress(Exception):
                    in_flight.result()  # not left running against a database being closed
                raise
            answered = (batch, in_flight.result())
            batch = following
        if answered is not None:
            record(*answered)
            if not outbox.acquire_lease(db, holder):
                raise SyncBusy("同步权被另一个窗口接管，本次上传已停止（已上传的都已记下）")
    return tally


def pull_all(
    db: Database,
    client: ProvinceClient,
    engine: RulesEngine,
    today: date,
    office: Office | None = None,
) -> PullOutcome:
    """Take every page after the stored cursor (an empty page at the cursor writes nothing)."""
    office = office or outbox.office_of(db)
    assert office.id is not None
    total = PullOutcome()
    with db.read() as session:
        cursor = outbox.get_cursor(session).value
    while True:
        page = client.pull(cursor)
        if not page["items"] and page["cursor"] == cursor and not page.get("more"):
            return total
        outcome = store_page(db, engine, office.id, page["items"], page["cursor"], today)
        total.applications += outcome.applications
        total.inbox += outcome.inbox
        total.packages += outcome.packages
        total.refused.extend(outcome.refused)
        cursor = page["cursor"]
        if not page.get("more"):
            return total


def check_identity(
    db: Database,
    client: ProvinceClient,
    config: ClientConfig,
    office: Office | None = None,
    sent: int | None = None,
) -> dict[str, Any]:
    """``/v1/hello``: the token must be this office's and the store's key the registered one.

    ``sent`` is the highest sequence number sent (read here when not given)."""
    office = office or outbox.office_of(db)
    if sent is None:
        _, sent = outbox.max_seqs(db, office)
    hello = client.hello(since=sent)
    if hello.get("protocol") != protocol.VERSION:
        raise SyncError(
            f"省平台的协议版本（{hello.get('protocol')}）与本机（{protocol.VERSION}）不同，未同步"
        )
    if hello.get("office") != office.code:
        raise SyncError(
            f"令牌属于 {hello.get('office')}，与本机构 {office.code} 不符："
            "未上传也未下载任何内容，请核对 sync.token 或重新登记"
        )
    registered = registration.load(config.key_dir) if config.key_dir else None
    if registered is not None:
        if registered.office != office.code:
            raise SyncError(f"登记属于经办机构 {registered.office}，与本机构 {office.code} 不符")
        if hello.get("key_id") != registered.store_key_id:
            raise SyncError(
                f"省平台的签名密钥与登记时不同（登记时 {registered.store_key_id}，现在 "
                f"{hello.get('key_id') or '无'}），未同步：可能连到了假冒的省平台，或省平台更换了"
                "密钥。请向省平台核实并索取新的登记文件，用 counter-app sync register 重新登记"
            )
    return hello


def align_with_store(
    db: Database,
    client: ProvinceClient,
    hello: dict[str, Any],
    office: Office | None = None,
    sent: int | None = None,
) -> Alignment:
    """Continue above the store's numbering when this database is behind it (restored).

    ``sent`` is the highest sequence number sent (read here when not given)."""
    office = office or outbox.office_of(db)
    if sent is None:
        _, sent = outbox.max_seqs(db, office)
    store_max = int(hello.get("max_seq") or 0)
    if store_max <= sent:
        return Alignment()
    theirs = client.all_own_events(sent)
    return align(db, office, store_max, theirs, list(hello.get("numbers") or []))


def _resend_missing(
    db: Database, client: ProvinceClient, answer: dict[str, Any], report: SyncReport, office: Office
) -> None:
    """Send again, once, the acknowledged events the store lost; they stay marked sent."""
    held = {
        b["block"]: [e["id"] for e in b.get("server_events", [])]
        for b in answer["blocks"]
        if not b["match"]
    }
    missing = outbox.missing_from_store(db, office, held)
    for start in range(0, len(missing), client.config.batch_size):
        chunk = missing[start : start + client.config.batch_size]
        batch_id = f"{office.code}-resend-{chunk[0]['seq']}-{chunk[-1]['seq']}"
        for result in client.push(chunk, batch_id):
            if result.get("status") in (protocol.ACCEPTED, protocol.DUPLICATE):
                report.resent += 1
            else:
                report.resend_refused.append(f"#{result.get('id')}：{result.get('message', '')}")


def run_sync(
    db: Database,
    engine: RulesEngine,
    config: ClientConfig,
    today: date,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    client: ProvinceClient | None = None,
) -> SyncReport:
    """Check who we talk to, then push, pull and reconcile under the lease; the run is recorded
    whatever happens, and a run killed midway earlier is closed as interrupted first."""
    try:
        office = outbox.office_of(db)
    except LookupError:
        raise SyncError(
            "本数据库还没有登记经办机构，无法同步：请先初始化本机构（或用 --db 指定本机构的数据库）"
        ) from None
    config = with_registration(config, db.path)
    holder = outbox.new_holder()
    if not outbox.acquire_lease(db, holder):
        raise SyncBusy("另一个窗口正在同步，请稍后再试")
    report = SyncReport()
    error = ""
    own_client = client is None
    run_id: int | None = None
    try:
        report.interrupted = outbox.close_interrupted(db)
        run_id = outbox.start_run(db, "online", config.terminal)
        client = client or ProvinceClient(config)
        _, sent = outbox.max_seqs(db, office)
        hello = check_identity(db, client, config, office, sent)
        report.alignment = align_with_store(db, client, hello, office, sent)
        hashes: dict[str, str] = {}
        report.tally = push_all(db, client, holder, progress, cancelled, hashes, office)
        if progress:
            progress(0, 0, "下载")
        report.pulled = pull_all(db, client, engine, today, office)
        answer = client.reconcile(outbox.local_digests(db, office, hashes))
        if not answer["match"]:
            # Events the store lost (restored from an older backup, say) are sent again, once.
            _resend_missing(db, client, answer, report, office)
            if report.resent:
                answer = client.reconcile(outbox.local_digests(db, office, hashes))
        report.server_count = answer["server_count"]
        report.mismatched_blocks = [b["block"] for b in answer["blocks"] if not b["match"]]
        report.reconciled = answer["match"]
        if not report.reconciled:
            held = [
                e["id"]
                for b in answer["blocks"]
                if not b["match"]
                for e in b.get("server_events", [])
            ]
            report.missing_here = outbox.count_unknown(db, held)
            error = f"对账不符：第 {'、'.join(map(str, report.mismatched_blocks))} 批"
            if report.missing_here:
                error += (
                    f"（本数据库缺少省平台已有的 {report.missing_here} 个本机构事件："
                    "运行 counter-app sync recover 取回）"
                )
    except SyncError as exc:
        error = str(exc)
        raise
    except Exception as exc:
        error = f"同步中断：{type(exc).__name__}"
        raise
    finally:
        if run_id is not None:
            outbox.finish_run(db, run_id, report.tally, report.pulled.total, error)
        outbox.release_lease(db, holder)
        if own_client and client is not None:
            client.close()
    return report


def recover(db: Database, config: ClientConfig) -> list[str]:
    """Take back the office's own records the store holds and this database lacks; one line each.

    The blocks whose digests differ are asked for, and of their events those this database does
    not know are put back with the filings and claims they describe (``restore.take_back``).
    """
    from counter_app.sync.restore import take_back

    try:
        office = outbox.office_of(db)
    except LookupError:
        raise SyncError("本数据库还没有登记经办机构，无法恢复") from None
    config = with_registration(config, db.path)
    holder = outbox.new_holder()
    if not outbox.acquire_lease(db, holder):
        raise SyncBusy("另一个窗口正在同步，请稍后再试")
    client = ProvinceClient(config)
    try:
        check_identity(db, client, config)
        answer = client.reconcile(outbox.local_digests(db, office))
        lost: list[dict[str, Any]] = []
        with db.read() as session:
            from sqlmodel import select

            from counter_app.storage.models import OutboxEvent

            local = set(session.exec(select(OutboxEvent.id)).all())
        for block in answer["blocks"]:
            if block["match"]:
                continue
            page = client.own_events(block["block"] * protocol.BATCH_MAX, protocol.BATCH_MAX)
            lost.extend(
                e
                for e in page["events"]
                if e["id"] not in local and protocol.block_of(e["seq"]) == block["block"]
            )
        return take_back(db, office, lost)
    finally:
        outbox.release_lease(db, holder)
        client.close()


def probe(config: ClientConfig, timeout: float = 3.0) -> bool:
    """Whether the provincial store answers with this token now (one try, short timeout)."""
    import httpx

    token = config.secret()
    if not config.url or not token.get_secret_value():
        return False
    if plain_http_refused(config.url, config.allow_insecure):
        return False
    try:
        response = httpx.get(
            config.url.rstrip("/") + protocol.PREFIX + "/hello",
            auth=_Bearer(token),
            headers=client_headers(),
            timeout=timeout,
            verify=_tls_context(config.ca_file),
        )
    except (httpx.HTTPError, SyncError):
        return False
    return response.status_code == 200
