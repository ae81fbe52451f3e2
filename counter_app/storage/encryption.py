"""Encryption at rest of the office's SQLite database (SQLCipher, AES-256, a raw 256-bit key).

The key is never stored in clear: it lives wrapped in the key slots beside the database
(``storage.keyslots``), one per clerk and one for the supervisor's recovery key. Signing in opens
the clerk's slot and only then the database (``unlock_for_sign_in``), so a copied disk or a stolen
PC gives files that are not SQLite databases at all (no ``SQLite format 3`` header).

Set-up of a new encrypted office: ``create_encrypted(path, user, password)`` makes the key, the
first clerk's slot and the recovery key (shown once) and returns the open database; converting a
plain office: ``encrypt_database``; a new key: ``rekey_database``. A wrong key or password is a
Chinese ``EncryptionError``, never a traceback, and never leaves a new empty database behind.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.engine import URL

from counter_app.domain.errors import CounterError
from counter_app.private_files import DIR_MODE, touch_private

if TYPE_CHECKING:
    from counter_app.storage.db import Database
    from counter_app.storage.keyslots import KdfCost, KeySlots

SQLITE_HEADER = b"SQLite format 3\x00"
FileState = Literal["new", "plain", "encrypted"]


class EncryptionError(CounterError, ValueError):
    """An encrypted database that cannot be opened or converted; the message is Chinese."""


class DatabaseLocked(EncryptionError):
    """The database is encrypted and no clerk has signed in yet."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"数据库 {path} 已加密：须经办人登录（或输入恢复密钥）后才能打开")


class WrongKey(EncryptionError):
    """The key does not open this database file."""


def file_state(path: Path) -> FileState:
    """``new`` (no file, or an empty one), ``plain`` (an SQLite header) or ``encrypted``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return "new"
    if not head:
        return "new"
    return "plain" if head == SQLITE_HEADER else "encrypted"


def is_encrypted(path: Path) -> bool:
    """Whether the database file at ``path`` is encrypted (for ``doctor`` and the header)."""
    return file_state(path) == "encrypted"


def expects_encrypted(path: Path) -> bool:
    """Whether ``path`` is an encrypted database, or is missing while its key slots are there
    (a moved or lost file must not be replaced by a new empty database)."""
    state = file_state(path)
    if state == "encrypted":
        return True
    if state == "new":
        from counter_app.storage.keyslots import slot_file_exists

        return slot_file_exists(path)
    return False


def require_encrypted_file(path: Path) -> None:
    """Refuse, in Chinese, a missing or a plain file where an encrypted database is expected."""
    state = file_state(path)
    if state == "new":
        raise EncryptionError(f"找不到加密的数据库文件 {path}（不会新建空数据库）")
    if state == "plain":
        raise EncryptionError(f"数据库 {path} 没有加密")


def key_pragma_value(key: bytes) -> str:
    """SQLCipher's raw-key form ``x'…'`` (64 hex digits): no passphrase derivation per open."""
    return f"x'{key.hex().upper()}'"


def cipher_url(path: Path, key: bytes) -> URL:
    """The SQLAlchemy URL (``sqlite+pysqlcipher``) of the database opened with ``key``."""
    return URL.create("sqlite+pysqlcipher", password=key_pragma_value(key), database=str(path))


def connect(path: Path, key: bytes, query: str = "mode=rw") -> Any:
    """A raw SQLCipher connection to an existing encrypted database, checked to read with ``key``.

    For tools working below SQLAlchemy (backups: ``conn.backup`` to a connection opened with the
    same key, or ``export_to``). Raises ``WrongKey`` (Chinese) if the key is not this file's.
    ``query``: the URI parameters (``mode=rw`` never creates a file; ``mode=ro``, ``immutable=1``).
    """
    import sqlcipher3

    require_encrypted_file(path)
    conn = sqlcipher3.connect(
        f"{path.absolute().as_uri()}?{query}", uri=True, check_same_thread=False
    )
    # SQLCipher otherwise logs every failed page decryption to stderr (over the TUI).
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f'PRAGMA key = "{key_pragma_value(key)}"')
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError:
        conn.close()
        raise WrongKey(
            f"密钥不能打开数据库 {path}：密钥槽文件与数据库不相配"
            "（例如恢复了用另一个密钥加密的备份），请用与该数据库同时备份的密钥槽文件，或联系科长用恢复密钥处理"
        ) from None
    return conn


