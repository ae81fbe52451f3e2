"""Fixtures for driving the app with Pilot: a fresh demo database per test, a fixed today."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.ui.app import CounterApp, build_app

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or database."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "counter.db"))


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., CounterApp]:
    """An app on its own demo database for ``policy``, with today fixed, built by the same
    factory as the ``counter-app`` command (``build_app``)."""

    def factory(policy: str = "jiangsu", **overrides: object) -> CounterApp:
        values: dict[str, object] = {
            "db_path": tmp_path / f"{policy}.db",
            "today": TODAY,
            **overrides,
        }
        demo = bool(values.pop("demo", True))
        return build_app(policy, demo, **values)

    return factory


def open_db(app: CounterApp) -> Database:
    """A second connection to the app's database, for assertions."""
    return Database.open(app.settings.database_path(), migrate=False)


def engine_for(policy: str):  # type: ignore[no-untyped-def]
    """The rules engine the app uses."""
    return build_engine(policy)
