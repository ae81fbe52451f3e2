"""Fixtures and markers of every test.

- Each test runs with its own empty config and data folders (``HOME``, ``XDG_CONFIG_HOME``,
  ``XDG_DATA_HOME`` and ``XDG_STATE_HOME`` point into the test's temporary folder; ``COUNTER_*``
  variables of the developer's shell are dropped), so no test reads or writes the developer's
  real settings, database or keys.
- Passwords are hashed with cheap argon2 parameters inside the test processes only (the app's
  64 MiB hasher stays as it is; processes a test starts use it).
- One PostgreSQL cluster per run, shared by the xdist workers (``pg_cluster``), and one seeded
  demo office per (region, date, size), copied for each test (tests/support/demo.py).
- Markers: ``tui`` (the Pilot tests in tests/functional), ``postgres`` (needs the cluster),
  ``slow`` (server, client or command processes, fuzzing).
  ``pytest -m "not slow and not postgres and not tui"`` is the quick set; ``scripts/test.sh``
  and CI run everything.
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Cluster, acquire_shared, release_shared

#: Modules whose tests start server or clerk processes, fuzz the API, run hundreds of property
#: examples or print every demo document: ``slow`` (measured with ``--durations``).
SLOW_MODULES = {
    "test_commands.py",
    "test_counter_without_server.py",
    "test_durability.py",
    "test_faults.py",
    "test_file_modes.py",
    "test_forms_faithful.py",
    "test_hostile.py",
    "test_key_commands.py",
    "test_payment_properties.py",
    "test_schema_fuzz.py",
    "test_workflow_race.py",
}
#: Fixtures that start a provincial server process.
SLOW_FIXTURES = {"server"}
#: Kept from the developer's environment (where the test run's own venv lives).
KEPT = {"COUNTER_VENV", "COUNTER_TEST_PG_URL"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it needs (see the module docstring)."""
    for item in items:
        path = Path(str(item.fspath))
        if "functional" in path.parts:
            item.add_marker(pytest.mark.tui)
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "pg_cluster" in fixtures or "postgres" in params.values():
            item.add_marker(pytest.mark.postgres)
        if path.name in SLOW_MODULES or fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Set the garbage collector for a test process: what the imports made is frozen (never
    traversed again) and full collections come rarely.

    Each Pilot test builds and drops a whole Textual app (about a hundred thousand objects); with
    the default thresholds a test process ran a full collection every few seconds over all of
    them and the modules, some 15 % of the processor time of the Pilot tests. Cycles are still
    collected, later; the app's own processes (servers, clerks, commands) keep the defaults.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@pytest.fixture(autouse=True, scope="session")
def _servers_forked() -> None:
    """Provincial servers start as forks of one process that imported them (saves each start
    a second or two of imports; tests/support/spawner.py)."""
    from tests.support import province

    province.forking = True


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's config and data folders."""
    for name in list(os.environ):
        if name.startswith("COUNTER_") and name not in KEPT:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    for folder, variable in (
        ("", "HOME"),
        (".config", "XDG_CONFIG_HOME"),
        (".local/share", "XDG_DATA_HOME"),
        (".local/state", "XDG_STATE_HOME"),
    ):
        path = home / folder
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(variable, str(path))
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "counter.db"))


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2 with test parameters in this process (hashing at 64 MiB costs ~0.1–0.3 s per
    clerk and sign-in). Hashes carry their parameters, so both kinds still verify."""
    from argon2 import PasswordHasher

    from counter_app.storage import clerks

    production = clerks._HASHER
    clerks._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    clerks._HASHER = production


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(autouse=True, scope="session")
def _shared_demo_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The seeded demo offices (tests/support/demo.py) are seeded once per run, not per worker."""
    from tests.support.demo import share_templates

    share_templates(_shared_root(tmp_path_factory) / "demo-templates")


@pytest.fixture(autouse=True, scope="session")
def _new_databases_from_a_template(_shared_demo_templates: None) -> Iterator[None]:
    """A new SQLite office database starts as a copy of one the migrations built once per run.

    Each new database otherwise runs the whole alembic chain (~0.1 s of processor time), and the
    tests open hundreds. The copy is what the migrations make (the template is made by the app's
    own ``Database.open``); the migrations themselves are tested where they are called directly
    (test_storage.py, test_pg_office.py), and processes a test starts still run them.
    """
    from counter_app.private_files import DIR_MODE, touch_private
    from counter_app.storage.db import Database
    from counter_app.storage.encryption import expects_encrypted
    from tests.support.demo import empty_template

    app_open = Database.__dict__["open"]
    migrate_new = app_open.__func__

    def open_new(
        cls: type[Database],
        path: Path | str | None = None,
        *,
        migrate: bool = True,
        key: bytes | None = None,
    ) -> Database:
        target = Path(path) if path is not None else None
        if (
            target is not None
            and migrate
            and key is None
            and not target.exists()
            and not expects_encrypted(target)
        ):
            template = empty_template(lambda scratch: migrate_new(cls, scratch))
            target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            shutil.copyfile(template, touch_private(target))
        return migrate_new(cls, path, migrate=migrate, key=key)

    Database.open = classmethod(open_new)  # type: ignore[method-assign,assignment]
    yield
    Database.open = app_open  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One PostgreSQL cluster for the whole run (skipped without PostgreSQL, except in CI)."""
    root = _shared_root(tmp_path_factory)
    try:
        cluster = acquire_shared(root)
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield cluster
    release_shared(root, cluster)
