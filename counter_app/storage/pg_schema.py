"""PostgreSQL extras of the office database beyond the tables: audit guard, migration lock.

SQLite gets the append-only audit log from two ``RAISE(ABORT)`` triggers (migration 0001);
PostgreSQL gets the same guard as a PL/pgSQL trigger function, plus a statement trigger against
``TRUNCATE`` (which row triggers do not see). The message carries the same ``append-only`` words
on both, so a caller (and a test) recognises the refusal whatever the engine.

Several windows start at the same time against one PostgreSQL office database, and each one
brings the schema up to date when it opens: ``migration_lock`` makes them take turns (a
transaction-scoped advisory lock), so one runs the migrations and the others find them done.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

#: The advisory lock key of schema migrations (any fixed 64-bit number; "counter" in ASCII).
MIGRATION_LOCK_KEY = 0x636F756E746572

AUDIT_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only（审计记录不能修改或删除）'
        USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""

DROP_AUDIT_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
DROP FUNCTION IF EXISTS audit_log_append_only();
"""


def create_audit_trigger(connection: Connection) -> None:
    """Make ``audit_log`` append-only on PostgreSQL (updates, deletes and truncation refused)."""
    connection.exec_driver_sql(AUDIT_TRIGGER_SQL)


def drop_audit_trigger(connection: Connection) -> None:
    """Undo ``create_audit_trigger`` (only the downgrade of migration 0001 does this)."""
    connection.exec_driver_sql(DROP_AUDIT_TRIGGER_SQL)


def migration_lock(connection: Connection) -> None:
    """Wait for, then hold until the transaction ends, the office database's migration lock."""
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def audit_trigger_present(connection: Connection) -> bool:
    """Whether the append-only guard of ``audit_log`` is installed and enabled."""
    found = connection.exec_driver_sql(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass"
        " AND tgname IN ('audit_log_no_change', 'audit_log_no_truncate') AND tgenabled <> 'D'"
    ).scalar()
    return found == 2


def connection_encrypted(connection: Connection) -> bool:
    """Whether this connection to the server runs over TLS (``pg_stat_ssl`` of our backend)."""
    return bool(
        connection.exec_driver_sql(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).scalar()
    )
