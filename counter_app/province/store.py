"""The reference provincial store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Each pushed batch is one transaction. Every event is checked before anything of it is written, so
a bad event is answered ``rejected`` and writes nothing while the rest of the batch goes on. The
event id is the primary key of ``province_event``: an event is applied at most once, and a repeat
is answered from what is stored (``duplicate``, or ``payload_mismatch`` when its hash differs); if
a concurrent request stores one of the ids first, the batch is rolled back and run again, and is
then answered from the committed data. Filings of the same person by two offices are serialised
(row locks on the persons' rows, taken in sorted order, on PostgreSQL; SQLite has one writer at a
time), so "an active filing elsewhere" is decided on committed data. Events are checked by the
strict wire models (``wire``) first; a batch's filings are read, decided and written set-based
(``book``); what each transition may do is ``transitions``. The tables are in
``tables``; how each kind of event is applied is in ``apply``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    create_engine,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from counter_app.domain.errors import CounterError
from counter_app.province import wire
from counter_app.province.apply import (
    Decider,
    apply_filing,
    apply_review,
    lock_keys,
    now,
    pack_for_pool,
    publish,
)
from counter_app.province.book import FilingBook
from counter_app.province.tables import (
    OfficeInfo,
    among,
    applications,
    events,
    feed,
    filings,
    insert_rows,
    metadata,
    offices,
    packages,
)
from counter_app.regions_data import load_region_table
from counter_app.sync import protocol
from counter_app.sync.protocol import ACCEPTED, DUPLICATE, rejection
from counter_app.sync.transitions import business_today

_RETRIES = 5


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class StoreError(CounterError, ValueError):
    """An operator's request the store refuses; the message is Chinese."""


