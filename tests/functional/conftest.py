"""Fixtures for driving the app with Pilot: a fresh demo database per test, a fixed today."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from counter_app.domain.engine import RulesEngine
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.ui.app import CounterApp, build_app
from tests.support.demo import copy_database, demo_template

TODAY = date(2026, 11, 23)


@functools.cache
def _engine(policy: str) -> RulesEngine:
    return build_engine(policy)


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
        db_path = Path(str(values["db_path"]))
        if demo and values["today"] == TODAY and "pack_file" not in values and not db_path.exists():
            # the demo office seeded once per process, copied: the app finds it seeded
            copy_database(demo_template(_engine(policy), TODAY), db_path)
        return build_app(policy, demo, **values)

    return factory


def open_db(app: CounterApp) -> Database:
    """A second connection to the app's database, for assertions."""
    return Database.open(app.settings.database_path(), migrate=False)


def engine_for(policy: str):  # type: ignore[no-untyped-def]
    """The rules engine the app uses."""
    return build_engine(policy)
