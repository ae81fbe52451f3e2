"""Offices and clerks: creating them, and signing in with an argon2 password hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from counter_app.domain.lockout import Lockout
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk, Office, utcnow
from counter_app.storage.records import audit, lock_key

_HASHER = PasswordHasher()
MIN_PASSWORD = 8


class ClerkError(ValueError):
    """A clerk that cannot be created; the message is Chinese."""


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
        lock_key(session, "office", code)
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
        lock_key(session, "clerk", username)
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
        # Inside the write transaction: it also serialises edits of the key slot file.
        _slot_password_set(db, username, password)
        return clerk.id


def _slot_password_set(db: Database, username: str, password: str) -> None:
    """An encrypted database: ``username``'s key slot now opens with ``password``."""
    if db.encrypted:
        from counter_app.storage.encryption import clerk_password_set

        clerk_password_set(db, username, password)


def set_password(db: Database, username: str, password: str, by_clerk_id: int | None) -> None:
    """Set a clerk's new password (the clerk themself, or a supervisor resetting it); audited.

    On an encrypted database the clerk's key slot is re-wrapped for the new password.
    """
    if len(password) < MIN_PASSWORD:
        raise ClerkError(f"密码至少 {MIN_PASSWORD} 位")
    with db.write() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
        if clerk is None:
            raise ClerkError(f"没有用户名为 {username} 的经办人")
        clerk.password_hash = _HASHER.hash(password)
        clerk.failed_logins, clerk.locked_until = 0, None
        session.add(clerk)
        audit(session, by_clerk_id, "set_password", "clerk", clerk.id, username=username)
        if clerk.active:
            _slot_password_set(db, username, password)


def disable_clerk(db: Database, username: str, by_clerk_id: int | None) -> None:
    """Disable a clerk: they can no longer sign in, and on an encrypted database their key slot
    is removed, so their password no longer opens it. Audited."""
    with db.write() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
        if clerk is None:
            raise ClerkError(f"没有用户名为 {username} 的经办人")
        clerk.active = False
        session.add(clerk)
        audit(session, by_clerk_id, "disable", "clerk", clerk.id, username=username)
        if db.encrypted:
            from counter_app.storage.encryption import clerk_removed

            clerk_removed(db, username)


def verify_supervisor(path: Path, username: str, password: str) -> None:
    """Check, on the plain database at ``path``, that ``username`` is an active supervisor with
    this password (``ClerkError`` in Chinese otherwise); for ``db encrypt``."""
    db = Database.open(path)
    try:
        with db.read() as session:
            clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
    finally:
        db.close()
    try:
        ok = clerk is not None and clerk.active and _HASHER.verify(clerk.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or clerk is None:
        raise ClerkError("用户名或密码不正确")
    if clerk.role != "supervisor":
        raise ClerkError("只有科长可以执行此操作")


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
    unlocked_now = db.locked
    if db.locked:
        # An encrypted database opens only with a clerk's key slot: the slot's argon2 checks the
        # password before anything is read (wrong passwords cannot be counted until it is open).
        from counter_app.storage.encryption import EncryptionError, unlock_for_sign_in

        try:
            if not unlock_for_sign_in(db, username, password):
                return None
        except EncryptionError as exc:  # no slot file, or slots of another key: said in Chinese
            raise ClerkError(str(exc)) from None
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
    if signed is not None and db.encrypted and not unlocked_now:
        from counter_app.storage.encryption import clerk_enrol

        clerk_enrol(db, username, password)
    return signed


def clerk_names(db: Database) -> dict[int, str]:
    """Every clerk's display name by id (for history and report lines)."""
    with db.read() as session:
        return {
            clerk_id: name
            for clerk_id, name in session.exec(select(Clerk.id, Clerk.display_name)).all()
            if clerk_id is not None
        }
