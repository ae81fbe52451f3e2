"""The demo office, seeded once per test run and copied for each test.

Seeding runs the counter's use cases for 40 persons and their filings and claims (seconds per
database); the tests only need the result. ``demo_database`` seeds a template the first time a
(policy pack, calendar, date, size) is asked for and hands each test a fresh copy, made with
SQLite's backup API (the copy is whole even with the template's write-ahead log). With
``share_templates`` (tests/conftest.py, a folder of the whole run) the xdist workers share the
templates: the first worker to ask seeds one under a file lock, the others copy it.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from counter_app.domain.engine import RulesEngine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo

_TEMPLATES: dict[tuple[str, str, date, int], Path] = {}
_FOLDER: Path | None = None
_EMPTY: Path | None = None


def share_templates(folder: Path) -> None:
    """Keep the templates in ``folder``, shared by every process of the test run."""
    global _FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    _FOLDER = folder


def _folder() -> Path:
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="counter-demo-"))
        atexit.register(shutil.rmtree, _FOLDER, True)
    return _FOLDER


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database file (WAL included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _template(name: str, build: Callable[[Path], None]) -> Path:
    """The template file ``name`` of the shared folder, built by ``build`` (given a scratch
    path) by the first process to ask, under a file lock; one whole file, no log beside it."""
    template = _folder() / f"{name}.db"
    with open(_folder() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building this one
        if not template.exists():
            scratch = _folder() / f"{name}-{os.getpid()}.building.db"
            build(scratch)
            ready = template.with_suffix(".ready")
            copy_database(scratch, ready)
            os.replace(ready, template)
            for leftover in scratch.parent.glob(f"{scratch.name}*"):
                leftover.unlink()
    return template


def demo_template(engine: RulesEngine, today: date, persons: int = 40) -> Path:
    """The seeded demo database for this engine and date (made once per process)."""
    key = (engine.pack.pack.id, engine.calendar.version, today, persons)
    template = _TEMPLATES.get(key)
    if template is None:

        def seed(path: Path) -> None:
            db = Database.open(path)
            seed_demo(db, engine, today, persons)
            db.close()

        template = _template("demo-" + hashlib.sha256(repr(key).encode()).hexdigest()[:16], seed)
        _TEMPLATES[key] = template
    return template


def empty_template(open_new: Callable[[Path], Database]) -> Path:
    """An office database with no data, its schema built by the migrations (``open_new``: the
    app's own ``Database.open``), once per run."""
    global _EMPTY
    if _EMPTY is None:

        def migrate(path: Path) -> None:
            open_new(path).close()

        _EMPTY = _template("empty", migrate)
    return _EMPTY


def demo_database(
    path: Path, engine: RulesEngine, today: date, persons: int = 40
) -> tuple[Database, SignedIn]:
    """A copy of the seeded demo office at ``path``, opened; the demo clerk signed in (as
    ``seed_demo`` returns it)."""
    copy_database(demo_template(engine, today, persons), path)
    db = Database.open(path)
    return db, seed_demo(db, engine, today, persons)
