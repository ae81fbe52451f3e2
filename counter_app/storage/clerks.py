"""Offices and clerks: creating them, and signing in with an argon2 password hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from counter_app.domain.errors import CounterError
from counter_app.domain.lockout import Lockout
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk, Office, utcnow
from counter_app.storage.records import audit, lock_key

_HASHER = PasswordHasher()
MIN_PASSWORD = 8


class ClerkError(CounterError, ValueError):
    """A clerk that cannot be created; the message is Chinese."""


class AccountLocked(ClerkError):
    """Too many wrong passwords: no password is checked until ``until`` (UTC)."""

    def __init__(self, until: datetime) -> None:
        local = until.astimezone()
        super().__init__(f"密码连续输错次数过多，账户已锁定至 {local:%Y-%m-%d %H:%M}")
        self.until = until


class AccountDisabled(ClerkError):
    """The clerk's account was disabled by a supervisor (history kept, no sign-in)."""

    def __init__(self) -> None:
        super().__init__("该账户已停用，请联系科长")


#: What the sign-in says when the database holds no clerk yet.
NO_CLERK_MESSAGE = (
    "本机还没有经办人账户：请重新启动程序，在设置向导中创建科长账户，"
    "或运行 counter-app clerk add --role supervisor"
)


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
    #: A supervisor reset the password: the clerk must choose a new one before working.
    must_change_password: bool = False


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
    by: int | None = None,
) -> int:
    """Create a clerk; raises ``ClerkError`` for a weak password or a taken name.

    ``by`` is the supervisor who added the clerk (the audit entry's clerk; none from the CLI).
    """
    try:
        display_name = check_text("name", display_name, required=True)
    except TextFieldError as exc:
        raise ClerkError(str(exc)) from None
    username = username.strip()
    if not username:
        raise ClerkError("用户名不能为空")
    check_new_password(password)
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
        audit(session, by, "create", "clerk", clerk.id, username=username, role=role)
        assert clerk.id is not None
        # Inside the write transaction: it also serialises edits of the key slot file.
        _slot_password_set(db, username, password)
        return clerk.id


def _slot_password_set(db: Database, username: str, password: str) -> None:
    """An encrypted database: ``username``'s key slot now opens with ``password``."""
    if db.encrypted:
        from counter_app.storage.encryption import clerk_password_set

        clerk_password_set(db, username, password)


def _store_password(
    db: Database,
    session: Any,
    row: Clerk,
    password: str,
    digest: str,
    *,
    must_change: bool,
    by: int | None,
    action: str,
) -> None:
    """The one way a password changes: hash, lock-out lifted, audited, key slot re-wrapped."""
    row.password_hash = digest
    row.must_change_password = must_change
    row.failed_logins, row.locked_until = 0, None
    session.add(row)
    audit(session, by, action, "clerk", row.id, username=row.username)
    if row.active:
        # Inside the write transaction: it also serialises edits of the key slot file.
        _slot_password_set(db, row.username, password)


def _store_active(db: Database, session: Any, row: Clerk, active: bool, by: int | None) -> None:
    """The one way a clerk is disabled or enabled: audited; a disabled clerk's key slot goes, so
    their password no longer opens an encrypted database (enabled again, they get a slot when
    they sign in on a window where the database is open)."""
    if row.active == active:
        return
    row.active = active
    session.add(row)
    audit(session, by, "enable" if active else "disable", "clerk", row.id, username=row.username)
    if not active and db.encrypted:
        from counter_app.storage.encryption import clerk_removed

        clerk_removed(db, row.username)


def _by_username(session: Any, username: str) -> Clerk:
    clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
    if clerk is None:
        raise ClerkError(f"没有用户名为 {username} 的经办人")
    return clerk


def set_password(db: Database, username: str, password: str, by_clerk_id: int | None) -> None:
    """Set a clerk's new password by user name (command line); audited, key slot re-wrapped."""
    check_new_password(password)
    digest = _HASHER.hash(password)
    with db.write() as session:
        row = _by_username(session, username)
        _store_password(
            db,
            session,
            row,
            password,
            digest,
            must_change=False,
            by=by_clerk_id,
            action="set_password",
        )


