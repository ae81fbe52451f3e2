"""printed_facts: each document's key facts as printed (signed in its QR); print_job.facts_digest

Revision ID: 0006_lock_b
Revises: 0006_lock
Create Date: 2026-12-02 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_lock_b"
down_revision: str | None = "0006_lock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "printed_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("printed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printed_facts")),
        sa.UniqueConstraint("kind", "number", "digest", name=op.f("uq_printed_facts_kind")),
    )
    with op.batch_alter_table("printed_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_printed_facts_number"), ["number"], unique=False)
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "facts_digest",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_column("facts_digest")
    with op.batch_alter_table("printed_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_printed_facts_number"))
    op.drop_table("printed_facts")