def check_key(path: Path, key: bytes) -> None:
    """``WrongKey`` unless ``key`` opens the database at ``path``."""
    connect(path, key).close()


def export_to(source: Any, target: Path, key: bytes | None) -> None:
    """Copy the database open on ``source`` (a SQLCipher connection) into a new file ``target``,
    encrypted with ``key`` (``None``: a plain copy), by ``sqlcipher_export``."""
    touch_private(target)
    value = key_pragma_value(key) if key is not None else ""
    source.execute("ATTACH DATABASE ? AS export KEY ?", (str(target), value))
    try:
        source.execute("SELECT sqlcipher_export('export')")
    finally:
        source.execute("DETACH DATABASE export")


def backup_to(db: Database, target: Path) -> None:
    """An online copy of an encrypted database into the new file ``target``, encrypted with the
    same key (``storage.backup.copy_database``, the one backup path; the copy opens with the
    same key slots once ``<target>.keyslots`` is a copy of the database's slot file)."""
    from counter_app.storage.backup import copy_database

    assert db.path is not None and db.key is not None, "not an open encrypted database"
    problem = copy_database(db.path, target, db.key)
    if problem:
        raise EncryptionError(f"备份副本未通过完整性检查（{problem}）")


def database_key(db: Database) -> bytes | None:
    """The open database's key (``None`` for a plain database): backups use the same key."""
    return db.key


# -- key slots of a database -----------------------------------------------------------------


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def load_slots(db_path: Path) -> KeySlots:
    """The slots of the database at ``db_path``; ``EncryptionError`` (Chinese) if unreadable."""
    from counter_app.storage.keyslots import KeySlotError, KeySlots, slot_file_path

    try:
        return KeySlots.load(slot_file_path(db_path))
    except KeySlotError as exc:
        raise EncryptionError(
            f"{exc}；没有密钥槽文件无法打开加密的数据库，请从备份中恢复"
        ) from None


def _unlock(db: Database, open_slot: Any) -> None:
    """Open ``db`` with the key ``open_slot(slots)`` gives, finishing an interrupted rekey."""
    from counter_app.storage.keyslots import KeySlots, slot_file_path

    assert db.path is not None
    main = slot_file_path(db.path)
    pending = _pending(main)
    key = open_slot(load_slots(db.path))
    try:
        db.unlock(key)
    except WrongKey:
        # A rekey stopped between re-keying the file and renaming its new slot file.
        if not pending.exists():
            raise
        key = open_slot(KeySlots.load(pending))
        db.unlock(key)
        pending.replace(main)
        return
    pending.unlink(missing_ok=True)


def unlock_for_sign_in(db: Database, username: str, password: str) -> bool:
    """At sign-in: open a locked database with ``username``'s slot.

    ``False`` when the password does not open the slot (or there is none): the caller answers
    “用户名或密码不正确” as for any wrong password. An open or plain database is left alone.
    """
    from counter_app.storage.keyslots import WrongSecret

    if not db.locked:
        return True
    try:
        _unlock(db, lambda slots: slots.unlock(username, password))
    except WrongSecret:
        return False
    return True


def unlock_with_recovery(db: Database, recovery_key: str) -> None:
    """Open a locked database with the supervisor's recovery key (``EncryptionError`` if wrong)."""
    from counter_app.storage.keyslots import WrongSecret

    if not db.locked:
        return
    try:
        _unlock(db, lambda slots: slots.unlock_recovery(recovery_key))
    except WrongSecret as exc:
        raise EncryptionError(str(exc)) from None


def unlock_with_prompt(db: Database, ask: Callable[[str, bool], str]) -> None:
    """A command-line tool on a locked database: ask (``ask(label, hidden)``) for a clerk's user
    name and password, or ``recovery`` and the recovery key; ``EncryptionError`` if wrong."""
    if not db.locked:
        return
    username = ask("数据库已加密。用户名（用恢复密钥时输入 recovery）", False).strip()
    if username == "recovery":
        unlock_with_recovery(db, ask("恢复密钥", True))
    elif not unlock_for_sign_in(db, username, ask("密码", True)):
        raise EncryptionError("用户名或密码不正确，数据库未打开")


