"""The reference provincial store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Each pushed batch is one transaction. Every event is checked before anything of it is written, so
a bad event is answered ``rejected`` and writes nothing while the rest of the batch goes on. The
event id is the primary key of ``province_event``: an event is applied at most once, and a repeat
is answered from what is stored (``duplicate``, or ``payload_mismatch`` when its hash differs); if
a concurrent request stores one of the ids first, the batch is rolled back and run again, and is
then answered from the committed data. Filings of the same person by two offices are serialised
(row locks on the persons' rows, taken in sorted order, on PostgreSQL; SQLite has one writer at a
time), so "an active filing elsewhere" is decided on committed data.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from counter_app.domain.idnumber import mask_id
from counter_app.sync import protocol
from counter_app.sync.protocol import ACCEPTED, DUPLICATE, rejection

metadata = MetaData()

offices = Table(
    "province_office",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("pool_code", String(6), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("file_key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
events = Table(
    "province_event",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("office", String(12), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("clerk", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("office", "seq", name="uq_province_event_office_seq"),
)
filings = Table(
    "province_filing",
    metadata,
    Column("number", String(40), primary_key=True),
    Column("office", String(12), nullable=False, index=True),
    Column("id_number", String(18), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("category", String(30), nullable=False),
    Column("destination", String(6), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_until", String(10)),
    Column("event_id", String(36), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
applications = Table(
    "province_application",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("office", String(12), nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_at", DateTime(timezone=True)),
)
feed = Table(
    "province_feed",
    metadata,
    Column("cursor", Integer, primary_key=True, autoincrement=True),
    # Addressed to one office, to every office of a pool, or (both empty) to everyone.
    Column("office", String(12), index=True),
    Column("pool_code", String(6), index=True),
    Column("type", String(30), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# One row per person the store has seen: its row lock serialises filings of that person.
people = Table(
    "province_person",
    metadata,
    Column("id_number", String(18), primary_key=True),
)
packages = Table(
    "province_package",
    metadata,
    Column("kind", String(30), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

_RETRIES = 5


def _now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class StoreError(ValueError):
    """An operator's request the store refuses; the message is Chinese."""


@dataclass(frozen=True)
class OfficeInfo:
    """An office as the store knows it."""

    code: str
    name: str
    pool_code: str
    file_key: bytes


