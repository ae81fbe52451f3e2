"""Offices and clerks: creating them, and signing in with an argon2 password hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from counter_app.domain.errors import CounterError
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk, Office, utcnow
from counter_app.storage.records import audit

_HASHER = PasswordHasher()
MIN_PASSWORD = 8


class ClerkError(CounterError, ValueError):
    """A clerk that cannot be created; the message is Chinese."""


@dataclass(frozen=True)
class Lockout:
    """How many wrong passwords in a row lock a clerk out, and for how long."""

    attempts: int = 5
    minutes: int = 15


class AccountLocked(ClerkError):
    """Too many wrong passwords: no password is checked until ``until`` (UTC)."""

    def __init__(self, until: datetime) -> None:
        local = until.astimezone()
        super().__init__(f"密码连续输错次数过多，账户已锁定至 {local:%Y-%m-%d %H:%M}")
        self.until = until


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class SignedIn:
    """The clerk at the window and their office."""

    clerk_id: int
    username: str
    display_name: str
    role: str
    office_id: int
    office_code: str
    office_name: str
    policy: str


def ensure_office(db: Database, code: str, name: str, policy: str, pool_code: str) -> Office:
    """The office with ``code``, created if it does not exist yet."""
    try:
        name = check_text("office_name", name, required=True)
    except TextFieldError as exc:
        raise ClerkError(str(exc)) from None
    with db.write() as session:
        office = session.exec(select(Office).where(Office.code == code)).first()
        if office is None:
            office = Office(code=code, name=name, policy=policy, pool_code=pool_code)
            session.add(office)
            session.flush()
            audit(session, None, "create", "office", office.id, code=code, name=name)
        return office


#: The office details a clerk or the command line may set, with their names in messages.
OFFICE_DETAILS = {"name": "名称", "phone": "咨询电话", "address": "地址", "hours": "办公时间"}


def set_office_details(
    db: Database, code: str, clerk_id: int | None = None, **details: str | None
) -> Office:
    """Change the office's name, phone, address or hours (``None`` keeps a value); audited."""
    unknown = set(details) - set(OFFICE_DETAILS)
    if unknown:
        raise ClerkError(f"未知的机构信息：{'、'.join(sorted(unknown))}")
    with db.write() as session:
        office = session.exec(select(Office).where(Office.code == code)).first()
        if office is None:
            raise ClerkError(f"没有代码为 {code} 的经办机构")
        changed = {}
        for key, value in details.items():
            if value is None:
                continue
            value = value.strip()
            if key == "name" and not value:
                raise ClerkError("机构名称不能为空")
            if getattr(office, key) != value:
                setattr(office, key, value)
                changed[key] = value
        if changed:
            session.add(office)
            audit(session, clerk_id, "update", "office", office.id, **changed)
        session.flush()
        session.refresh(office)
        return office


def add_clerk(
    db: Database,
    office_code: str,
    username: str,
    display_name: str,
    password: str,
    role: str = "clerk",
) -> int:
    """Create a clerk; raises ``ClerkError`` for a weak password or a taken name."""
    try:
        display_name = check_text("name", display_name, required=True)
    except TextFieldError as exc:
        raise ClerkError(str(exc)) from None
    if len(password) < MIN_PASSWORD:
        raise ClerkError(f"密码至少 {MIN_PASSWORD} 位")
    if role not in ("clerk", "supervisor"):
        raise ClerkError("角色应为 clerk 或 supervisor")
    with db.write() as session:
        office = session.exec(select(Office).where(Office.code == office_code)).first()
        if office is None:
            raise ClerkError(f"经办机构 {office_code} 不存在")
        if session.exec(select(Clerk).where(Clerk.username == username)).first():
            raise ClerkError(f"用户名 {username} 已被使用")
        clerk = Clerk(
            office_id=office.id,  # type: ignore[arg-type]
            username=username,
            display_name=display_name,
            password_hash=_HASHER.hash(password),
            role=role,
        )
        session.add(clerk)
        session.flush()
        audit(session, None, "create", "clerk", clerk.id, username=username, role=role)
        assert clerk.id is not None
        return clerk.id


def sign_in(
    db: Database,
    username: str,
    password: str,
    lockout: Lockout | None = None,
    now: datetime | None = None,
) -> SignedIn | None:
    """The clerk if the password is right (audited either way), else ``None``.

    Every place a password is typed (sign-in, the lock screen, a supervisor's sign-off) comes here,
    so wrong passwords anywhere count toward the same lock-out, kept in the database so that a
    restart does not reset it. Raises ``AccountLocked`` while the clerk is locked out, and when
    this wrong password is the one that locks.
    """
    lockout = lockout or Lockout()
    now = now or utcnow()
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
    if clerk is not None:
        until = _aware(clerk.locked_until)
        if until is not None and until > now:
            with db.write() as session:
                audit(session, clerk.id, "sign_in_locked", "clerk", clerk.id, username=username)
            raise AccountLocked(until)
    ok = False
    if clerk is not None and clerk.active:
        # argon2 is deliberately slow: verify outside the write transaction, so other clerks'
        # commits do not queue behind a sign-in.
        try:
            ok = _HASHER.verify(clerk.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    locked: datetime | None = None
    with db.write() as session:
        audit(
            session,
            clerk.id if clerk else None,
            "sign_in" if ok else "sign_in_failed",
            "clerk",
            clerk.id if clerk else "",
            username=username,
        )
        row = session.get(Clerk, clerk.id) if clerk is not None else None
        if row is not None:
            if ok:
                row.failed_logins, row.locked_until = 0, None
            else:
                # Counted in the row, inside this transaction: two windows typing wrong passwords
                # for the same clerk both count.
                row.failed_logins += 1
                if row.failed_logins >= lockout.attempts:
                    locked = now + timedelta(minutes=lockout.minutes)
                    row.failed_logins, row.locked_until = 0, locked
                    audit(
                        session,
                        row.id,
                        "lockout",
                        "clerk",
                        row.id,
                        username=username,
                        until=locked.isoformat(),
                    )
            session.add(row)
        if not ok or clerk is None:
            signed = None
        else:
            office = session.get(Office, clerk.office_id)
            assert office is not None and clerk.id is not None and office.id is not None
            signed = SignedIn(
                clerk_id=clerk.id,
                username=clerk.username,
                display_name=clerk.display_name,
                role=clerk.role,
                office_id=office.id,
                office_code=office.code,
                office_name=office.name,
                policy=office.policy,
            )
    if locked is not None:
        raise AccountLocked(locked)
    return signed


def clerk_names(db: Database) -> dict[int, str]:
    """Every clerk's display name by id (for history and report lines)."""
    with db.read() as session:
        return {
            clerk_id: name
            for clerk_id, name in session.exec(select(Clerk.id, Clerk.display_name)).all()
            if clerk_id is not None
        }
