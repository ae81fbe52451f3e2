"""Fixtures of the sync tests: the provincial store on SQLite and on PostgreSQL, a server process.

The PostgreSQL cluster (``pg_cluster``, tests/conftest.py) is shared by the whole run; it is
skipped only outside CI: with ``CI`` set, a missing PostgreSQL fails the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from counter_app.province.store import ProvinceStore
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.sync.client import ClientConfig
from tests.support.postgres import Cluster
from tests.support.province import ServerProcess, make_office


@pytest.fixture(autouse=True)
def province_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The store's signing key file of this test (inherited by the server processes)."""
    path = tmp_path / "province-signing.key"
    monkeypatch.setenv("COUNTER_PROVINCE_KEY", str(path))
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def province_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty provincial database URL of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'province.db'}"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def store(province_url: str) -> Iterator[ProvinceStore]:
    """The store, opened in this process (for setting up and for looking)."""
    opened = ProvinceStore(province_url)
    yield opened
    opened.close()


@pytest.fixture
def server(province_url: str, store: ProvinceStore, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server process over the store (not started: each test starts it with its faults)."""
    process = ServerProcess(province_url, tmp_path)
    yield process
    process.kill()


@pytest.fixture
def office(tmp_path: Path) -> tuple[Database, SignedIn]:
    """An office database (芜湖 镜湖区 340202) with a clerk signed in."""
    return make_office(tmp_path / "office.db")


@pytest.fixture
def token(store: ProvinceStore, office: tuple[Database, SignedIn]) -> str:
    """The office registered with the store; its token."""
    return store.add_office(office[1].office_code, office[1].office_name, "340200")


def config(server: ServerProcess, token: str, **overrides: object) -> ClientConfig:
    """A client configuration that gives up quickly (the tests make failures on purpose)."""
    values: dict[str, object] = {
        "url": server.base_url,
        "token": token,
        "timeout": 5.0,
        "batch_size": 50,
        "attempts": 3,
        "backoff": 0.05,
        **overrides,
    }
    return ClientConfig(**values)  # type: ignore[arg-type]