class ProvinceStore:
    """The provincial store's data: offices and tokens, events, filings, the pull feed."""

    def __init__(self, url: str) -> None:
        self.url = url
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
                    file_key=protocol.file_key(token).hex(),
                    created_at=_now(),
                )
            )
        return token

    def new_token(self, code: str) -> str:
        """Replace an office's token (the old one stops working at once)."""
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            done = conn.execute(
                update(offices)
                .where(offices.c.code == code)
                .values(token_hash=token_hash(token), file_key=protocol.file_key(token).hex())
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
        # Rejections never write, so a batch needs no savepoints: what is known is read in two
        # queries, the accepted events are inserted together at the end.
        good = [e for e in batch if not _malformed(e) and e["office"] == office.code]
        known: dict[str, str] = {}
        taken: dict[int, str] = {}
        if good:
            # Locks first: a batch racing with this one for the same persons then reads what
            # that one committed.
            self._lock_people(conn, good)
            known = dict(
                conn.execute(
                    select(events.c.id, events.c.hash).where(
                        events.c.id.in_({e["id"] for e in good})
                    )
                ).all()
            )
            taken = dict(
                conn.execute(
                    select(events.c.seq, events.c.id).where(
                        events.c.office == office.code,
                        events.c.seq.in_({e["seq"] for e in good}),
                    )
                ).all()
            )
        rows: list[dict[str, Any]] = []
        answers = []
        for index, event in enumerate(batch):
            answers.append(self._apply_one(conn, office, event, known, taken))
            if answers[-1]["status"] == ACCEPTED:
                rows.append(
                    {
                        "id": event["id"],
                        "office": office.code,
                        "seq": event["seq"],
                        "clerk": str(event["clerk"]),
                        "kind": event["kind"],
                        "hash": known[event["id"]],
                        "payload": protocol.canonical(event["payload"]),
                        "batch_id": batch_id,
                        "received_at": _now(),
                    }
                )
            if self.after_event:
                self.after_event(index)
        if rows:
            conn.execute(insert(events), rows)
        return answers

    def _apply_one(
        self,
        conn: Connection,
        office: OfficeInfo,
        event: Any,
        known: dict[str, str],
        taken: dict[int, str],
    ) -> dict[str, Any]:
        problem = _malformed(event)
        if problem:
            return rejection("bad_event", problem)
        if event["office"] != office.code:
            return rejection("wrong_office", f"事件属于 {event['office']}")
        digest = protocol.event_hash(event)
        if event["id"] in known:
            if known[event["id"]] == digest:
                return {"status": DUPLICATE}
            return rejection("payload_mismatch")
        if event["seq"] in taken:
            return rejection("seq_conflict", f"序号 {event['seq']}")
        kind = event["kind"]
        if not protocol.known_kind(kind):
            return rejection("unknown_kind", kind)
        if kind in protocol.FILING_KINDS:
            refused = self._apply_filing(conn, office, event)
        elif kind == protocol.REVIEW_KIND:
            refused = self._apply_review(conn, office, event)
        else:
            refused = None  # claim.* events are kept as they come
        if refused:
            return refused
        # Later events of the same batch see this one (a repeat inside one batch is a duplicate).
        known[event["id"]], taken[event["seq"]] = digest, event["id"]
        return {"status": ACCEPTED}

    def _lock_people(self, conn: Connection, batch: list[dict[str, Any]]) -> None:
        """Serialise filings of the same persons across concurrent batches (PostgreSQL)."""
        keys = {
            (e["payload"].get("person") or {}).get("id_number")
            for e in batch
            if e["kind"] in protocol.FILING_KINDS and isinstance(e["payload"], dict)
        }
        self._lock_keys(conn, sorted(k for k in keys if isinstance(k, str) and len(k) <= 18))

    def _lock_person(self, conn: Connection, id_number: str) -> None:
        self._lock_keys(conn, [id_number] if len(id_number) <= 18 else [])

    def _lock_keys(self, conn: Connection, keys: list[str]) -> None:
        # Row locks on the persons' rows, taken in sorted order so that two batches never wait
        # on each other crosswise (if they ever do, PostgreSQL aborts one and it is retried).
        # Row locks live in the rows, so a batch of 500 persons does not fill the lock table.
        # SQLite needs none: it has one writer at a time.
        if not self.postgres or not keys:
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

    def _elsewhere(
        self, conn: Connection, office: OfficeInfo, id_number: str
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

    def _apply_filing(
        self, conn: Connection, office: OfficeInfo, event: dict[str, Any]
    ) -> dict[str, Any] | None:
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
            "updated_at": _now(),
        }
        misfit = _misfit(
            filings,
            {**values, "number": number, "id_number": id_number, "name": person.get("name", "")},
        )
        if misfit:
            return rejection("bad_event", misfit)
        if event["kind"] != "filing.new":
            if row is None:
                return rejection("unknown_filing", number)
            if row.office != office.code:
                return rejection("not_your_filing", number)
            conn.execute(update(filings).where(filings.c.number == number).values(**values))
            return None
        if row is not None and row.office != office.code:
            return rejection("not_your_filing", number)
        conflict, others = self._elsewhere(conn, office, id_number)
        if conflict and values["status"] == "active":
            return conflict
        for old in payload.get("supersedes") or []:
            conn.execute(
                update(filings)
                .where(filings.c.number == old, filings.c.office == office.code)
                .values(status="superseded", updated_at=_now())
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
            self._feed(conn, "filing_elsewhere", data, office=other)
        return None

    def _apply_review(
        self, conn: Connection, office: OfficeInfo, event: dict[str, Any]
    ) -> dict[str, Any] | None:
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
            self._lock_person(conn, id_number)
            conflict, _ = self._elsewhere(conn, office, id_number)
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
                "updated_at": _now(),
            }
            misfit = _misfit(filings, values)
            if misfit:
                return rejection("bad_event", misfit)
            conn.execute(insert(filings).values(**values))
        conn.execute(
            update(applications)
            .where(applications.c.id == app_id)
            .values(status=decision, reason=str(payload.get("reason", "")), reviewed_at=_now())
        )
        return None

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

    def _feed(
        self,
        conn: Connection,
        type_: str,
        data: dict[str, Any],
        *,
        office: str | None = None,
        pool_code: str | None = None,
    ) -> None:
        conn.execute(
            insert(feed).values(
                office=office,
                pool_code=pool_code,
                type=type_,
                data=protocol.canonical(data),
                created_at=_now(),
            )
        )

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
                    created_at=_now(),
                )
            )
            self._feed(conn, "online_application", data, office=office_code)
        return app_id

    def add_registry_update(self, pool_code: str, data: dict[str, Any]) -> None:
        """An update of the insured registry, for every office of the pool."""
        with self._tx() as conn:
            self._feed(conn, "registry_update", data, pool_code=pool_code)

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
                    kind=kind, number=number, content=protocol.canonical(content), created_at=_now()
                )
            )
            self._feed(conn, "package", {"kind": kind, "number": number, "content": content})

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


def _misfit(table: Table, values: dict[str, Any]) -> str:
    """Which value does not fit its column (type or length): one bad event must not fail a batch."""
    for key, value in values.items():
        column = table.c[key]
        if not isinstance(column.type, String):
            continue
        if value is None and column.nullable:
            continue
        if not isinstance(value, str):
            return f"{key} 应为文字"
        if column.type.length and len(value) > column.type.length:
            return f"{key} 超过 {column.type.length} 个字符"
    return ""


def _malformed(event: Any) -> str:
    if not isinstance(event, dict):
        return "事件应为 JSON 对象"
    if not isinstance(event.get("id"), str) or not 1 <= len(event["id"]) <= 36:
        return "id"
    if not isinstance(event.get("seq"), int) or event["seq"] < 1:
        return "seq"
    for key in ("office", "kind"):
        if not isinstance(event.get(key), str):
            return key
    if len(event["kind"]) > 40 or len(str(event.get("clerk"))) > 40:
        return "kind 或 clerk 过长"
    if not isinstance(event.get("payload"), dict):
        return "payload"
    return ""


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def default_url() -> str:
    """``COUNTER_PROVINCE_DB`` or a SQLite file in the working directory."""
    return os.environ.get("COUNTER_PROVINCE_DB", "sqlite:///province.db")
