"""Backups of the office database: online, checked, atomic, rotated; restore refuses bad files.

Real SQLite files throughout; the killed backup is a real subprocess killed with SIGKILL midway.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

import counter_app
from counter_app.storage import backup
from counter_app.storage.backup import BackupError, backup_now, check_file, list_backups
from counter_app.storage.models import AuditLog, OutboxEvent
from tests.support.province import add_events, make_office

SOURCE_ROOT = Path(counter_app.__file__).resolve().parents[1]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def events_in(path: Path) -> int:
    from counter_app.storage.db import Database

    db = Database.open(path, migrate=False)
    try:
        with db.read() as session:
            return session.exec(select(func.count()).select_from(OutboxEvent)).one()
    finally:
        db.close()


def test_a_backup_is_taken_online_checked_and_self_contained(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 5)
    outcome = backup_now(db.path, [tmp_path / "a", tmp_path / "b"], keep_days=14, now=T0)
    assert outcome.ok and not outcome.failed and len(outcome.written) == 2
    add_events(db, signed, 1, start=6)  # the database keeps working after the backup
    for path in outcome.written:
        assert path.name == "office-20261123-090000.backup.db"
        assert check_file(path) is None
        assert not Path(f"{path}-wal").exists()  # one file: a copy to a USB stick is complete
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert events_in(path) == 5
    assert backup.newest(db.path, [tmp_path / "a"]).taken_at == T0  # type: ignore[union-attr]


def test_an_unreachable_place_does_not_stop_the_others(tmp_path: Path) -> None:
    db, _ = make_office(tmp_path / "office.db")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where a folder should be")
    outcome = backup_now(db.path, [blocked, tmp_path / "ok"], keep_days=14, now=T0)
    assert [p.parent for p in outcome.written] == [tmp_path / "ok"]
    assert outcome.failed and outcome.failed[0][0] == blocked
    assert any("未能备份到" in line for line in outcome.lines())


def test_rotation_keeps_n_days_and_always_the_newest(tmp_path: Path) -> None:
    db, _ = make_office(tmp_path / "office.db")
    place = tmp_path / "backups"
    for days in (20, 10, 3, 0):
        backup_now(db.path, [place], keep_days=7, now=T0 - timedelta(days=days))
    kept = sorted(b.taken_at for b in list_backups(db.path, [place]))
    assert kept == [T0 - timedelta(days=3), T0]
    # Only old backups left (a PC off for a month): the newest one stays.
    backup.rotate(db.path, place, keep_days=1, now=T0 + timedelta(days=60))
    assert [b.taken_at for b in list_backups(db.path, [place])] == [T0]


def test_age_is_warned_after_a_day(tmp_path: Path) -> None:
    assert backup.age_text(None) == "⚠从未备份"
    found = backup.BackupFile(tmp_path / "x", T0, 1)
    assert backup.age_text(found, T0 + timedelta(hours=3)) == "备份3小时前"
    assert backup.age_text(found, T0 + timedelta(days=2)) == "⚠备份2天前"
    assert not backup.stale(found, T0 + timedelta(hours=23))
    assert backup.stale(found, T0 + timedelta(hours=25))


KILLED_BACKUP = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from counter_app.storage.backup import backup_to
def slow(status, remaining, total):
    print("step", remaining, flush=True)
    time.sleep(0.2)
backup_to(Path(sys.argv[1]), Path(sys.argv[2]), datetime(2026, 11, 24, tzinfo=UTC),
          pages=1, progress=slow)
print("finished", flush=True)
"""


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_a_backup_killed_midway_leaves_earlier_backups_intact(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 200)
    place = tmp_path / "backups"
    earlier = backup_now(db.path, [place], keep_days=14, now=T0).written[0]
    before = digest(earlier)
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_BACKUP, str(db.path), str(place)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for _ in range(3):  # a few pages copied: the backup is under way
        assert process.stdout.readline().startswith("step")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    parts = list(place.glob(".*.part*"))  # the half-written copy (and its journal, if any)
    assert parts and not list(place.glob("*20261124*.backup.db"))
    assert [b.path for b in list_backups(db.path, [place])] == [earlier]  # not listed as a backup
    assert digest(earlier) == before and check_file(earlier) is None
    assert events_in(earlier) == 200
    # A later run finishes normally and clears the remains once they are stale.
    for part in parts:
        os.utime(part, (time.time() - 3600, time.time() - 3600))
    later = backup_now(db.path, [place], keep_days=14, now=T0 + timedelta(hours=1))
    assert later.ok and set(parts) <= set(later.removed)
    assert not list(place.glob(".*"))
    assert len(list_backups(db.path, [place])) == 2


