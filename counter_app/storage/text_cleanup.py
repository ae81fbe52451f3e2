"""Free text stored before entry checks existed: find control characters, clean them, audit it.

The migration ``0006_lock_c`` runs ``clean`` once on every office database; ``counter-app
text-check`` lists for the supervisor what it cleaned (from the audit log) and anything still
found. Each cleaned value gets an audit entry ``clean_text`` with the value before and after
(control characters written as ``\\n``, ``\\x1b`` …), so nothing is changed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import UTCDateTime

from counter_app.domain.text_fields import HOSPITAL_FIELDS, control_characters, strip_controls

#: (table, column) of the plain free-text columns, with the field label shown to the supervisor.
TEXT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("person", "name", "姓名"),
    ("person", "address", "住址"),
    ("person", "employer", "工作单位"),
    ("clerk", "display_name", "经办人姓名"),
    ("office", "name", "经办机构名称"),
    ("claim", "return_reason", "退回原因"),
    ("claim_line", "item", "费用项目"),
)
_AUDIT = sa.table(
    "audit_log",
    sa.column("at", UTCDateTime()),
    sa.column("clerk_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("detail", sa.JSON),
)


@dataclass(frozen=True)
class Finding:
    """One stored value with control characters, and what it becomes."""

    table: str
    column: str
    label: str
    row_id: int
    before: str
    after: str

    @property
    def shown(self) -> str:
        """The value before, with its control characters visible."""
        return visible(self.before)


def visible(value: str) -> str:
    """A value with control characters written out (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return "".join(
        char.encode("unicode_escape").decode() if control_characters(char) else char
        for char in value
    )


def find(connection: Connection) -> list[Finding]:
    """Every stored free-text value with control characters (hospital details included)."""
    found: list[Finding] = []
    for table, column, label in TEXT_COLUMNS:
        rows = connection.execute(
            sa.select(sa.column("id", sa.Integer), sa.column(column, sa.String)).select_from(
                sa.table(table)
            )
        ).all()
        for row_id, value in rows:
            if isinstance(value, str) and control_characters(value):
                found.append(Finding(table, column, label, row_id, value, strip_controls(value)))
    claims = sa.table("claim", sa.column("id"), sa.column("hospital", sa.JSON))
    for row_id, hospital in connection.execute(sa.select(claims.c.id, claims.c.hospital)).all():
        for key, value in (hospital or {}).items():
            if isinstance(value, str) and control_characters(value):
                label = f"医院信息.{HOSPITAL_FIELDS.get(key, key)}"
                found.append(
                    Finding("claim", f"hospital.{key}", label, row_id, value, strip_controls(value))
                )
    return found


def clean(connection: Connection) -> list[Finding]:
    """Clean every finding in place, each with an audit entry; returns what was cleaned."""
    findings = find(connection)
    hospitals: dict[int, dict[str, Any]] = {}
    for finding in findings:
        if finding.column.startswith("hospital."):
            hospitals.setdefault(finding.row_id, {})[finding.column.split(".", 1)[1]] = (
                finding.after
            )
            continue
        table = sa.table(finding.table, sa.column("id"), sa.column(finding.column))
        connection.execute(
            table.update()
            .where(table.c.id == finding.row_id)
            .values({finding.column: finding.after})
        )
    claims = sa.table("claim", sa.column("id"), sa.column("hospital", sa.JSON))
    for row_id, changes in hospitals.items():
        current = connection.execute(
            sa.select(claims.c.hospital).where(claims.c.id == row_id)
        ).scalar_one()
        connection.execute(
            claims.update().where(claims.c.id == row_id).values(hospital={**current, **changes})
        )
    now = datetime.now(UTC)
    for finding in findings:
        connection.execute(
            _AUDIT.insert().values(
                at=now,
                clerk_id=None,
                action="clean_text",
                entity=finding.table,
                entity_id=str(finding.row_id),
                detail={
                    "field": finding.column,
                    "label": finding.label,
                    "before": finding.shown,
                    "after": finding.after,
                },
            )
        )
    return findings


def cleaned(connection: Connection) -> list[dict[str, Any]]:
    """The audit entries of cleaned values, oldest first (for the supervisor's list)."""
    audit = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", UTCDateTime()),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("detail", sa.JSON),
    )
    rows = connection.execute(
        sa.select(audit.c.at, audit.c.entity, audit.c.entity_id, audit.c.detail)
        .where(audit.c.action == "clean_text")
        .order_by(audit.c.id)
    ).all()
    return [
        {"at": at, "entity": entity, "entity_id": entity_id, **detail}
        for at, entity, entity_id, detail in rows
    ]
