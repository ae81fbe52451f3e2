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

import os
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
    items[:] = long_tests_first(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")))


#: The longest tests (each 30 s to 2 min on the 2-core machine), longest first. Each worker of
#: ``--dist worksteal`` starts on one contiguous part of the collection; a long test left at the
#: end of a part runs last and keeps the whole run waiting for it.
LONG_TESTS = (
    "test_every_case_and_treatment_through_to_settlement",
    "test_the_bundle_installs_offline_and_the_app_starts",
    "test_every_screen_whole_and_in_chinese",
    "test_the_claim_wizard_takes_the_slips_details",
    "test_empty_database_to_dashboard_through_the_set_up",
    "test_incomplete_notice_resume_accept",
    "test_claim_review",
    "test_bad_input_is_named_under_the_field_and_ytd_override_is_audited",
    "test_schemathesis_all_checks_pass",
    "test_every_demo_document_is_complete_and_faithful",
    "test_commands_back_up_verify_and_restore_after_a_sign_in",
    "test_sigkill_mid_commit_leaves_whole_filings_only",
    "test_f10_names_the_next_step_on_every_claim_step",
    "test_client_killed_mid_sync_resumes",
    "test_itemised_lines_sum_into_the_categories",
    "test_two_client_processes_at_once",
    "test_kill_during_commit_keeps_db_whole_and_draft_resumes",
)


def long_tests_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The collection reordered so that each worker's first part starts with its share of the
    long tests (dealt round-robin, longest first); the others keep their order. Same order on
    every worker (xdist checks it). The parts are cut as xdist's worksteal cuts them."""
    rank = {name: i for i, name in enumerate(LONG_TESTS)}
    long = sorted(
        (item for item in items if getattr(item, "originalname", "") in rank),
        key=lambda item: rank[getattr(item, "originalname", "")],
    )
    if workers < 2 or not long:
        return items
    chosen = {id(item) for item in long}
    rest = iter([item for item in items if id(item) not in chosen])
    sizes, remaining = [], len(items)
    for node in range(workers):
        sizes.append(remaining // (workers - node))
        remaining -= sizes[-1]
    parts: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for index, item in enumerate(long):
        parts[index % workers].append(item)
    ordered: list[pytest.Item] = []
    for part, size in zip(parts, sizes, strict=True):
        part.extend(next(rest) for _ in range(max(0, size - len(part))))
        ordered.extend(part)
    ordered.extend(rest)
    return ordered


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
