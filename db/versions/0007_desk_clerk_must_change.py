"""clerk: must change the password at the next sign-in (set by a supervisor's reset)

Revision ID: 0007_desk
Revises: 0006_lock_c
Create Date: 2026-12-03 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_desk"
down_revision: str | None = "0006_lock_c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database stamped back to an older revision (as a test of the text clean-up does) may
    # already have the column: add it only where it is missing.
    columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("clerk")}
    if "must_change_password" in columns:
        return
    with op.batch_alter_table("clerk", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("clerk", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
