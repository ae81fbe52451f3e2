"""The tables of the reference provincial store (SQLAlchemy Core, SQLite or PostgreSQL).

Offices with their token hash and file key, the events as received, the filings as they stand,
online applications, the pull feed, the numbered packages, and one row per person whose row lock
serialises filings of that person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

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


@dataclass(frozen=True)
class OfficeInfo:
    """An office as the store knows it."""

    code: str
    name: str
    pool_code: str
    file_key: bytes


def among(column: ColumnElement[Any], values: Iterable[Any], postgres: bool) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter (a batch names up to 500).

    An expanded ``IN`` has one parameter per value, so its SQL is rendered anew for every batch
    size; one array (PostgreSQL, ``= ANY``) or one JSON text (SQLite, ``json_each``) keeps the
    statement the same and cached.
    """
    items = sorted(set(values))
    integer = isinstance(column.type, Integer)
    if postgres:
        array = ARRAY(Integer if integer else String)
        return column == any_(bindparam(None, items, type_=array))
    listed: Any = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(items), type_=String))
    )
    return column.in_(listed.scalar_subquery())


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) the way a bulk load does, at the driver.

    The column types' bind processing is applied here (SQLite keeps times as text), then SQLite
    gets one prepared INSERT run for every row (``executemany`` in C) and PostgreSQL one ``COPY
    … FROM STDIN`` in the transaction (the rows streamed, no statement to parse per row). A
    unique key hit arrives as SQLAlchemy's ``IntegrityError``, the same as from an ``INSERT``.
    """
    if not rows:
        return
    dialect = conn.dialect
    columns = [c for c in table.c if c.name in rows[0]]
    names = [c.name for c in columns]
    # The row tuples made in C, then each column with bind processing converted, each distinct
    # value once (a batch's rows share their time stamp).
    get = itemgetter(*names)
    values = [get(row) for row in rows] if len(names) > 1 else [(row[names[0]],) for row in rows]
    for index, column in enumerate(columns):
        process = column.type._cached_bind_processor(dialect)
        if process is not None:
            done = {v: process(v) for v in {row[index] for row in values}}
            values = [(*row[:index], done[row[index]], *row[index + 1 :]) for row in values]
    quote = dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name in names)
    if dialect.name == "postgresql":
        _copy(conn, f"COPY {quote(table.name)} ({listed}) FROM STDIN", values)
    else:
        marks = ", ".join(["?"] * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({listed}) VALUES ({marks})", values)


def _copy(conn: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    """``COPY … FROM STDIN`` of these rows on the connection's psycopg connection."""
    import psycopg

    raw = conn.connection.dbapi_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in values:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
