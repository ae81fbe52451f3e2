"""The database of an office (an SQLite file, or PostgreSQL shared by several windows).

Every connection runs in WAL mode with ``synchronous=FULL`` (``NORMAL`` can lose the last commits
on a power cut), a busy timeout and foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so that two clerk processes queue for the write lock instead of failing with
"database is locked" (a deferred transaction that reads then writes gets SQLITE_BUSY at once).
Reads use a second engine with ordinary deferred transactions, so they never wait for a writer.

The same schema also opens on PostgreSQL (``Database.open_url``), where writes for one person are
serialised by a row lock on the person (``lock_person``) instead of the file's write lock, and
numbers and outbox sequences by a row lock on the office; the same alembic migrations build and
upgrade the schema on both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from counter_app.locations import default_db_path, postgres_url
from counter_app.private_files import DIR_MODE, touch_private

if TYPE_CHECKING:
    from counter_app.settings import Settings

BUSY_TIMEOUT_MS = 15000


def _make_engine(path: Path, *, immediate: bool) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    configure_sqlite(engine, immediate=immediate)
    return engine


def _make_cipher_engine(path: Path, key: bytes, *, immediate: bool) -> Engine:
    """An engine over an SQLCipher file opened with the raw 256-bit ``key`` (no passphrase KDF)."""
    from counter_app.storage.encryption import cipher_url

    engine = create_engine(
        cipher_url(path, key),
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        # Pooled like a plain file (the dialect's default is one connection per thread).
        poolclass=QueuePool,
    )
    configure_sqlite(engine, immediate=immediate)
    return engine


def _make_locked_engine(path: Path) -> Engine:
    """An engine that refuses to connect: an encrypted database before a clerk has signed in."""
    from counter_app.storage.encryption import DatabaseLocked

    def refuse() -> Any:
        raise DatabaseLocked(path)

    return create_engine("sqlite://", creator=refuse)


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
    #: The SQLCipher key while an encrypted database is open (``None``: plain, or still locked).
    key: bytes | None = field(default=None, repr=False)
    #: Whether the file is encrypted (it then opens only once a key slot gives the key).
    encrypted: bool = False

    @classmethod
    def open(
        cls, path: Path | str | None = None, *, migrate: bool = True, key: bytes | None = None
    ) -> Database:
        """Open (creating the folder and schema if needed) and upgrade to the latest schema.

        An encrypted file (no SQLite header) opens with ``key``, or else *locked*: nothing can be
        read until ``unlock`` (a clerk's key slot at sign-in). An encrypted database is never
        created here (``encryption.create_encrypted`` does that), and a missing or wrong key never
        leaves a new empty file behind.
        """
        db_path = Path(path) if path else default_db_path()
        from counter_app.storage.encryption import expects_encrypted

        if key is not None or expects_encrypted(db_path):
            return cls.open_encrypted(db_path, key, migrate=migrate)
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
    def open_encrypted(cls, path: Path, key: bytes | None, *, migrate: bool = True) -> Database:
        """An existing SQLCipher database: opened with ``key``, or locked until ``unlock``."""
        from counter_app.storage.encryption import require_encrypted_file

        require_encrypted_file(path)
        locked = _make_locked_engine(path)
        database = cls(path, locked, locked, encrypted=True)
        if key is not None:
            database.unlock(key, migrate=migrate)
        return database

    @property
    def locked(self) -> bool:
        """An encrypted database no clerk has unlocked yet."""
        return self.encrypted and self.key is None

    def unlock(self, key: bytes, *, migrate: bool = True) -> None:
        """Open the encrypted file with ``key`` (``WrongKey`` in Chinese if it is not its key)."""
        from counter_app.storage.encryption import check_key

        assert self.path is not None
        check_key(self.path, key)
        self.writer.dispose()
        self.reader.dispose()
        self.writer = _make_cipher_engine(self.path, key, immediate=True)
        self.reader = _make_cipher_engine(self.path, key, immediate=False)
        self.key = key
        if migrate:
            from counter_app.storage.migrations import upgrade

            upgrade(self)

    @classmethod
    def open_url(cls, url: str, *, migrate: bool = True) -> Database:
        """Open a database by SQLAlchemy URL: ``sqlite:///file`` or ``postgresql+psycopg://…``.

        A PostgreSQL office database is brought to the latest schema by the same alembic
        migrations as an SQLite file (``open_postgres``).
        """
        if url.startswith("sqlite"):
            return cls.open(url.split(":///", 1)[1], migrate=migrate)
        if not url.startswith("postgresql"):
            raise ValueError(
                f"不支持的数据库地址：{url.split('://', 1)[0]}://…（应为 postgresql+psycopg://…）"
            )
        return open_postgres(url, migrate=migrate)

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


def open_postgres(url: str, *, migrate: bool = True) -> Database:
    """A PostgreSQL office database shared by several windows, upgraded to the latest schema.

    One engine serves reads and writes: PostgreSQL's MVCC lets readers run beside writers, and
    writes that must not interleave take row locks (``records.lock_person``, the office row for
    numbers and outbox sequence). An empty database gets the whole schema from the migrations;
    one made by an older release from the models (stamped at its head) continues from there.
    """
    engine = create_engine(postgres_url(url), pool_pre_ping=True)
    database = Database(None, engine, engine)
    if migrate:
        from counter_app.storage.migrations import upgrade

        upgrade(database)
    return database


def describe_postgres(database: Database) -> list[str]:
    """What ``office init-db`` reports about a PostgreSQL office database, in Chinese."""
    from counter_app.storage.migrations import current_revision
    from counter_app.storage.pg_schema import audit_trigger_present, connection_encrypted

    url = database.writer.url
    lines = [
        f"数据库 {url.host or '本机套接字'}:{url.port or 5432}/{url.database} 已就绪，"
        f"表结构版本 {current_revision(database)}。"
    ]
    with database.reader.connect() as connection:
        lines.append(
            "审计记录：数据库触发器禁止修改和删除。"
            if audit_trigger_present(connection)
            else "⚠ 审计记录的保护触发器缺失或被停用：请由数据库管理员检查。"
        )
        if connection_encrypted(connection):
            lines.append("连接：已加密（TLS）。")
        elif url.host in (None, "", "localhost", "127.0.0.1", "::1"):
            lines.append("连接：本机连接，未加密。")
        else:
            lines.append(
                "⚠ 连接未加密：数据库在另一台机器上时，请在服务器开启 TLS，"
                "并在地址后加 ?sslmode=verify-full。"
            )
    return lines


def open_office_database(settings: Settings) -> Database:
    """Open (and migrate) the run's office database: ``db_url`` if set, else the file."""
    url = settings.database_url()
    return Database.open_url(url) if url else Database.open(settings.database_path())