def clerk_password_set(db: Database, username: str, password: str) -> None:
    """A clerk was added or their password changed: (re)wrap their slot with the open key."""
    if db.key is None or db.path is None:
        return
    slots = load_slots(db.path)
    slots.set(username, password, db.key)
    slots.save()


def clerk_enrol(db: Database, username: str, password: str) -> None:
    """After a clerk signed in (password checked by the database) on an open database: make sure
    their slot opens with this password. Clerks of a database encrypted by ``db encrypt`` get
    their slot this way, and a slot left behind by a password changed elsewhere is re-wrapped."""
    from counter_app.storage.keyslots import WrongSecret

    if db.key is None or db.path is None:
        return
    slots = load_slots(db.path)
    if slots.has(username):
        try:
            slots.unlock(username, password)
            return
        except WrongSecret:
            pass
    # Under the database's write lock: windows editing the slot file take turns.
    with db.write():
        slots = load_slots(db.path)
        slots.set(username, password, db.key)
        slots.save()


def clerk_removed(db: Database, username: str) -> None:
    """A clerk was disabled: their password no longer opens the database."""
    if not db.encrypted or db.path is None:
        return
    slots = load_slots(db.path)
    if slots.remove(username):
        slots.save()


def slot_names(db_path: Path) -> list[str]:
    """The user names whose passwords open the database (for clerk management and ``doctor``)."""
    return load_slots(db_path).names()


@dataclass(frozen=True)
class EncryptionStatus:
    """Encryption at rest of one database file, for ``doctor`` and the supervisor's screen."""

    state: FileState
    clerks: tuple[str, ...]  # user names with a key slot
    recovery: bool  # whether a recovery slot exists
    ok: bool
    message: str  # Chinese, with what to do when not ok


def encryption_status(db_path: Path) -> EncryptionStatus:
    """Whether the database is encrypted, and whose passwords (and a recovery key) open it."""
    from counter_app.storage.keyslots import RECOVERY_SLOT, KeySlotError, KeySlots, slot_file_path

    state = file_state(db_path)
    if state != "encrypted":
        return EncryptionStatus(
            state,
            (),
            False,
            False,
            "数据库未加密：请关闭所有窗口后由科长执行 counter-app db encrypt"
            if state == "plain"
            else "数据库尚未建立",
        )
    try:
        slots = KeySlots.load(slot_file_path(db_path))
    except KeySlotError as exc:
        return EncryptionStatus(state, (), False, False, f"{exc}：请从备份恢复密钥槽文件")
    clerks = tuple(slots.names())
    recovery = RECOVERY_SLOT in slots.names("recovery")
    message = f"已加密（SQLCipher），可打开的经办人 {len(clerks)} 名：{'、'.join(clerks) or '无'}"
    if not recovery:
        message += "；没有恢复密钥：请执行 counter-app db rekey --new-recovery"
    return EncryptionStatus(state, clerks, recovery, bool(clerks) and recovery, message)


# -- creating, converting, re-keying ---------------------------------------------------------


def _unused(path: Path) -> bool:
    """A plain database with no office and no clerk (only the schema): nothing to lose."""
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            return all(
                conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0
                for table in ("office", "clerk", "person")
                if table in tables
            )
    except sqlite3.DatabaseError:
        return False


def create_encrypted(
    path: Path, username: str, password: str, cost: KdfCost | None = None
) -> tuple[Database, str]:
    """A new, empty, encrypted office database (migrated) with ``username``'s slot.

    Returns the open database and the recovery key to show (and print) once for the supervisor;
    it is stored nowhere. Then create the office and ``username`` as a supervisor with
    ``clerks.add_clerk`` (which re-wraps the same slot). Refuses when a database with data exists
    (an empty plain one, as the app opens before first-run set-up, is replaced; close it first).
    """
    from counter_app.storage.db import Database
    from counter_app.storage.keyslots import new_database_key, new_slot_file, slot_file_path

    if file_state(path) == "plain" and _unused(path):
        # The app opened (and migrated) an empty plain database before first-run set-up.
        for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    if file_state(path) != "new":
        raise EncryptionError(f"数据库 {path} 已存在，不能重新建立")
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    key = new_database_key()
    slots, recovery = new_slot_file(slot_file_path(path), key, username, password, cost)
    # The slots first: a crash before the database exists leaves a "new" office to set up again.
    slots.save()
    touch_private(path)
    import sqlcipher3

    with closing(sqlcipher3.connect(str(path))) as conn:
        conn.execute(f'PRAGMA key = "{key_pragma_value(key)}"')
        conn.execute("CREATE TABLE _created (x)")
        conn.execute("DROP TABLE _created")
        conn.commit()
    return Database.open_encrypted(path, key), recovery


