"""Backups of an encrypted office database (SQLCipher): encrypted with the same key, with the key
slots beside them, checked with the key, restored with their slots; a killed backup harms none.

Real SQLCipher files throughout (no mocks); the killed backup is a real subprocess killed with
SIGKILL midway; the commands run in real subprocesses with the password typed at the prompt.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

import counter_app
from counter_app.storage import backup, keyslots
from counter_app.storage.backup import BackupError, backup_now, check_file, list_backups
from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.encryption import create_encrypted, file_state
from counter_app.storage.keyslots import slot_file_path
from counter_app.storage.models import AuditLog, OutboxEvent
from tests.support.province import add_events

SOURCE_ROOT = Path(counter_app.__file__).resolve().parents[1]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OFFICE = "340202"


@pytest.fixture(autouse=True)
def _cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at a test cost (the cost is stored in each slot, so subprocesses agree)."""
    monkeypatch.setattr(keyslots, "DEFAULT_COST", keyslots.KdfCost(1, 1024, 1))


def encrypted_office(path: Path, events: int = 0) -> Database:
    """An encrypted office (supervisor ``boss``, clerk ``li``) with ``events`` outbox events."""
    db, _ = create_encrypted(path, "boss", "boss-pass-1")
    ensure_office(db, OFFICE, "测试经办机构", "wuhu", "340200")
    add_clerk(db, OFFICE, "boss", "王科长", "boss-pass-1", "supervisor")
    add_clerk(db, OFFICE, "li", "李经办", "li-pass-01")
    signed = sign_in(db, "li", "li-pass-01")
    assert signed is not None
    if events:
        add_events(db, signed, events)
    return db


