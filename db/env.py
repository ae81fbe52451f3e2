"""Alembic environment of the office database (run by counter_app.storage.migrations)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData
from sqlmodel import SQLModel

import counter_app.storage.models  # noqa: F401  (registers the tables)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
target_metadata: MetaData = SQLModel.metadata
target_metadata.naming_convention = NAMING


def run_migrations() -> None:
    """Online only: the caller hands over a connection in ``config.attributes``."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