def test_check_file_refuses_what_is_not_an_intact_office_database(tmp_path: Path) -> None:
    db, _ = make_office(tmp_path / "office.db")
    good = backup_now(db.path, [tmp_path / "b"], keep_days=14, now=T0).written[0]
    assert check_file(good) is None
    text = tmp_path / "notes.db"
    text.write_text("not a database")
    assert "不是 SQLite" in (check_file(text) or "")
    damaged = tmp_path / "damaged.db"
    data = bytearray(good.read_bytes())
    page = 4096
    data[page * 2 : page * 2 + 200] = b"\xff" * 200  # scribble over a b-tree page
    damaged.write_bytes(bytes(data))
    assert check_file(damaged) is not None
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert "不是经办机构数据库" in (check_file(other) or "")


def test_restore_refuses_a_corrupt_file_and_keeps_the_database(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 3)
    db.close()
    before = events_in(tmp_path / "office.db")
    bad = tmp_path / "bad.backup.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 5000)
    with pytest.raises(BackupError, match="不能用于恢复"):
        backup.restore(bad, tmp_path / "office.db")
    assert events_in(tmp_path / "office.db") == before
    assert not list(tmp_path.glob("office.db.before-restore-*"))


def test_restore_refuses_another_offices_backup(tmp_path: Path) -> None:
    mine, _ = make_office(tmp_path / "office.db")
    theirs, _ = make_office(tmp_path / "other.db", code="340203")
    file = backup_now(theirs.path, [tmp_path / "b"], keep_days=14, now=T0).written[0]
    with pytest.raises(BackupError, match="340203"):
        backup.restore(file, mine.path)


def test_restore_keeps_the_current_database_aside(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 3)
    file = backup_now(db.path, [tmp_path / "b"], keep_days=14, now=T0).written[0]
    add_events(db, signed, 4, start=4)  # in the WAL and the file: kept aside, not lost
    with pytest.raises(BackupError, match="正被使用"):  # the counter still has it open
        backup.restore(file, tmp_path / "office.db")
    assert events_in(tmp_path / "office.db") == 7
    db.close()
    aside = backup.restore(file, tmp_path / "office.db", now=T0 + timedelta(hours=2))
    assert aside is not None and aside.name == "office.db.before-restore-20261123-110000"
    assert events_in(aside) == 7
    assert events_in(tmp_path / "office.db") == 3
    assert check_file(tmp_path / "office.db") is None


def test_pg_dump_plan_keeps_the_password_off_the_command_line(tmp_path: Path) -> None:
    command, env = backup.pg_dump_plan(
        "postgresql+psycopg://office:s3cret@db.example:5432/counter", tmp_path, T0
    )
    assert command[0] == "pg_dump" and "--format=custom" in command
    assert all("s3cret" not in part for part in command)
    assert "postgresql://office@db.example:5432/counter" in command[-1]
    assert env == {"PGPASSWORD": "s3cret"}


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_restored_database_gets_an_audit_entry_through_the_command(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 2)
    db.close()
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "COUNTER_DB": str(tmp_path / "office.db"),
        "COUNTER_CONFIG": str(tmp_path / "config.toml"),
        "COUNTER_BACKUP__PLACES": f'["{tmp_path / "usb"}"]',
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "counter_app", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = cli("backup", "now")
    assert made.returncode == 0, made.stderr
    assert "已备份到" in made.stdout
    listed = cli("backup", "list")
    assert "共 1 份" in listed.stdout and "备份刚刚" in listed.stdout
    assert cli("backup", "verify").returncode == 0
    file = next((tmp_path / "usb").glob("*.backup.db"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"junk")
    refused = cli("backup", "restore", str(junk), "--yes")
    assert refused.returncode == 2 and "不能用于恢复" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = cli("backup", "restore", str(file), "--yes")
    assert done.returncode == 0, done.stderr
    assert "原数据库另存为" in done.stdout and "sync recover" in done.stdout
    from counter_app.storage.db import Database

    reopened = Database.open(tmp_path / "office.db")
    with reopened.read() as session:
        actions = session.exec(select(AuditLog.action)).all()
    assert "backup_restore" in actions


def test_the_day_report_line_warns_when_the_newest_backup_is_older_than_a_day(
    tmp_path: Path,
) -> None:
    from counter_app.settings import CHINA_TIME

    db, _ = make_office(tmp_path / "office.db")
    place = tmp_path / "usb"
    assert backup.report_line(db.path, [place], CHINA_TIME).startswith("⚠ 备份：从未备份")
    backup_now(db.path, [place], keep_days=14, now=T0)
    fresh = backup.report_line(db.path, [place], CHINA_TIME, T0 + timedelta(hours=5))
    assert fresh == f"备份：最新备份 2026-11-23 17:00（5小时前），{place}"
    old = backup.report_line(db.path, [place], CHINA_TIME, T0 + timedelta(days=2))
    assert old.startswith("⚠ 备份：最新备份 2026-11-23 17:00（2天前），已超过一天")