def events_in(path: Path, username: str = "li", password: str = "li-pass-01") -> int:
    """Open ``path`` as the counter does (locked, then a clerk signs in) and count its events."""
    db = Database.open(path, migrate=False)
    try:
        assert db.locked
        assert sign_in(db, username, password) is not None
        with db.read() as session:
            return session.exec(select(func.count()).select_from(OutboxEvent)).one()
    finally:
        db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_restore_round_trip_of_an_encrypted_database(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db = encrypted_office(path, events=5)
    key = db.key
    assert key is not None
    # Without the key nothing can be backed up (and no empty file is left).
    with pytest.raises(BackupError, match="已加密"):
        backup_now(path, [tmp_path / "usb"], keep_days=14, now=T0)
    outcome = backup_now(path, [tmp_path / "usb"], keep_days=14, now=T0, key=key)
    assert outcome.ok and not outcome.failed
    file = outcome.written[0]
    # Encrypted with the same key: no SQLite header, plain sqlite3 cannot read it.
    assert not file.read_bytes().startswith(b"SQLite format 3\x00")
    assert file_state(file) == "encrypted"
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(file).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    assert not Path(f"{file}-wal").exists()
    # The slot file beside it: the backup opens with the clerks' passwords on its own.
    assert slot_file_path(file).read_bytes() == slot_file_path(path).read_bytes()
    assert oct(slot_file_path(file).stat().st_mode & 0o777) == "0o600"
    assert events_in(file) == 5
    # Checked with the key; without it, a Chinese answer that a sign-in is needed.
    assert check_file(file, key) is None
    assert "已加密" in (check_file(file) or "") and "登录" in (check_file(file) or "")
    assert "密钥打不开" in (check_file(file, keyslots.new_database_key()) or "")

    add_events(db, sign_in(db, "li", "li-pass-01"), 3, start=6)  # type: ignore[arg-type]
    with pytest.raises(BackupError, match="正被使用"):  # the counter still has it open
        backup.restore(file, path, key=key)
    db.close()
    with pytest.raises(BackupError, match="已加密"):
        backup.restore(file, path)  # the current database cannot even be kept aside unkeyed
    aside = backup.restore(file, path, T0 + timedelta(hours=2), key=key)
    assert aside is not None and file_state(aside) == "encrypted"
    assert events_in(aside) == 8  # the current database, kept aside encrypted with its slots
    assert slot_file_path(aside).exists()
    # The restored database opens when a clerk signs in, and holds what the backup held.
    assert events_in(path) == 5
    assert events_in(path, "boss", "boss-pass-1") == 5
    assert check_file(path, key) is None


def test_restore_brings_back_the_slot_file_of_the_backup(tmp_path: Path) -> None:
    """A clerk added after the backup has no slot in it; one disabled since is back."""
    path = tmp_path / "office.db"
    db = encrypted_office(path, events=1)
    key = db.key
    file = backup_now(path, [tmp_path / "usb"], keep_days=14, now=T0, key=key).written[0]
    add_clerk(db, OFFICE, "zhao", "赵经办", "zhao-pass-1")
    db.close()
    assert events_in(path, "zhao", "zhao-pass-1") == 1
    slot_file_path(path).write_text("damaged")  # the PC's slot file lost with the disk
    backup.restore(file, path, T0 + timedelta(hours=1), key=key)
    assert events_in(path, "li", "li-pass-01") == 1
    restored = Database.open(path, migrate=False)
    assert sign_in(restored, "zhao", "zhao-pass-1") is None  # not a clerk in the backup
    restored.close()
    # A plain file with no header problems is still checked without a key.
    assert "不是 SQLite" in (check_file(slot_file_path(path)) or "")


KILLED_BACKUP = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from counter_app.storage.backup import backup_to
def slow(status, remaining, total):
    print("step", remaining, flush=True)
    time.sleep(0.2)
backup_to(Path(sys.argv[1]), Path(sys.argv[2]), datetime(2026, 11, 24, tzinfo=UTC),
          key=bytes.fromhex(sys.argv[3]), pages=1, progress=slow)
print("finished", flush=True)
"""


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_an_encrypted_backup_killed_midway_leaves_earlier_backups_intact(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db = encrypted_office(path, events=200)
    key = db.key
    assert key is not None
    place = tmp_path / "backups"
    earlier = backup_now(path, [place], keep_days=14, now=T0, key=key).written[0]
    before = digest(earlier), digest(slot_file_path(earlier))
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_BACKUP, str(path), str(place), key.hex()],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for _ in range(3):  # a few pages copied: the backup is under way
        assert process.stdout.readline().startswith("step")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    parts = list(place.glob(".*.part*"))
    finished = [p for p in place.glob("*20261124*") if not p.name.startswith(".")]
    assert parts and not finished  # neither a backup nor its slot file
    assert [b.path for b in list_backups(path, [place])] == [earlier]
    assert (digest(earlier), digest(slot_file_path(earlier))) == before
    assert check_file(earlier, key) is None
    assert events_in(earlier) == 200
    # A later run finishes normally and clears the remains once they are stale.
    for part in parts:
        os.utime(part, (time.time() - 3600, time.time() - 3600))
    later = backup_now(path, [place], keep_days=14, now=T0 + timedelta(hours=1), key=key)
    assert later.ok and set(parts) <= set(later.removed)
    assert not list(place.glob(".*"))
    assert len(list_backups(path, [place])) == 2
    # Rotation removes a backup's slot file with it.
    backup.rotate(path, place, keep_days=0, now=T0 + timedelta(days=3))
    assert sorted(p.name for p in place.iterdir()) == [
        "office-20261123-100000.backup.db",
        "office-20261123-100000.backup.db.keyslots",
    ]
    db.close()


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_commands_back_up_verify_and_restore_after_a_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    encrypted_office(path, events=2).close()
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "COUNTER_DB": str(path),
        "COUNTER_CONFIG": str(tmp_path / "config.toml"),
        "COUNTER_BACKUP__PLACES": f'["{tmp_path / "usb"}"]',
    }

    def cli(*args: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "counter_app", *args],
            env=env,
            input=typed,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = cli("backup", "now", typed="li\nwrong-pass\n")
    assert refused.returncode == 2 and "未打开" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "usb").exists()
    made = cli("backup", "now", typed="li\nli-pass-01\n")
    assert made.returncode == 0, made.stderr
    file = next((tmp_path / "usb").glob("*.backup.db"))
    assert file_state(file) == "encrypted" and slot_file_path(file).exists()
    checked = cli("backup", "verify", typed="li\nli-pass-01\n")
    assert checked.returncode == 0, checked.stderr
    assert f"OK {file}" in checked.stdout
    done = cli("backup", "restore", str(file), "--yes", typed="boss\nboss-pass-1\n")
    assert done.returncode == 0, done.stderr
    assert "原数据库另存为" in done.stdout
    assert file_state(path) == "encrypted"
    db = Database.open(path)
    assert sign_in(db, "li", "li-pass-01") is not None
    with db.read() as session:
        assert "backup_restore" in session.exec(select(AuditLog.action)).all()
    db.close()
    # doctor: encryption reported; integrity read once unlocked.
    locked = cli("doctor")
    assert "✘ 数据库完整性" not in locked.stdout and "OK 数据库加密：已加密" in locked.stdout
    unlocked = cli("doctor", "--unlock", typed="li\nli-pass-01\n")
    assert "OK 数据库完整性：完整" in unlocked.stdout, unlocked.stdout
    assert "OK 数据结构版本" in unlocked.stdout


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_restore_onto_a_new_pc_opens_the_backup_with_its_own_slots(tmp_path: Path) -> None:
    """The PC's disk died with the database and its slots: the USB stick's backup is restored
    with the recovery key (or a clerk's password) through the slot file taken with it."""
    old_pc = tmp_path / "old" / "office.db"
    db, recovery = create_encrypted(old_pc, "boss", "boss-pass-1")
    ensure_office(db, OFFICE, "测试经办机构", "wuhu", "340200")
    add_clerk(db, OFFICE, "boss", "王科长", "boss-pass-1", "supervisor")
    file = backup_now(old_pc, [tmp_path / "usb"], keep_days=14, now=T0, key=db.key).written[0]
    db.close()
    new_pc = tmp_path / "new" / "office.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "COUNTER_DB": str(new_pc),
        "COUNTER_CONFIG": str(tmp_path / "config.toml"),
    }

    def restore_typing(typed: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "counter_app", "backup", "restore", str(file), "--yes"],
            env=env,
            input=typed,
            capture_output=True,
            text=True,
            timeout=120,
        )

    wrong = restore_typing("recovery\nAAAA-BBBB\n")
    assert wrong.returncode == 2 and "恢复密钥不正确" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not new_pc.exists()
    done = restore_typing(f"recovery\n{recovery}\n")
    assert done.returncode == 0, done.stderr
    assert file_state(new_pc) == "encrypted" and slot_file_path(new_pc).exists()
    restored = Database.open(new_pc)
    assert sign_in(restored, "boss", "boss-pass-1") is not None
    restored.close()


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_a_backup_from_before_a_rekey_is_restored_with_its_own_slots(tmp_path: Path) -> None:
    from counter_app.storage.encryption import rekey_database

    path = tmp_path / "office.db"
    db = encrypted_office(path, events=3)
    file = backup_now(path, [tmp_path / "usb"], keep_days=14, now=T0, key=db.key).written[0]
    old = db.key
    rekey_database(db)
    assert db.key != old
    assert "密钥打不开" in (check_file(file, db.key) or "")
    add_events(db, sign_in(db, "li", "li-pass-01"), 2, start=4)  # type: ignore[arg-type]
    db.close()
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "COUNTER_DB": str(path),
        "COUNTER_CONFIG": str(tmp_path / "config.toml"),
    }
    # The current database's password, then the backup's (the same clerk, the same password).
    done = subprocess.run(
        [sys.executable, "-m", "counter_app", "backup", "restore", str(file), "--yes"],
        env=env,
        input="boss\nboss-pass-1\nli\nli-pass-01\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "备份已加密" in done.stdout
    assert events_in(path) == 3  # the backup, opened by the slots taken with it
    aside = next(tmp_path.glob("office.db.before-restore-*[0-9]"))
    assert events_in(aside) == 5  # the re-keyed database, kept aside with its own slots


def test_a_plain_database_is_backed_up_plain_even_when_a_key_is_passed(tmp_path: Path) -> None:
    from tests.support.province import make_office

    db, _ = make_office(tmp_path / "office.db")
    outcome = backup_now(
        tmp_path / "office.db", [tmp_path / "usb"], 14, T0, key=keyslots.new_database_key()
    )
    assert outcome.ok and not outcome.failed
    file = outcome.written[0]
    assert file_state(file) == "plain" and not slot_file_path(file).exists()
    assert check_file(file) is None
    db.close()
