"""A multi-window office on one PostgreSQL database: migrations, audit guard, four windows at once.

The same alembic scripts build the schema on PostgreSQL as on SQLite (step by step from the first
revision, and from a database an older release created from the models). Four window processes,
each with its own settings file, open one fresh office database at the same moment (racing on the
migrations), then register persons, file and take claims concurrently: the numbers (BA/BX +
office + date + sequence) must come out unique and without gaps per day, the outbox sequence
unique and contiguous (the store's reconcile counts on it), and every change audited. Last, all
four file a long-term filing for the same person and only one stands (苏规程 第十一条).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from counter_app.storage.db import Database
from counter_app.storage.migrations import config, current_revision, upgrade
from counter_app.storage.pg_schema import audit_trigger_present
from tests.support.clerk_process import Clerk
from tests.support.postgres import Cluster

WINDOW = Path(__file__).resolve().parents[1] / "support" / "office_window.py"
ROUNDS = 5
WINDOWS = 4

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="processes")


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(config()).get_current_head()
    assert head is not None
    return head


@pytest.fixture
def empty_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no schema at all)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


def _values(db: Database, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with db.reader.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_migrations_run_step_by_step_on_postgres(empty_url: str) -> None:
    from alembic.script import ScriptDirectory

    db = Database.open_url(empty_url, migrate=False)
    revisions = [r.revision for r in ScriptDirectory.from_config(config()).walk_revisions()]
    for revision in reversed(revisions):  # the first revision first, each in its own run
        upgrade(db, revision)
        assert current_revision(db) == revision
    assert current_revision(db) == _head()
    with db.writer.connect() as connection:
        assert audit_trigger_present(connection)
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    db.close()


def test_a_database_made_from_the_models_continues_with_the_migrations(empty_url: str) -> None:
    """An office database an older release created from the models and stamped at its head."""
    from alembic import command

    from counter_app.storage.pg_schema import create_audit_trigger

    db = Database.open_url(empty_url, migrate=False)
    with db.writer.begin() as connection:
        SQLModel.metadata.create_all(connection)
        create_audit_trigger(connection)
        alembic = config()
        alembic.attributes["connection"] = connection
        command.stamp(alembic, "head")
    db.close()
    reopened = Database.open_url(empty_url)
    assert current_revision(reopened) == _head()
    reopened.close()


def test_init_db_prepares_the_database_and_says_so(empty_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "COUNTER_CONFIG": str(tmp_path / "none.toml")}
    command = [sys.executable, "-m", "counter_app", "office", "init-db", "--url", empty_url]
    for _ in range(2):  # a second run finds it ready and changes nothing
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"表结构版本 {_head()}" in done.stdout
        assert "审计记录：数据库触发器禁止修改和删除" in done.stdout
    db = Database.open_url(empty_url, migrate=False)
    assert _values(db, "SELECT count(*) FROM alembic_version") == [(1,)]
    db.close()

    refused = subprocess.run(
        [*command[:-1], empty_url.rsplit(":", 1)[0] + ":1/none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 3
    assert refused.stderr.startswith("无法建立数据库：") and "Traceback" not in refused.stderr


def _window_config(tmp_path: Path, window: int, url: str) -> Path:
    folder = tmp_path / f"pc{window}"
    folder.mkdir()
    config_file = folder / "config.toml"
    config_file.write_text(
        f'policy = "jiangsu"\ndb_url = "{url}"\ndb_path = "{folder / "unused.db"}"\n',
        encoding="utf-8",
    )
    return config_file


def _sequence(number: str) -> tuple[str, int]:
    """(prefix + office + date, sequence) of a document number."""
    return number[:-4], int(number[-4:])


def test_four_windows_share_one_office(empty_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    windows = []
    for window in range(1, WINDOWS + 1):
        env = {**os.environ, "COUNTER_CONFIG": str(_window_config(tmp_path, window, empty_url))}
        windows.append(
            Clerk(str(window), "--go", str(go), "--rounds", str(ROUNDS), script=WINDOW, env=env)
        )
    for window in windows:  # all opened the fresh database at once: migrated once, no error
        window.expect("ready", 180)
    go.touch()
    for window in windows:
        window.expect("done", 300)
        window.finish()

    said = [line.split(" ", 2) for window in windows for line in window.seen]
    filed = [parts[1] for parts in said if parts[0] == "filing"]
    claimed = [parts[1] for parts in said if parts[0] == "claim"]
    long_term = [parts[1:] for parts in said if parts[0] == "long_term"]
    assert len(filed) == len(claimed) == WINDOWS * ROUNDS
    outcomes = Counter(outcome for outcome, _ in long_term)
    assert outcomes == {"ok": 1, "refused": WINDOWS - 1}, long_term
    assert all("已有有效的长期异地居住备案" in why for outcome, why in long_term if outcome != "ok")
    filed.append(next(number for outcome, number in long_term if outcome == "ok"))

    db = Database.open_url(empty_url)
    assert current_revision(db) == _head()
    assert _values(db, "SELECT count(*) FROM alembic_version") == [(1,)]

    # Numbers: what the windows were told is what is stored; unique, 1..n per office and day.
    stored_filings = sorted(row[0] for row in _values(db, "SELECT number FROM filing"))
    stored_claims = sorted(row[0] for row in _values(db, "SELECT number FROM claim"))
    assert stored_filings == sorted(filed) and stored_claims == sorted(claimed)
    for numbers, prefix in ((stored_filings, "BA"), (stored_claims, "BX")):
        days = Counter(_sequence(n)[0] for n in numbers)
        assert list(days) == [f"{prefix}32010220260302"]
        assert sorted(_sequence(n)[1] for n in numbers) == list(range(1, len(numbers) + 1))
    assert sorted(_values(db, "SELECT kind, last FROM number_sequence")) == [
        ("claim", len(stored_claims)),
        ("filing", len(stored_filings)),
    ]

    # Outbox: one event per filing and per claim transition, sequence 1..n without a gap.
    transitions = _values(db, "SELECT count(*) FROM claim_history")[0][0]
    assert transitions == 2 * len(stored_claims)  # taken, reviewed
    seqs = [row[0] for row in _values(db, "SELECT seq FROM outbox_event ORDER BY seq")]
    assert seqs == list(range(1, len(stored_filings) + transitions + 1))

    # Audit: every filing, every claim transition and every person, by the window that did it.
    audited = _values(
        db,
        "SELECT a.entity, a.action, a.entity_id, c.username FROM audit_log a "
        "JOIN clerk c ON c.id = a.clerk_id WHERE a.entity IN ('filing', 'claim', 'person')",
    )
    new_filings = {entity_id for entity, action, entity_id, _ in audited if entity == "filing"}
    assert new_filings == set(stored_filings)
    claim_audits = Counter(entity_id for entity, _, entity_id, _ in audited if entity == "claim")
    assert claim_audits == dict.fromkeys(stored_claims, 2)
    persons = Counter(user for entity, _, _, user in audited if entity == "person")
    # each window: its ROUNDS persons, plus the shared person (registered, then saved again)
    assert persons == {f"window{w}": ROUNDS + 1 for w in range(1, WINDOWS + 1)}
    assert _values(db, "SELECT count(*) FROM person") == [(WINDOWS * ROUNDS + 1,)]
    with db.reader.connect() as connection:
        assert audit_trigger_present(connection)
    db.close()


def test_db_url_setting_is_checked_and_the_demo_keeps_its_file(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from counter_app.settings import Settings

    with pytest.raises(ValidationError, match="db_url"):
        Settings(db_url="mysql://office/counter")
    plain = Settings(db_url="postgresql://counter@db.example/office", db_path=tmp_path / "x.db")
    assert plain.database_url() == "postgresql+psycopg://counter@db.example/office"
    assert plain.sync.key_dir == tmp_path / "x.db.keys"  # the sync keys stay on this window's disk
    demo = Settings(db_url="postgresql://counter@db.example/office", demo=True)
    assert demo.database_url() is None  # the demo never touches the office's real database
    assert Settings(db_path=tmp_path / "x.db").database_url() is None


def test_the_text_cleanup_migration_runs_on_postgres_through_the_configured_db_url(
    empty_url: str, tmp_path: Path
) -> None:
    """0006_lock_c on PostgreSQL: stored control characters are cleaned with an audit entry, when
    ``counter-app text-check`` opens the database named by ``db_url`` in the settings file."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlmodel import select

    from counter_app.rules_engine import build_engine
    from counter_app.storage.demo import seed_demo
    from counter_app.storage.models import AuditLog, Filing, Person

    db = Database.open_url(empty_url)
    seed_demo(db, build_engine("wuhu"), date(2026, 3, 2))
    with db.read() as session:
        number = session.exec(select(Filing.number)).first()
    with db.writer.connect() as connection:  # back to the schema before the clean-up
        alembic = config()
        alembic.attributes["connection"] = connection
        cleanup = ScriptDirectory.from_config(alembic).get_revision("0006_lock_c")
        command.stamp(alembic, cleanup.down_revision)
        connection.commit()
    with db.write() as session:  # a value as an old version stored it
        session.execute(
            text(
                "UPDATE person SET name = :name WHERE id = "
                "(SELECT person_id FROM filing WHERE number = :n)"
            ),
            {"name": "张三\n姓名：李四", "n": number},
        )
    db.close()
    settings_file = tmp_path / "config.toml"
    settings_file.write_text(f'policy = "wuhu"\ndb_url = "{empty_url}"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "counter_app", "text-check"],
        capture_output=True,
        text=True,
        env={**os.environ, "COUNTER_CONFIG": str(settings_file)},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "姓名" in done.stdout and "\\n" in done.stdout
    db = Database.open_url(empty_url)
    assert current_revision(db) == _head()
    with db.read() as session:
        assert session.exec(select(Person).where(Person.name == "张三 姓名：李四")).one()
        audits = session.exec(select(AuditLog).where(AuditLog.action == "clean_text")).all()
    assert [a.detail["field"] for a in audits] == ["name"] and audits[0].clerk_id is None
    db.close()
