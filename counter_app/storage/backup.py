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

from counter_app.private_files import DIR_MODE, FILE_MODE

#: ``<database stem>-<UTC yyyymmdd-HHMMSS>.backup.db``
SUFFIX = ".backup.db"
PART = ".part"
STAMP = "%Y%m%d-%H%M%S"
#: A ``.part`` file older than this is the remains of a killed backup.
STALE_PART = timedelta(minutes=30)
#: Newest backup older than this: the header and the day report warn.
WARN_AGE = timedelta(days=1)


class BackupError(Exception):
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


def _integrity(connection: sqlite3.Connection) -> str | None:
    """``None`` when the database is intact, else SQLite's first complaint."""
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    first = str(rows[0][0]) if rows else "no answer"
    return None if first == "ok" else first


def backup_to(
    db_path: Path,
    place: Path,
    now: datetime | None = None,
    *,
    pages: int = -1,
    progress: Callable[[int, int, int], object] | None = None,
) -> Path:
    """One backup of ``db_path`` into folder ``place``; returns the finished file.

    ``pages``/``progress`` are passed to SQLite's backup API (``-1``: all pages in one step).
    """
    taken_at = now or datetime.now(UTC)
    place.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    final = place / backup_name(db_path, taken_at)
    part = place / f".{final.name}{PART}"
    part.unlink(missing_ok=True)
    source = sqlite3.connect(db_path, timeout=15)
    try:
        fd = os.open(part, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE)
        os.close(fd)
        target = sqlite3.connect(part)
        try:
            source.backup(target, pages=pages, progress=progress)
            # A self-contained file: no -wal beside a backup, readable on its own.
            target.execute("PRAGMA journal_mode=DELETE")
            problem = _integrity(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"读取数据库失败（{exc}）") from None
    finally:
        source.close()
    if problem:
        part.unlink(missing_ok=True)
        raise BackupError(f"备份副本未通过完整性检查（{problem}），数据库本身可能已损坏")
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, final)
    _fsync_dir(place)
    return final


def rotate(db_path: Path, place: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Remove backups older than ``keep_days`` (never the newest) and stale ``.part`` files."""
    moment = now or datetime.now(UTC)
    removed: list[Path] = []
    found = sorted(files_in(db_path, place), key=lambda b: b.taken_at, reverse=True)
    for backup in found[1:]:
        if moment - backup.taken_at > timedelta(days=keep_days):
            backup.path.unlink(missing_ok=True)
            removed.append(backup.path)
    for part in place.glob(f".{db_path.stem}-*{SUFFIX}{PART}*"):
        with contextlib.suppress(OSError):
            age = datetime.now(UTC) - datetime.fromtimestamp(part.stat().st_mtime, UTC)
            if age > STALE_PART:
                part.unlink()
                removed.append(part)
    return removed


def backup_now(
    db_path: Path, places: Iterable[Path], keep_days: int, now: datetime | None = None
) -> BackupOutcome:
    """Back up to every place (a place that fails does not stop the others), then rotate."""
    outcome = BackupOutcome()
    moment = now or datetime.now(UTC)
    if not db_path.exists():
        raise BackupError(f"数据库文件不存在：{db_path}")
    for place in places:
        try:
            outcome.written.append(backup_to(db_path, place, moment))
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


def check_file(path: Path) -> str | None:
    """``None`` when ``path`` is an intact office database, else what is wrong (Chinese)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"无法读取（{exc.strerror or exc}）"
    if header != SQLITE_HEADER:
        return "不是 SQLite 数据库文件（或已加密、已损坏）"
    try:
        # immutable: read as it is, without creating -wal/-shm files beside a backup.
        connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            problem = _integrity(connection)
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"数据库已损坏（{exc}）"
    if problem:
        return f"完整性检查未通过（{problem}）"
    if not {"office", "outbox_event", "alembic_version"} <= tables:
        return "不是经办机构数据库（缺少本应用的数据表）"
    return None


def office_codes(path: Path) -> set[str]:
    """The office codes a database holds (empty if it cannot be read)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {r[0] for r in connection.execute("SELECT code FROM office")}
        finally:
            connection.close()
    except sqlite3.Error:
        return set()


def in_use(db_path: Path) -> bool:
    """Whether another connection has the database open (a running counter keeps one open).

    In WAL mode an exclusive lock cannot be had while any other connection is open, even idle.
    """
    connection = sqlite3.connect(db_path, timeout=0.5, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def _keep_aside(db_path: Path, moment: datetime) -> Path:
    """A consistent copy of the current database beside it (raw files if it cannot be read)."""
    aside = db_path.with_name(f"{db_path.name}.before-restore-{moment.strftime(STAMP)}")
    try:
        source = sqlite3.connect(db_path, timeout=15)
        try:
            target = sqlite3.connect(aside)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            source.close()
        os.chmod(aside, FILE_MODE)
    except sqlite3.Error:
        aside.unlink(missing_ok=True)
        shutil.copy2(db_path, aside)
        wal = Path(f"{db_path}-wal")
        if wal.exists():
            shutil.copy2(wal, Path(f"{aside}-wal"))
    return aside


def restore(backup: Path, db_path: Path, now: datetime | None = None) -> Path | None:
    """Put ``backup`` in place of ``db_path``; returns where the current database was kept.

    Every window must be closed first (the caller says so). Refuses (``BackupError``) a file that
    is not an intact office database, or one of another office.
    """
    moment = now or datetime.now(UTC)
    problem = check_file(backup)
    if problem:
        raise BackupError(f"备份文件 {backup} 不能用于恢复：{problem}")
    aside = None
    if db_path.exists():
        mine, theirs = office_codes(db_path), office_codes(backup)
        if mine and theirs and not mine & theirs:
            raise BackupError(
                f"备份属于经办机构 {'、'.join(sorted(theirs))}，"
                f"与本数据库的 {'、'.join(sorted(mine))} 不符，未恢复"
            )
        if in_use(db_path):
            raise BackupError(
                "数据库正被使用（还有窗口开着程序，或正在同步）：请先关闭本机构所有窗口的程序，再恢复"
            )
        aside = _keep_aside(db_path, moment)
        # Empty the WAL into the file, then drop it: an old WAL must never meet the new file.
        with contextlib.suppress(sqlite3.Error):
            connection = sqlite3.connect(db_path, timeout=15)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
    part = db_path.with_name(f".{db_path.name}.restore{PART}")
    part.unlink(missing_ok=True)
    shutil.copyfile(backup, part)
    os.chmod(part, FILE_MODE)
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
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