class ProvinceStore:
    """The provincial store's data: offices and tokens, events, filings, the pull feed."""

    def __init__(self, url: str, today: Callable[[], date] = business_today) -> None:
        self.url = url
        #: The business date that decides expiry (China's today; fixed in tests).
        self.today = today
        if url.startswith("sqlite"):
            from counter_app.storage.db import BUSY_TIMEOUT_MS, configure_sqlite

            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
            )
            configure_sqlite(self.engine, immediate=True)
        else:
            self.engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
        self.postgres = self.engine.dialect.name == "postgresql"
        #: Test hook: called inside a push transaction after each event (see server faults).
        self.after_event: Callable[[int], None] | None = None
        metadata.create_all(self.engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- offices and tokens ---------------------------------------------------------------

    def add_office(self, code: str, name: str, pool_code: str) -> str:
        """Register an office; returns its new token (shown once, stored only as a hash)."""
        if pack_for_pool(pool_code) is None:
            raise StoreError(f"没有适用于统筹区 {pool_code} 的策略包，省平台无法核对该机构的备案")
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            if conn.execute(select(offices.c.code).where(offices.c.code == code)).first():
                raise StoreError(f"经办机构 {code} 已登记；要换令牌请用 token 命令")
            conn.execute(
                insert(offices).values(
                    code=code,
                    name=name,
                    pool_code=pool_code,
                    token_hash=token_hash(token),
                    file_key="",  # unused: files are signed with Ed25519 (province.keys)
                    created_at=now(),
                )
            )
        return token

    def new_token(self, code: str) -> str:
        """Replace an office's token (the old one stops working at once)."""
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            done = conn.execute(
                update(offices).where(offices.c.code == code).values(token_hash=token_hash(token))
            )
            if done.rowcount != 1:
                raise StoreError(f"经办机构 {code} 未登记")
        return token

    def office_by_token(self, token: str) -> OfficeInfo | None:
        """The office a bearer token belongs to."""
        return self._office(offices.c.token_hash == token_hash(token))

    def office(self, code: str) -> OfficeInfo | None:
        """The office with this code."""
        return self._office(offices.c.code == code)

    def _office(self, where: Any) -> OfficeInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(offices).where(where)).first()
        if row is None:
            return None
        return OfficeInfo(row.code, row.name, row.pool_code, bytes.fromhex(row.file_key))

    # -- push -----------------------------------------------------------------------------

    def apply_batch(
        self, office: OfficeInfo, batch: list[Any], batch_id: str
    ) -> list[dict[str, Any]]:
        """Apply a batch in one transaction, each event at most once; one answer per event."""
        for attempt in range(_RETRIES):
            try:
                with self._tx() as conn:
                    return self._apply_all(conn, office, batch, batch_id)
            except DBAPIError as exc:
                # Another request stored some of these events first (a unique key), or two
                # offices' batches deadlocked: the whole batch was rolled back, so running it
                # again is safe, and it is then answered from what is committed.
                retry = isinstance(exc, IntegrityError) or _retryable(exc)
                if attempt == _RETRIES - 1 or not retry:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_all(
        self, conn: Connection, office: OfficeInfo, batch: list[Any], batch_id: str
    ) -> list[dict[str, Any]]:
        # Every event is checked against the wire models first; rejections never write, so a
        # batch needs no savepoints: what is known is read in two queries, the accepted events
        # are inserted together at the end.
        parsed = [wire.parse_event(e) for e in batch]
        good = [p for p in parsed if isinstance(p, wire.Parsed) and p.event.office == office.code]
        known: dict[str, str] = {}
        taken: dict[int, str] = {}
        if good:
            # Locks first: a batch racing with this one for the same persons then reads what
            # that one committed.
            self._lock_people(conn, good)
            known = dict(
                conn.execute(
                    select(events.c.id, events.c.hash).where(
                        among(events.c.id, {p.event.id for p in good}, self.postgres)
                    )
                ).all()
            )
            taken = dict(
                conn.execute(
                    select(events.c.seq, events.c.id).where(
                        events.c.office == office.code,
                        among(events.c.seq, {p.event.seq for p in good}, self.postgres),
                    )
                ).all()
            )
        decider = Decider(self.today(), load_region_table(), now())
        book = FilingBook(conn, office)
        # The filings the batch names and every filing of its persons, in one query.
        filing_events = [p for p in good if p.event.kind in protocol.FILING_KINDS and p.payload]
        book.load(
            numbers={n for p in filing_events for n in _numbers(p.payload)},
            persons={p.payload.person.id_number for p in filing_events},  # type: ignore[union-attr]
        )
        batch_id = batch_id if _fits_batch_id(batch_id) else token_hash(batch_id)
        rows: list[dict[str, Any]] = []
        texts: dict[str, str] = {}  # the accepted events' payloads as stored
        answers = []
        for index, item in enumerate(parsed):
            answer = self._apply_one(conn, book, office, item, known, taken, decider, texts)
            answers.append(answer)
            if answer["status"] == ACCEPTED:
                assert isinstance(item, wire.Parsed)
                event = item.event
                rows.append(
                    {
                        "id": event.id,
                        "office": office.code,
                        "seq": event.seq,
                        "clerk": event.clerk,
                        "kind": event.kind,
                        "hash": known[event.id],
                        "payload": texts[event.id],
                        "batch_id": batch_id,
                        "received_at": decider.stamp,
                    }
                )
            if self.after_event:
                self.after_event(index)
        book.flush(decider.stamp)
        insert_rows(conn, events, rows)
        return answers

    def _apply_one(
        self,
        conn: Connection,
        book: FilingBook,
        office: OfficeInfo,
        item: wire.Parsed | str,
        known: dict[str, str],
        taken: dict[int, str],
        decider: Decider,
        texts: dict[str, str],
    ) -> dict[str, Any]:
        if isinstance(item, str):
            return rejection("bad_event", item)
        event = item.event
        if event.office != office.code:
            return rejection("wrong_office", f"事件属于 {event.office}")
        digest, payload_text = event_texts(item.raw)
        if event.id in known:
            if known[event.id] == digest:
                return {"status": DUPLICATE}
            return rejection("payload_mismatch")
        if event.seq in taken:
            return rejection("seq_conflict", f"序号 {event.seq}")
        kind = event.kind
        if not protocol.known_kind(kind):
            return rejection("unknown_kind", kind)
        if item.problem:
            return rejection("bad_event", item.problem)
        if kind in protocol.FILING_KINDS:
            refused = apply_filing(book, office, event.id, kind, item.payload, decider)
        elif kind == protocol.REVIEW_KIND:
            refused = apply_review(
                conn, book, office, event.id, item.payload, decider, self.postgres
            )
        else:
            refused = None  # claim.* events are kept as they come
        if refused:
            return refused
        # Later events of the same batch see this one (a repeat inside one batch is a duplicate).
        known[event.id], taken[event.seq] = digest, event.id
        texts[event.id] = payload_text
        return {"status": ACCEPTED}

    def _lock_people(self, conn: Connection, batch: list[wire.Parsed]) -> None:
        """Serialise filings of the same persons across concurrent batches (PostgreSQL)."""
        keys = {
            p.payload.person.id_number  # type: ignore[attr-defined]
            for p in batch
            if p.event.kind in protocol.FILING_KINDS and p.payload is not None
        }
        lock_keys(conn, sorted(keys), self.postgres)

    # -- reconcile ------------------------------------------------------------------------

    def digests(self, office: OfficeInfo) -> dict[int, dict[str, Any]]:
        """The office's stored events per reconcile block: count and hash."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.seq, events.c.id, events.c.hash).where(
                    events.c.office == office.code
                )
            ).all()
        return protocol.block_digests((r.seq, r.id, r.hash) for r in rows)

    def block_events(self, office: OfficeInfo, block: int) -> list[dict[str, Any]]:
        """The events of one block (sequence, id, hash), to find a difference."""
        low, high = block * protocol.BATCH_MAX + 1, (block + 1) * protocol.BATCH_MAX
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.seq, events.c.id, events.c.hash)
                .where(events.c.office == office.code, events.c.seq.between(low, high))
                .order_by(events.c.seq)
            ).all()
        return [{"seq": r.seq, "id": r.id, "hash": r.hash} for r in rows]

    # -- pull feed ------------------------------------------------------------------------

    def pull(self, office: OfficeInfo, cursor: int, limit: int) -> list[dict[str, Any]]:
        """What was published for this office after ``cursor``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feed)
                .where(
                    feed.c.cursor > cursor,
                    or_(
                        feed.c.office == office.code,
                        feed.c.pool_code == office.pool_code,
                        (feed.c.office.is_(None) & feed.c.pool_code.is_(None)),
                    ),
                )
                .order_by(feed.c.cursor)
                .limit(limit)
            ).all()
        return [{"cursor": r.cursor, "type": r.type, "data": json.loads(r.data)} for r in rows]

    def add_application(self, office_code: str, data: dict[str, Any]) -> str:
        """An online application (不见面备案) assigned to an office for review."""
        with self._tx() as conn:
            if not conn.execute(
                select(offices.c.code).where(offices.c.code == office_code)
            ).first():
                raise StoreError(f"经办机构 {office_code} 未登记")
            app_id = data.get("id") or f"WS{office_code}{secrets.token_hex(5).upper()}"
            data = {**data, "id": app_id}
            conn.execute(
                insert(applications).values(
                    id=app_id,
                    office=office_code,
                    data=protocol.canonical(data),
                    status="pending",
                    reason="",
                    created_at=now(),
                )
            )
            publish(conn, "online_application", data, office=office_code)
        return app_id

    def add_registry_update(self, pool_code: str, data: dict[str, Any]) -> None:
        """An update of the insured registry, for every office of the pool."""
        with self._tx() as conn:
            publish(conn, "registry_update", data, pool_code=pool_code)

    def add_package(self, kind: str, number: int, content: dict[str, Any]) -> None:
        """Publish a numbered package to every office; numbers only go up."""
        if kind not in protocol.PACKAGES:
            raise StoreError(f"包类型应为 {'、'.join(protocol.PACKAGES)} 之一")
        with self._tx() as conn:
            last = conn.execute(
                select(func.max(packages.c.number)).where(packages.c.kind == kind)
            ).scalar()
            if last is not None and number <= last:
                raise StoreError(
                    f"{protocol.PACKAGES[kind]}第 {number} 号不晚于已发布的第 {last} 号，未发布"
                )
            conn.execute(
                insert(packages).values(
                    kind=kind, number=number, content=protocol.canonical(content), created_at=now()
                )
            )
            publish(conn, "package", {"kind": kind, "number": number, "content": content})

    # -- reading --------------------------------------------------------------------------

    def office_filings(self, office_code: str | None = None) -> list[dict[str, Any]]:
        """Filings as stored (all, or one office's), newest first."""
        query = select(filings).order_by(filings.c.updated_at.desc())
        if office_code:
            query = query.where(filings.c.office == office_code)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def counts(self) -> dict[str, int]:
        """Events per office."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.office, func.count()).group_by(events.c.office)
            ).all()
        return {office: count for office, count in rows}


def event_texts(raw: dict[str, Any]) -> tuple[str, str]:
    """``protocol.event_hash(raw)`` and the payload's canonical text, the payload encoded once.

    The canonical text of the hashed fields is the object of their sorted keys, so it is put
    together around the payload's own canonical text (the same bytes ``canonical`` gives); the
    other fields are short texts and a number, encoded one by one as ``canonical`` would.
    """
    payload = protocol.canonical(raw.get("payload"))
    get = raw.get
    text = (
        f'{{"clerk":{_json(get("clerk"))},"id":{_json(get("id"))},"kind":{_json(get("kind"))},'
        f'"office":{_json(get("office"))},"payload":{payload},"seq":{_json(get("seq"))}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest(), payload


def _json(value: Any) -> str:
    """``protocol.canonical(value)``, quicker for a text or an integer."""
    kind = type(value)
    if kind is str:
        return _encode_text(value)
    if kind is int:
        return str(value)
    return protocol.canonical(value)


#: How ``json.dumps(…, ensure_ascii=False)`` writes a text (the C encoder's own function).
_encode_text: Callable[[str], str] = json.encoder.encode_basestring


def _numbers(payload: Any) -> list[str]:
    return [payload.number, *getattr(payload, "supersedes", [])]


def _fits_batch_id(batch_id: Any) -> bool:
    return isinstance(batch_id, str) and len(batch_id) <= 64 and wire.clean_text(batch_id)


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def default_url() -> str:
    """``COUNTER_PROVINCE_DB`` or a SQLite file in the working directory."""
    return os.environ.get("COUNTER_PROVINCE_DB", "sqlite:///province.db")
