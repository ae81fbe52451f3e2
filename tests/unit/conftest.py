"""Fixtures shared by the unit tests: the office database on both backends, one PostgreSQL cluster.

``backend`` runs a test once on an SQLite file and once on PostgreSQL (the throwaway cluster of
``tests/support/postgres.py``, started once per test session). ``new_db`` opens a fresh office
database of that backend; on PostgreSQL every one is a copy of a template database that the
alembic migrations built once (``CREATE DATABASE … TEMPLATE``), so each test still starts from the
migrated schema without running the whole chain again. PostgreSQL is skipped only outside CI: with
``CI`` set, a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from counter_app.storage.db import Database
from tests.support.postgres import Cluster

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_office_template(pg_cluster: Cluster) -> str:
    """The name of a database the migrations brought to head, copied for each test."""
    url = pg_cluster.new_database()
    Database.open_url(url).close()  # migrate, then let go: a template must have no connections
    return url.rsplit("/", 1)[1]


def new_pg_office(cluster: Cluster, template: str) -> str:
    """A fresh migrated office database on ``cluster`` (a copy of ``template``); its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = cluster.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The office database engine a test runs on: ``sqlite`` or ``postgres``."""
    return request.param


@pytest.fixture
def new_db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Database]]:
    """Opens fresh office databases of ``backend`` (by name, for tests that need several)."""
    opened: list[Database] = []
    made: list[str] = []
    cluster: Cluster | None = None

    def open_one(name: str = "office") -> Database:
        nonlocal cluster
        if backend == "sqlite":
            database = Database.open(tmp_path / f"{name}.db")
        else:
            cluster = request.getfixturevalue("pg_cluster")
            url = new_pg_office(cluster, request.getfixturevalue("pg_office_template"))
            made.append(url)
            database = Database.open_url(url)
        opened.append(database)
        return database

    yield open_one
    for database in opened:
        database.close()
    for url in made:
        assert cluster is not None
        cluster.drop_database(url)
