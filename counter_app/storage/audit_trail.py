"""The supervisor's view of the audit log: filters, the lines shown, and an export for inspection.

Who viewed which full 身份证号, who printed what, every change: the log (``AuditLog``) is
append-only; this module only reads it. Reading and exporting are themselves audited
(``audit_view``, ``audit_export``), as 个人信息保护法 expects of access to personal data.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlmodel import col, or_, select

from counter_app.storage.db import Database
from counter_app.storage.models import AuditLog, Claim, Clerk, Filing, Person
from counter_app.storage.records import audit

#: The actions a supervisor filters by most, with their Chinese names (others show as stored).
ACTION_LABELS = {
    "view": "查看",
    "view_full": "查看完整身份证号",
    "create": "新增",
    "update": "修改",
    "print": "打印",
    "print_failed": "打印失败",
    "reprint": "重印",
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_in_locked": "锁定期间登录",
    "sign_in_disabled": "停用账户登录",
    "lockout": "账户锁定",
    "reset_password": "重置密码",
    "change_password": "修改密码",
    "disable": "停用账户",
    "enable": "启用账户",
    "audit_view": "查看审计日志",
    "audit_export": "导出审计日志",
    "setup": "设置向导",
    "golive_confirm": "确认示例参数",
}

#: The most lines one query returns to the screen (an export has no limit).
SCREEN_LIMIT = 500


@dataclass(frozen=True)
class AuditFilter:
    """What the supervisor asked for; empty fields do not filter."""

    clerk: str = ""
    """A clerk's user name or display name."""
    person: str = ""
    """A person's full 身份证号 or name: entries about them, their filings and claims."""
    action: str = ""
    """A stored action (``view_full``) or its Chinese name (查看完整身份证号)."""
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as shown and exported."""

    entry_id: int
    at: datetime
    clerk: str
    action: str
    action_label: str
    entity: str
    entity_id: str
    detail: dict[str, Any]

    def detail_text(self) -> str:
        """The detail as ``key=value`` pairs (personal numbers in it are masked already)."""
        return "；".join(f"{key}={value}" for key, value in self.detail.items())


def _action_codes(text: str) -> list[str]:
    text = text.strip()
    codes = [code for code, label in ACTION_LABELS.items() if text in (code, label)]
    return codes or [text]


def _person_keys(session: Any, text: str) -> tuple[set[str], set[str]] | None:
    """The person ids and record numbers (filings, claims) of the persons ``text`` names."""
    text = text.strip().upper()
    people = session.exec(
        select(Person.id).where(or_(Person.id_number == text, Person.name == text.strip()))
    ).all()
    if not people:
        return None
    ids = {str(person_id) for person_id in people}
    numbers = set(session.exec(select(Filing.number).where(col(Filing.person_id).in_(people))))
    numbers |= set(session.exec(select(Claim.number).where(col(Claim.person_id).in_(people))))
    return ids, numbers


def _about(entry: AuditLog, ids: set[str], numbers: set[str]) -> bool:
    if entry.entity == "person" and entry.entity_id in ids:
        return True
    if str(entry.detail.get("person_id", "")) in ids:
        return True
    if entry.entity in ("filing", "claim") and entry.entity_id in numbers:
        return True
    return str(entry.detail.get("number", "")) in numbers


def query_audit(
    db: Database, wanted: AuditFilter, zone: tzinfo = UTC, limit: int | None = SCREEN_LIMIT
) -> list[AuditLine]:
    """The entries ``wanted`` selects, newest first; dates are the office's (``zone``) days."""
    with db.read() as session:
        names = {
            clerk_id: f"{name}（{username}）"
            for clerk_id, name, username in session.exec(
                select(Clerk.id, Clerk.display_name, Clerk.username)
            )
        }
        query = select(AuditLog).order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
        if wanted.clerk.strip():
            who = wanted.clerk.strip()
            clerk_ids = session.exec(
                select(Clerk.id).where(or_(Clerk.username == who, Clerk.display_name == who))
            ).all()
            query = query.where(col(AuditLog.clerk_id).in_(clerk_ids))
        if wanted.action.strip():
            query = query.where(col(AuditLog.action).in_(_action_codes(wanted.action)))
        if wanted.start is not None:
            since = datetime.combine(wanted.start, time(), zone).astimezone(UTC)
            query = query.where(AuditLog.at >= since)
        if wanted.end is not None:
            until = datetime.combine(wanted.end + timedelta(days=1), time(), zone).astimezone(UTC)
            query = query.where(AuditLog.at < until)
        person = _person_keys(session, wanted.person) if wanted.person.strip() else None
        if wanted.person.strip() and person is None:
            return []
        lines: list[AuditLine] = []
        for entry in session.exec(query):
            if person is not None and not _about(entry, *person):
                continue
            at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
            lines.append(
                AuditLine(
                    entry_id=entry.id or 0,
                    at=at,
                    clerk=names.get(entry.clerk_id, "（系统）") if entry.clerk_id else "（系统）",
                    action=entry.action,
                    action_label=ACTION_LABELS.get(entry.action, entry.action),
                    entity=entry.entity,
                    entity_id=entry.entity_id,
                    detail=dict(entry.detail),
                )
            )
            if limit is not None and len(lines) >= limit:
                break
    return lines


def _filter_detail(wanted: AuditFilter) -> dict[str, str]:
    """The filter as the audit entry of a view or an export records it (no full 身份证号)."""
    from counter_app.domain.idnumber import mask_id

    person = wanted.person.strip()
    if len(person) >= 15 and person[:6].isdigit():
        person = mask_id(person.upper())
    detail = {
        "clerk": wanted.clerk.strip(),
        "person": person,
        "action": wanted.action.strip(),
        "start": wanted.start.isoformat() if wanted.start else "",
        "end": wanted.end.isoformat() if wanted.end else "",
    }
    return {key: value for key, value in detail.items() if value}


def record_view(db: Database, clerk_id: int, wanted: AuditFilter, shown: int) -> None:
    """Audit that a supervisor read the audit log with this filter."""
    with db.write() as session:
        audit(
            session,
            clerk_id,
            "audit_view",
            "audit_log",
            "",
            shown=shown,
            filter=_filter_detail(wanted),
        )


EXPORT_COLUMNS = ("编号", "时间", "经办人", "操作", "操作代码", "对象", "对象编号", "详情")


def export_audit(
    db: Database, clerk_id: int, wanted: AuditFilter, target: Path, zone: tzinfo = UTC
) -> int:
    """Write every entry ``wanted`` selects to ``target`` (CSV, UTF-8 with BOM for Excel, 0600).

    Returns the number of entries; the export is audited with the filter and the file name.
    """
    lines = query_audit(db, wanted, zone, limit=None)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for line in lines:
            writer.writerow(
                [
                    line.entry_id,
                    line.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    line.clerk,
                    line.action_label,
                    line.action,
                    line.entity,
                    line.entity_id,
                    line.detail_text(),
                ]
            )
    os.chmod(target, 0o600)
    with db.write() as session:
        audit(
            session,
            clerk_id,
            "audit_export",
            "audit_log",
            "",
            file=str(target),
            rows=len(lines),
            filter=_filter_detail(wanted),
        )
    return len(lines)
