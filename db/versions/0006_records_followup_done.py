"""filing: the day a 承诺书 filing's materials were handed in (follow-up done)

Revision ID: 0006_records
Revises: 0005
Create Date: 2026-12-02 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_records"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_done_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.drop_column("followup_done_on")
