"""The SQLite database of an office: engines with safe settings, sessions, migrations.

Every connection runs in WAL mode with ``synchronous=FULL`` (``NORMAL`` can lose the last commits
on a power cut), a busy timeout and foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so that two clerk processes queue for the write lock instead of failing with
"database is locked" (a deferred transaction that reads then writes gets SQLITE_BUSY at once).
Reads use a second engine with ordinary deferred transactions, so they never wait for a writer.

The same tables also open on PostgreSQL (``Database.open_url``), where writes for one person are
serialised by a row lock on the person (``lock_person``) instead of the file's write lock; the
schema is created from the models there (the alembic scripts are written for SQLite).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from counter_app.private_files import DIR_MODE, touch_private

BUSY_TIMEOUT_MS = 15000


def default_db_path() -> Path:
    """``COUNTER_DB`` if set, else ``counter.db`` in the user's data directory."""
    override = os.environ.get("COUNTER_DB")
    if override:
        return Path(override)
    return Path(user_data_dir("counter-app", appauthor=False)) / "counter.db"


def _make_engine(path: Path, *, immediate: bool) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    configure_sqlite(engine, immediate=immediate)
    return engine


def configure_sqlite(engine: Engine, *, immediate: bool) -> None:
    """Apply the safe per-connection settings and the BEGIN (IMMEDIATE) recipe to an engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's legacy handling would
        # start deferred transactions behind our back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Database:
    """The two engines over one database file, and the sessions a repository uses."""

    path: Path | None
    writer: Engine
    reader: Engine

    @classmethod
    def open(cls, path: Path | str | None = None, *, migrate: bool = True) -> Database:
        """Open (creating the folder and schema if needed) and upgrade to the latest schema."""
        db_path = Path(path) if path else default_db_path()
        # Personal data: a new folder is 0700 and the file 0600 from the start (SQLite gives the
        # -wal and -shm files the database file's mode).
        db_path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        touch_private(db_path)
        database = cls(
            db_path,
            _make_engine(db_path, immediate=True),
            _make_engine(db_path, immediate=False),
        )
        if migrate and not schema_at_head(database):
            from counter_app.storage.migrations import upgrade

            upgrade(database)
        return database

    @classmethod
    def open_url(cls, url: str) -> Database:
        """Open a database by SQLAlchemy URL: ``sqlite:///file`` or ``postgresql+psycopg://…``.

        On PostgreSQL an empty database gets the schema from the models, the append-only audit
        trigger and the alembic stamp of the latest revision.
        """
        if url.startswith("sqlite"):
            return cls.open(url.split(":///", 1)[1])
        engine = create_engine(url, pool_pre_ping=True)
        database = cls(None, engine, engine)
        _create_postgres_schema(database)
        return database

    @property
    def postgres(self) -> bool:
        """Whether this is a PostgreSQL database (row locks) rather than an SQLite file."""
        return self.writer.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE): committed on success, rolled back on error."""
        with Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.reader, expire_on_commit=False) as session:
            yield session

    def close(self) -> None:
        """Release the connections."""
        self.writer.dispose()
        self.reader.dispose()


_REVISION_LINE = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)


@cache
def _script_heads() -> frozenset[str]:
    """The head revisions of the migration scripts, read from their text (alembic not imported)."""
    from counter_app.resources import migrations_dir

    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir() / "versions").glob("*.py"):
        for down, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (parents if down else revisions).update(names)
    return frozenset(revisions - parents)


def schema_at_head(database: Database) -> bool:
    """Whether the database is at the scripts' latest revision: one query, no alembic import.

    Alembic (half a second to import) is loaded only when a migration is due, or when the
    scripts cannot be read this simply (then the answer is ``False`` and alembic decides).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    heads = _script_heads()
    if not heads:
        return False
    try:
        with database.reader.connect() as connection:
            current = {
                row[0]
                for row in connection.execute(text("SELECT version_num FROM alembic_version"))
            }
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return current == heads


_PG_AUDIT_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION '审计记录不能修改或删除'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


def _create_postgres_schema(database: Database) -> None:
    """The office schema on an empty PostgreSQL database (one transaction), stamped at head."""
    from alembic import command
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    import counter_app.storage.models  # noqa: F401  (registers the tables)
    from counter_app.storage.migrations import config

    with database.writer.begin() as connection:
        if inspect(connection).has_table("office"):
            return
        SQLModel.metadata.create_all(connection)
        connection.exec_driver_sql(_PG_AUDIT_TRIGGER)
        alembic = config()
        alembic.attributes["connection"] = connection
        command.stamp(alembic, "head")
