"""Plain-SQL looks into an office database, the same on SQLite and on PostgreSQL.

The storage tests check what actually landed in the database with SQL, not through the
repositories. PostgreSQL hands dates back as ``date`` and JSON columns as Python objects where
SQLite gives text; ``rows`` turns them into SQLite's text so one expected value serves both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import text

from counter_app.storage.db import Database


def plain(value: Any) -> Any:
    """A column value as SQLite hands it back: dates as ISO text, JSON as its text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` with every value ``plain``."""
    with db.reader.connect() as connection:
        return [tuple(plain(v) for v in row) for row in connection.execute(text(sql), params)]


def jx(db: Database, column: str, key: str) -> str:
    """SQL for the text of JSON ``column``'s top-level ``key`` on this database's engine."""
    if db.postgres:
        return f"({column}->>'{key}')"
    return f"json_extract({column}, '$.{key}')"


def snapshot(db: Database, tables: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables``, for comparing before and after something that must write nothing."""
    if db.postgres:  # no rowid: any fixed order will do for the comparison
        return {table: sorted(rows(db, f"SELECT * FROM {table}"), key=repr) for table in tables}
    return {table: rows(db, f"SELECT * FROM {table} ORDER BY rowid") for table in tables}
