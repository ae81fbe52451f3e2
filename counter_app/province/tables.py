"""The tables of the reference provincial store (SQLAlchemy Core, SQLite or PostgreSQL).

Offices with their token hash and file key, the events as received, the filings as they stand,
online applications, the pull feed, the numbered packages, and one row per person whose row lock
serialises filings of that person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

offices = Table(
    "province_office",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("pool_code", String(6), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("file_key", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
events = Table(
    "province_event",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("office", String(12), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("clerk", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("office", "seq", name="uq_province_event_office_seq"),
)
filings = Table(
    "province_filing",
    metadata,
    Column("number", String(40), primary_key=True),
    Column("office", String(12), nullable=False, index=True),
    Column("id_number", String(18), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("category", String(30), nullable=False),
    Column("destination", String(6), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_until", String(10)),
    Column("event_id", String(36), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
applications = Table(
    "province_application",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("office", String(12), nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_at", DateTime(timezone=True)),
)
feed = Table(
    "province_feed",
    metadata,
    Column("cursor", Integer, primary_key=True, autoincrement=True),
    # Addressed to one office, to every office of a pool, or (both empty) to everyone.
    Column("office", String(12), index=True),
    Column("pool_code", String(6), index=True),
    Column("type", String(30), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# One row per person the store has seen: its row lock serialises filings of that person.
people = Table(
    "province_person",
    metadata,
    Column("id_number", String(18), primary_key=True),
)
packages = Table(
    "province_package",
    metadata,
    Column("kind", String(30), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class OfficeInfo:
    """An office as the store knows it."""

    code: str
    name: str
    pool_code: str
    file_key: bytes
