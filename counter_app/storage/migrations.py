"""Schema migrations (alembic, scripts in ``db/``), applied when the app opens a database.

``python -m counter_app.storage.migrations revision "message"`` writes a new migration by
comparing the models with a scratch database at the latest revision.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from counter_app.resources import migrations_dir

if TYPE_CHECKING:
    from counter_app.storage.db import Database


def config() -> Config:
    """The alembic configuration of the office database's scripts."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the database (SQLite or PostgreSQL, same scripts) to ``revision`` in one transaction.

    A database already at the latest revision is only read: every clerk process opens the
    database, and taking the write lock for nothing would queue the start behind another clerk's
    write transaction.
    """
    alembic = config()
    if revision == "head":
        from alembic.script import ScriptDirectory

        if current_revision(database) == ScriptDirectory.from_config(alembic).get_current_head():
            return
    with database.writer.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Windows opening the shared database at once take turns; the later ones find the
            # schema already at ``revision`` (alembic reads the version after the lock).
            from counter_app.storage.pg_schema import migration_lock

            migration_lock(connection)
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, revision)
        connection.commit()


def current_revision(database: Database) -> str | None:
    """The revision the database is at."""
    from alembic.runtime.migration import MigrationContext

    with database.reader.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _autogenerate(message: str) -> None:
    from counter_app.storage.db import Database

    with tempfile.TemporaryDirectory() as scratch:
        database = Database.open(Path(scratch) / "scratch.db")
        alembic = config()
        with database.writer.connect() as connection:
            alembic.attributes["connection"] = connection
            command.revision(alembic, message=message, autogenerate=True)
        database.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "revision":
        _autogenerate(sys.argv[2])
    else:
        sys.exit('usage: python -m counter_app.storage.migrations revision "message"')
