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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from counter_app.locations import default_db_path
from counter_app.private_files import DIR_MODE, touch_private

BUSY_TIMEOUT_MS = 15000


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
    def _on_connect(dbapi_connection, _record) -> None:
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
    def _on_begin(connection) -> None:
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
        if migrate:
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
