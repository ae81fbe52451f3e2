"""clean control characters out of stored free text (names, addresses, hospital details, reasons)

Values stored before the entry checks (``domain.text_fields``) may hold newlines, ESC or other
control characters. Each is cleaned (line breaks and tabs become spaces, other controls go) with
an audit entry ``clean_text`` holding the value before and after; ``counter-app text-check``
lists them for the supervisor. Nothing to undo: the audit entries keep the old values.

Revision ID: 0006_lock_c
Revises: 0006_lock_b
Create Date: 2026-12-02 17:45:00
"""

from collections.abc import Sequence

from alembic import op

from counter_app.storage.text_cleanup import clean

revision: str = "0006_lock_c"
down_revision: str | None = "0006_clerk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clean(op.get_bind())


def downgrade() -> None:
    pass  # the old values are in the audit log; control characters are not put back