@contextmanager
def _alone(path: Path, key: bytes | None) -> Iterator[Any]:
    """A connection that is the only one on the database (rollback journal: leaving WAL mode
    needs every other connection closed, so another window still running is refused)."""
    import sqlcipher3

    conn = connect(path, key) if key is not None else sqlcipher3.connect(str(path))
    try:
        try:
            # Read first: a connection that has not yet seen the file only records the mode.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlcipher3.OperationalError:
            mode = ""
        if str(mode).lower() != "delete":
            raise EncryptionError("数据库正被其他窗口使用：请先关闭所有窗口的程序，再执行此操作")
        yield conn
    finally:
        conn.close()


def _table_counts(conn: Any) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


@dataclass(frozen=True)
class Encrypted:
    """The outcome of ``encrypt_database``: where the plain backup is, and the recovery key."""

    backup: Path
    recovery_key: str


def encrypt_database(
    path: Path, username: str, password: str, backup: Path, cost: KdfCost | None = None
) -> Encrypted:
    """Convert a plain office database to SQLCipher (``counter-app db encrypt``).

    Only an active supervisor may (their password is checked against the database). A plain
    backup is made first (``backup``); the encrypted copy is checked (integrity, every table's
    row count) before it replaces the original. The supervisor gets a slot and a recovery key;
    the other clerks get theirs when they next sign in on a window the supervisor unlocked, or
    when the supervisor sets their password.
    """
    from counter_app.storage.clerks import verify_supervisor
    from counter_app.storage.keyslots import new_database_key, new_slot_file, slot_file_path

    if file_state(path) != "plain":
        raise EncryptionError(f"数据库 {path} 不是未加密的数据库")
    verify_supervisor(path, username, password)
    with _alone(path, None) as conn:
        touch_private(backup)
        with closing(sqlite3.connect(backup)) as target:
            plain = sqlite3.connect(path)
            with closing(plain):
                plain.backup(target)
        counts = _table_counts(conn)
        key = new_database_key()
        encrypted = path.with_name(path.name + ".encrypting")
        encrypted.unlink(missing_ok=True)
        export_to(conn, encrypted, key)
    _check_copy(encrypted, key, counts)
    slots, recovery = new_slot_file(slot_file_path(path), key, username, password, cost)
    # Slots before the swap: a crash in between leaves the plain database, which opens as before.
    slots.save()
    os.replace(encrypted, path)
    return Encrypted(backup, recovery)


def _check_copy(path: Path, key: bytes, counts: dict[str, int]) -> None:
    with closing(connect(path, key)) as copy:
        ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok" or _table_counts(copy) != counts:
            path.unlink(missing_ok=True)
            raise EncryptionError("加密后的数据库校验不一致，原数据库未改动")


def rekey_database(db: Database, new_recovery: bool = False) -> str | None:
    """Give the open encrypted database a new key (``counter-app db rekey``).

    Every slot is re-wrapped to the new key (no clerk's password is needed); with
    ``new_recovery`` the recovery key is replaced too and the new one returned. The new slot file
    is written aside first, so an interruption is finished at the next sign-in.
    """
    from counter_app.storage.keyslots import (
        RECOVERY_SLOT,
        new_database_key,
        new_recovery_key,
        slot_file_path,
    )

    if db.key is None or db.path is None:
        raise EncryptionError("数据库没有加密或尚未打开")
    path = db.path
    old = db.key
    slots = load_slots(path)
    key = new_database_key()
    slots.rewrap(key)
    recovery = None
    if new_recovery:
        recovery = new_recovery_key()
        slots.set(RECOVERY_SLOT, recovery, key, kind="recovery")
    main = slot_file_path(path)
    slots.save(_pending(main))
    db.close()
    try:
        with _alone(path, old) as conn:
            conn.execute(f'PRAGMA rekey = "{key_pragma_value(key)}"')
    except BaseException:
        _pending(main).unlink(missing_ok=True)
        db.key = None
        db.unlock(old)
        raise
    _pending(main).replace(main)
    db.key = None
    db.unlock(key)
    return recovery
