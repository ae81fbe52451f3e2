"""Backups of an office's SQLite database: taken online, checked, written atomically, rotated.

A backup is taken with SQLite's online backup API while clerks keep working (WAL readers do not
block writers), into a hidden ``.part`` file in the backup place; the copy is switched to a
self-contained rollback-journal file, checked with ``PRAGMA integrity_check``, flushed to disk and
only then renamed to its final name. A backup killed midway leaves a ``.part`` file (removed by a
later run) and every earlier backup untouched. Each place keeps ``keep_days`` days of backups; the
newest one is never removed.

``restore`` puts a backup in place of the database: it refuses a file that is not an intact
office database (or belongs to another office), keeps the current database aside first, and
swaps files so that no old WAL is ever applied to the restored file. The next sync continues the
numbering above what the provincial store holds (``counter_app.sync.restore``).

An encrypted office database (SQLCipher) is backed up the same way, through connections keyed with
the database key (``key``): the backup is encrypted with the same key (no SQLite header) and the
database's key-slot file is copied beside it (``<backup>.keyslots``), so the backup opens with the
same clerks' passwords and the supervisor's recovery key. Restoring an encrypted backup puts its
slot file back too; the current slot file is kept aside with the current database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from counter_app.domain.errors import CounterError
from counter_app.private_files import DIR_MODE, FILE_MODE, write_private

#: ``<database stem>-<UTC yyyymmdd-HHMMSS>.backup.db``
SUFFIX = ".backup.db"
PART = ".part"
STAMP = "%Y%m%d-%H%M%S"
#: A ``.part`` file older than this is the remains of a killed backup.
STALE_PART = timedelta(minutes=30)
#: Newest backup older than this: the header and the day report warn.
WARN_AGE = timedelta(days=1)


class BackupError(CounterError):
    """A backup or restore that cannot be done; the message is Chinese."""


@dataclass(frozen=True)
class BackupFile:
    """One finished backup."""

    path: Path
    taken_at: datetime
    size: int


@dataclass
class BackupOutcome:
    """What one ``backup_now`` did at each place."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """At least one place has the new backup."""
        return bool(self.written)

    def lines(self) -> list[str]:
        """One Chinese line per place."""
        out = [f"已备份到 {p}" for p in self.written]
        out += [f"✘ 未能备份到 {place}：{why}" for place, why in self.failed]
        if self.removed:
            out.append(f"已删除过期备份 {len(self.removed)} 份")
        return out


def backup_name(db_path: Path, taken_at: datetime) -> str:
    """The file name of a backup of ``db_path`` taken at ``taken_at``."""
    return f"{db_path.stem}-{taken_at.astimezone(UTC).strftime(STAMP)}{SUFFIX}"


def _taken_at(path: Path, stem: str) -> datetime | None:
    name = path.name
    if not (name.startswith(stem + "-") and name.endswith(SUFFIX)):
        return None
    try:
        stamp = name[len(stem) + 1 : -len(SUFFIX)]
        return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def database_errors() -> tuple[type[Exception], ...]:
    """What a failing plain or SQLCipher connection raises (two separate DB-API modules)."""
    import sqlcipher3

    from counter_app.storage.encryption import EncryptionError

    return (sqlite3.Error, sqlcipher3.Error, EncryptionError)


def connect(
    path: Path, key: bytes | None, *, query: str = "", timeout: float = 15, new: bool = False
) -> Any:
    """A connection to the database file at ``path``: plain ``sqlite3`` when ``key`` is
    ``None``, else SQLCipher keyed with ``key``.

    ``query`` adds URI parameters (``mode=ro``, ``immutable=1``). An existing encrypted file is
    opened by ``encryption.connect`` (which refuses a wrong key with ``WrongKey``); ``new`` (a new,
    empty target file, or a lock probe that must not read first) only sets the key.
    """
    if key is None:
        if not query:
            return sqlite3.connect(path, timeout=timeout)
        return sqlite3.connect(f"{path.absolute().as_uri()}?{query}", uri=True, timeout=timeout)
    from counter_app.storage import encryption

    if not new:
        connection = encryption.connect(path, key, query or "mode=rw")
        connection.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        return connection
    import sqlcipher3

    connection = sqlcipher3.connect(str(path), timeout=timeout, check_same_thread=False)
    # SQLCipher otherwise logs every failed page decryption to stderr (over the TUI).
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute(f'PRAGMA key = "{encryption.key_pragma_value(key)}"')
    return connection


def copy_database(
    db_path: Path,
    target: Path,
    key: bytes | None = None,
    *,
    pages: int = -1,
    progress: Callable[[int, int, int], object] | None = None,
) -> str | None:
    """Copy the database at ``db_path`` online into the new file ``target`` (created 0600),
    encrypted with ``key`` when the database is (the same key); ``None`` when the copy passed
    ``PRAGMA integrity_check``, else SQLite's complaint. Errors of the source raise."""
    if not target.exists():
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE))
    source = connect(db_path, key)
    try:
        copy = connect(target, key, new=True)
        try:
            source.backup(copy, pages=pages, progress=progress)
            # A self-contained file: no -wal beside a backup, readable on its own.
            copy.execute("PRAGMA journal_mode=DELETE")
            return _integrity(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _copy_slots(db_path: Path, target: Path) -> None:
    """Copy the key-slot file of ``db_path`` (if any) atomically to that of ``target``."""
    from counter_app.storage.keyslots import slot_file_path

    source = slot_file_path(db_path)
    if source.exists():
        write_private(slot_file_path(target), source.read_bytes())


def _integrity(connection: Any) -> str | None:
    """``None`` when the database is intact, else SQLite's first complaint."""
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    first = str(rows[0][0]) if rows else "no answer"
    return None if first == "ok" else first


def backup_to(
    db_path: Path,
    place: Path,
    now: datetime | None = None,
    *,
    key: bytes | None = None,
    pages: int = -1,
    progress: Callable[[int, int, int], object] | None = None,
) -> Path:
    """One backup of ``db_path`` into folder ``place``; returns the finished file.

    ``key``: the database key of an encrypted database (the backup is encrypted with it and gets
    a copy of the key-slot file). ``pages``/``progress`` are passed to SQLite's backup API
    (``-1``: all pages in one step).
    """
    taken_at = now or datetime.now(UTC)
    place.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    final = place / backup_name(db_path, taken_at)
    part = place / f".{final.name}{PART}"
    part.unlink(missing_ok=True)
    try:
        fd = os.open(part, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE)
        os.close(fd)
        problem = copy_database(db_path, part, key, pages=pages, progress=progress)
    except database_errors() as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"读取数据库失败（{exc}）") from None
    if problem:
        part.unlink(missing_ok=True)
        raise BackupError(f"备份副本未通过完整性检查（{problem}），数据库本身可能已损坏")
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    if key is not None:
        # The slots first: a finished backup always has them beside it.
        _copy_slots(db_path, final)
    os.replace(part, final)
    _fsync_dir(place)
    return final


