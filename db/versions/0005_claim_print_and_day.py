"""claim: hospital details for the settlement slip, business date of the settlement

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hospital", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("settled_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_claim_settled_on"), ["settled_on"], unique=False)
    # Claims settled before this revision count on the (UTC) day they were settled.
    op.execute("UPDATE claim SET settled_on = date(settled_at) WHERE settled_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_settled_on"))
        batch_op.drop_column("settled_on")
        batch_op.drop_column("hospital")