def disable_clerk(db: Database, username: str, by_clerk_id: int | None) -> None:
    """Disable a clerk by user name (command line): no sign-in, no key slot. Audited."""
    with db.write() as session:
        _store_active(db, session, _by_username(session, username), False, by_clerk_id)


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
    if clerk is not None:
        # argon2 is deliberately slow: verify outside the write transaction, so other clerks'
        # commits do not queue behind a sign-in.
        try:
            ok = _HASHER.verify(clerk.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if ok and clerk is not None and not clerk.active:
        with db.write() as session:
            audit(session, clerk.id, "sign_in_disabled", "clerk", clerk.id, username=username)
        raise AccountDisabled
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
                must_change_password=clerk.must_change_password,
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


@dataclass(frozen=True)
class ClerkRow:
    """One clerk as the supervisor's list shows it (no password hash)."""

    clerk_id: int
    username: str
    display_name: str
    role: str
    active: bool
    must_change_password: bool
    locked_until: datetime | None


def clerk_count(db: Database) -> int:
    """How many clerk accounts the database holds (active or not)."""
    with db.read() as session:
        return len(session.exec(select(Clerk.id)).all())


def list_clerks(db: Database, office_id: int) -> list[ClerkRow]:
    """The office's clerks by user name, for the supervisor's list."""
    with db.read() as session:
        rows = session.exec(
            select(Clerk).where(Clerk.office_id == office_id).order_by(Clerk.username)
        ).all()
    return [
        ClerkRow(
            clerk_id=row.id,  # type: ignore[arg-type]
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            active=row.active,
            must_change_password=row.must_change_password,
            locked_until=_aware(row.locked_until),
        )
        for row in rows
    ]


def check_new_password(password: str, again: str | None = None) -> None:
    """The one password rule (set-up, clerk management, the change at sign-in)."""
    if len(password) < MIN_PASSWORD:
        raise ClerkError(f"密码至少 {MIN_PASSWORD} 位")
    if again is not None and password != again:
        raise ClerkError("两次输入的密码不一致")


def _clerk_of_office(session: Any, clerk_id: int, office_id: int) -> Clerk:
    row = session.get(Clerk, clerk_id)
    if row is None or row.office_id != office_id:
        raise ClerkError("没有这个经办人")
    return row


def reset_password(
    db: Database, supervisor_id: int, office_id: int, clerk_id: int, password: str
) -> None:
    """A supervisor sets a temporary password: the clerk must change it at the next sign-in.

    The lock-out is lifted too (a locked-out clerk is the usual reason for a reset); audited.
    """
    check_new_password(password)
    digest = _HASHER.hash(password)
    with db.write() as session:
        row = _clerk_of_office(session, clerk_id, office_id)
        _store_password(
            db,
            session,
            row,
            password,
            digest,
            must_change=True,
            by=supervisor_id,
            action="reset_password",
        )


def set_active(
    db: Database, supervisor_id: int, office_id: int, clerk_id: int, active: bool
) -> None:
    """Disable (or enable again) a clerk; the account and its history stay. Audited."""
    if clerk_id == supervisor_id and not active:
        raise ClerkError("不能停用自己的账户")
    with db.write() as session:
        _store_active(
            db, session, _clerk_of_office(session, clerk_id, office_id), active, supervisor_id
        )


def change_password(db: Database, clerk_id: int, password: str, again: str) -> None:
    """The clerk's own new password (after a reset it must differ from nothing but the rule)."""
    check_new_password(password, again)
    digest = _HASHER.hash(password)
    with db.write() as session:
        row = session.get(Clerk, clerk_id)
        if row is None:
            raise ClerkError("没有这个经办人")
        _store_password(
            db,
            session,
            row,
            password,
            digest,
            must_change=False,
            by=clerk_id,
            action="change_password",
        )
