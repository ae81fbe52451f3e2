"""office: address and opening hours (printed on every form with the phone)

Revision ID: 0006_clerk
Revises: 0005
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_clerk"
down_revision: str | None = "0006_docs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hours", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("hours")
        batch_op.drop_column("address")