def rotate(db_path: Path, place: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Remove backups older than ``keep_days`` (never the newest) and stale ``.part`` files."""
    moment = now or datetime.now(UTC)
    removed: list[Path] = []
    found = sorted(files_in(db_path, place), key=lambda b: b.taken_at, reverse=True)
    from counter_app.storage.keyslots import slot_file_path

    for backup in found[1:]:
        if moment - backup.taken_at > timedelta(days=keep_days):
            backup.path.unlink(missing_ok=True)
            slot_file_path(backup.path).unlink(missing_ok=True)
            removed.append(backup.path)
    # Remains of a killed backup: its .part file, or a slot file written before the rename.
    orphans = [
        slots
        for slots in place.glob(f"{db_path.stem}-*{SUFFIX}.keyslots*")
        if not slots.with_name(slots.name.split(".keyslots")[0]).exists()
    ]
    for part in [*place.glob(f".{db_path.stem}-*{SUFFIX}{PART}*"), *orphans]:
        with contextlib.suppress(OSError):
            age = datetime.now(UTC) - datetime.fromtimestamp(part.stat().st_mtime, UTC)
            if age > STALE_PART:
                part.unlink()
                removed.append(part)
    return removed


def backup_now(
    db_path: Path,
    places: Iterable[Path],
    keep_days: int,
    now: datetime | None = None,
    *,
    key: bytes | None = None,
) -> BackupOutcome:
    """Back up to every place (a place that fails does not stop the others), then rotate.

    ``key``: the key of an encrypted database (``Database.key``); without it an encrypted
    database cannot be read and every place fails with a Chinese message."""
    outcome = BackupOutcome()
    moment = now or datetime.now(UTC)
    if not db_path.exists():
        raise BackupError(f"数据库文件不存在：{db_path}")
    if key is None and _encrypted(db_path):
        raise BackupError(f"数据库 {db_path} 已加密：须经办人登录（或输入恢复密钥）后才能备份")
    key = key if _encrypted(db_path) else None  # a plain database is backed up plain
    for place in places:
        try:
            outcome.written.append(backup_to(db_path, place, moment, key=key))
            outcome.removed += rotate(db_path, place, keep_days, moment)
        except BackupError as exc:
            outcome.failed.append((place, str(exc)))
        except OSError as exc:
            outcome.failed.append((place, f"位置不可写（{exc.strerror or exc}）"))
    return outcome


def files_in(db_path: Path, place: Path) -> list[BackupFile]:
    """The finished backups of ``db_path`` in ``place`` (none if the place is unreachable)."""
    found = []
    try:
        entries = list(place.iterdir())
    except OSError:
        return []
    for path in entries:
        taken_at = _taken_at(path, db_path.stem)
        if taken_at is not None:
            with contextlib.suppress(OSError):
                found.append(BackupFile(path, taken_at, path.stat().st_size))
    return found


def list_backups(db_path: Path, places: Iterable[Path]) -> list[BackupFile]:
    """Every finished backup at every place, newest first."""
    found = [b for place in places for b in files_in(db_path, place)]
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def newest(db_path: Path, places: Iterable[Path]) -> BackupFile | None:
    """The most recent backup anywhere."""
    found = list_backups(db_path, places)
    return found[0] if found else None


def age_text(backup: BackupFile | None, now: datetime | None = None) -> str:
    """ "备份3小时前", "⚠备份2天前" or "⚠从未备份" (⚠ when older than a day)."""
    if backup is None:
        return "⚠从未备份"
    age = (now or datetime.now(UTC)) - backup.taken_at
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        text = "刚刚"
    elif seconds < 3600:
        text = f"{seconds // 60}分钟前"
    elif seconds < 86400:
        text = f"{seconds // 3600}小时前"
    else:
        text = f"{seconds // 86400}天前"
    return f"{'⚠' if age > WARN_AGE else ''}备份{text}"


def stale(backup: BackupFile | None, now: datetime | None = None) -> bool:
    """Whether the newest backup is missing or older than a day."""
    return backup is None or (now or datetime.now(UTC)) - backup.taken_at > WARN_AGE


def report_line(
    db_path: Path, places: Iterable[Path], zone: tzinfo, now: datetime | None = None
) -> str:
    """The day report's line on backups (⚠ when the newest is missing or older than a day);
    times in the office's ``zone``."""
    moment = now or datetime.now(UTC)
    found = newest(db_path, places)
    if found is None:
        return "⚠ 备份：从未备份（运行 counter-app backup now，并在配置 [backup] 中设置备份位置）"
    when = found.taken_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    age = age_text(found, moment).removeprefix("⚠").removeprefix("备份")
    if stale(found, moment):
        return f"⚠ 备份：最新备份 {when}（{age}），已超过一天，请检查备份位置后运行 backup now"
    return f"备份：最新备份 {when}（{age}），{found.path.parent}"


# -- checking and restoring -------------------------------------------------------------------

SQLITE_HEADER = b"SQLite format 3\x00"
#: SQLCipher files are whole pages (4096 bytes by default; 512 is the smallest page size).
MIN_PAGE = 512


def _encrypted(path: Path) -> bool:
    from counter_app.storage.encryption import is_encrypted

    return is_encrypted(path)


def looks_encrypted(path: Path) -> bool:
    """Whether ``path`` may be an encrypted database: no SQLite header, but whole pages (other
    files without the header are simply not databases, and need no key to be refused)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return _encrypted(path) and size >= MIN_PAGE and size % MIN_PAGE == 0


def check_file(path: Path, key: bytes | None = None) -> str | None:
    """``None`` when ``path`` is an intact office database, else what is wrong (Chinese).

    An encrypted file is checked with ``key`` (the office database's key); without it the
    answer says that a clerk must sign in first.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"无法读取（{exc.strerror or exc}）"
    if header != SQLITE_HEADER:
        if not looks_encrypted(path):
            return "不是 SQLite 数据库文件（也不是加密的数据库，可能已损坏）"
        if key is None:
            return "文件已加密：须经办人登录（或输入恢复密钥）后才能核对"
    from counter_app.storage.encryption import WrongKey

    file_key = key if header != SQLITE_HEADER else None
    try:
        # immutable: read as it is, without creating -wal/-shm files beside a backup.
        connection = connect(path, file_key, query="immutable=1")
        try:
            problem = _integrity(connection)
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        finally:
            connection.close()
    except WrongKey:
        return "本机构数据库的密钥打不开此文件（不是本机构的加密备份，或是更换密钥之前的备份）"
    except database_errors() as exc:
        return f"数据库已损坏（{exc}）"
    if problem:
        return f"完整性检查未通过（{problem}）"
    if not {"office", "outbox_event", "alembic_version"} <= tables:
        return "不是经办机构数据库（缺少本应用的数据表）"
    return None


def office_codes(path: Path, key: bytes | None = None) -> set[str]:
    """The office codes a database holds (empty if it cannot be read)."""
    file_key = key if _encrypted(path) else None
    try:
        connection = connect(path, file_key, query="mode=ro")
        try:
            return {r[0] for r in connection.execute("SELECT code FROM office")}
        finally:
            connection.close()
    except database_errors():
        return set()


def in_use(db_path: Path, key: bytes | None = None) -> bool:
    """Whether another connection has the database open (a running counter keeps one open).

    In WAL mode an exclusive lock cannot be had while any other connection is open, even idle.
    """
    connection = connect(db_path, key, timeout=0.5, new=key is not None)
    try:
        connection.isolation_level = None
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("ROLLBACK")
        return False
    except database_errors():
        return True
    finally:
        connection.close()


def _keep_aside(db_path: Path, moment: datetime, key: bytes | None = None) -> Path:
    """A consistent copy of the current database beside it (raw files if it cannot be read),
    with a copy of its key-slot file (``<aside>.keyslots``)."""
    aside = db_path.with_name(f"{db_path.name}.before-restore-{moment.strftime(STAMP)}")
    try:
        copy_database(db_path, aside, key)
        os.chmod(aside, FILE_MODE)
    except database_errors():
        aside.unlink(missing_ok=True)
        shutil.copy2(db_path, aside)
        wal = Path(f"{db_path}-wal")
        if wal.exists():
            shutil.copy2(wal, Path(f"{aside}-wal"))
    _copy_slots(db_path, aside)
    return aside


def restore(
    backup: Path,
    db_path: Path,
    now: datetime | None = None,
    *,
    key: bytes | None = None,
    backup_key: bytes | None = None,
) -> Path | None:
    """Put ``backup`` in place of ``db_path``; returns where the current database was kept.

    Every window must be closed first (the caller says so). Refuses (``BackupError``) a file that
    is not an intact office database, or one of another office. ``key``: the database key
    (needed when the current database is encrypted); ``backup_key``: the backup's, when it is
    not the same (a backup from before ``db rekey``, opened by its own slot file). An encrypted
    backup's slot file replaces the current one (which is kept aside with the current database).
    """
    from counter_app.storage.keyslots import slot_file_path

    moment = now or datetime.now(UTC)
    backup_key = backup_key or key
    problem = check_file(backup, backup_key)
    if problem:
        raise BackupError(f"备份文件 {backup} 不能用于恢复：{problem}")
    aside = None
    if db_path.exists():
        if key is None and _encrypted(db_path):
            raise BackupError(f"数据库 {db_path} 已加密：须经办人登录（或输入恢复密钥）后才能恢复")
        mine, theirs = office_codes(db_path, key), office_codes(backup, backup_key)
        if mine and theirs and not mine & theirs:
            raise BackupError(
                f"备份属于经办机构 {'、'.join(sorted(theirs))}，"
                f"与本数据库的 {'、'.join(sorted(mine))} 不符，未恢复"
            )
        if in_use(db_path, key if _encrypted(db_path) else None):
            raise BackupError(
                "数据库正被使用（还有窗口开着程序，或正在同步）：请先关闭本机构所有窗口的程序，再恢复"
            )
        aside = _keep_aside(db_path, moment, key if _encrypted(db_path) else None)
        # Empty the WAL into the file, then drop it: an old WAL must never meet the new file.
        with contextlib.suppress(*database_errors()):
            connection = connect(db_path, key if _encrypted(db_path) else None)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
    db_path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)  # a new PC
    part = db_path.with_name(f".{db_path.name}.restore{PART}")
    part.unlink(missing_ok=True)
    shutil.copyfile(backup, part)
    os.chmod(part, FILE_MODE)
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    slots = slot_file_path(db_path)
    if _encrypted(backup):
        # The backup opens with the slots taken with it (else the current ones: the key that
        # opened it for the check is theirs).
        _copy_slots(backup, db_path)
    else:
        slots.unlink(missing_ok=True)  # a plain database has no slots (kept aside above)
    for side in ("-wal", "-shm"):
        Path(f"{db_path}{side}").unlink(missing_ok=True)
    os.replace(part, db_path)
    _fsync_dir(db_path.parent)
    return aside


# -- PostgreSQL ---------------------------------------------------------------------------------


def pg_dump_plan(url: str, place: Path, now: datetime | None = None) -> tuple[list[str], dict]:
    """The ``pg_dump`` command (custom format) for a PostgreSQL office database, and the
    environment it needs (the password travels in ``PGPASSWORD``, never on the command line)."""
    from sqlalchemy.engine import URL, make_url

    parsed = make_url(url)
    moment = now or datetime.now(UTC)
    target = place / f"{parsed.database or 'counter'}-{moment.strftime(STAMP)}.dump"
    plain = URL.create(
        "postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database
    )
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    command = [
        "pg_dump",
        "--format=custom",
        f"--file={target}",
        f"--dbname={plain.render_as_string(hide_password=False)}",
    ]
    return command, env


def pg_backup(url: str, place: Path, now: datetime | None = None) -> Path:
    """Run ``pg_dump``; ``BackupError`` says what to run when it is not installed or fails."""
    import subprocess

    command, env = pg_dump_plan(url, place, now)
    shown = " ".join(command)
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "本机没有 pg_dump：请在数据库服务器上（或安装 PostgreSQL 客户端后）运行\n"
            f"  {shown}\n（密码用环境变量 PGPASSWORD 或 ~/.pgpass 提供）"
        )
    place.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    target = Path(command[2].removeprefix("--file="))
    part = target.with_name(f".{target.name}{PART}")
    command[2] = f"--file={part}"
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        part.unlink(missing_ok=True)
        raise BackupError(f"pg_dump 失败：{done.stderr.strip()[:300]}")
    os.replace(part, target)
    return target
