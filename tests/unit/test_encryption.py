"""Encryption at rest: an SQLCipher office database whose key lives only wrapped in key slots.

Real SQLCipher files on disk: the file has no SQLite header and plain SQLite cannot read it; it
opens when a clerk signs in (their slot's password), or with the supervisor's recovery key; a
password change re-wraps the slot, disabling a clerk removes it; ``db encrypt`` converts a plain
office and ``db rekey`` changes the key; a wrong key is a Chinese message and leaves no new file.
"""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.storage import keyslots
from counter_app.storage.clerks import (
    AccountDisabled,
    ClerkError,
    add_clerk,
    disable_clerk,
    ensure_office,
    set_password,
    sign_in,
)
from counter_app.storage.db import Database
from counter_app.storage.encryption import (
    DatabaseLocked,
    EncryptionError,
    WrongKey,
    backup_to,
    create_encrypted,
    encrypt_database,
    file_state,
    rekey_database,
    slot_names,
    unlock_with_recovery,
)
from counter_app.storage.keyslots import KeySlots, slot_file_path
from counter_app.storage.models import AuditLog, Clerk, Office

OFFICE = "320102"


@pytest.fixture(autouse=True)
def _cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at a test cost (the real cost is stored per slot and checked below)."""
    monkeypatch.setattr(keyslots, "DEFAULT_COST", keyslots.KdfCost(1, 1024, 1))


def new_office(path: Path) -> tuple[Database, str]:
    """An encrypted office as set-up makes it: supervisor ``boss``, clerk ``li``."""
    db, recovery = create_encrypted(path, "boss", "boss-pass-1")
    ensure_office(db, OFFICE, "玄武区医保中心", "jiangsu", "320100")
    add_clerk(db, OFFICE, "boss", "王科长", "boss-pass-1", "supervisor")
    add_clerk(db, OFFICE, "li", "李经办", "li-pass-01")
    return db, recovery


def reopen(path: Path) -> Database:
    db = Database.open(path)
    assert db.locked
    return db


def office_names(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.exec(select(Office.name)))


def test_file_has_no_sqlite_header_and_plain_sqlite_cannot_read_it(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    key = db.key
    assert key is not None
    db.close()
    head = path.read_bytes()[:16]
    assert head != b"SQLite format 3\x00"
    assert file_state(path) == "encrypted"
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()
    # Personal data does not show through, and the slot file holds no key in clear.
    assert "玄武区医保中心".encode() not in path.read_bytes()
    slots_text = slot_file_path(path).read_bytes()
    assert key not in slots_text
    assert key.hex().encode() not in slots_text.lower()
    assert base64.b64encode(key) not in slots_text
    assert oct(slot_file_path(path).stat().st_mode & 0o777) == "0o600"


def test_locked_until_a_clerk_signs_in(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    new_office(path)[0].close()
    db = reopen(path)
    with pytest.raises(DatabaseLocked, match="已加密"):
        office_names(db)
    assert sign_in(db, "li", "wrong-password") is None
    assert sign_in(db, "nobody", "li-pass-01") is None
    assert db.locked
    signed = sign_in(db, "li", "li-pass-01")
    assert signed is not None and signed.username == "li"
    assert not db.locked
    assert office_names(db) == ["玄武区医保中心"]
    with db.read() as session:
        actions = [row.action for row in session.exec(select(AuditLog))]
    assert actions[-1] == "sign_in"


def test_a_wrong_password_while_open_still_counts(tmp_path: Path) -> None:
    """Once open, sign-in checks the database's hash and counts wrong passwords as before."""
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    assert sign_in(db, "li", "not-her-password") is None
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == "li")).one()
    assert clerk.failed_logins == 1


def test_password_change_rewraps_the_slot(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    set_password(db, "li", "li-new-pass", by_clerk_id=None)
    db.close()
    db = reopen(path)
    assert sign_in(db, "li", "li-pass-01") is None
    assert db.locked
    assert sign_in(db, "li", "li-new-pass") is not None


def test_disabled_clerk_no_longer_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    assert sorted(slot_names(path)) == ["boss", "li"]
    disable_clerk(db, "li", by_clerk_id=None)
    assert slot_names(path) == ["boss"]
    db.close()
    db = reopen(path)
    assert sign_in(db, "li", "li-pass-01") is None
    assert db.locked
    assert sign_in(db, "boss", "boss-pass-1") is not None
    # Open now, the database itself refuses the disabled clerk too (and says why).
    with pytest.raises(AccountDisabled):
        sign_in(db, "li", "li-pass-01")


def test_recovery_key_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, recovery = new_office(path)
    db.close()
    assert len(recovery.split("-")) == 8
    db = reopen(path)
    with pytest.raises(EncryptionError, match="恢复密钥不正确"):
        unlock_with_recovery(db, keyslots.new_recovery_key())
    assert db.locked
    # Typed in lower case and with spaces instead of dashes, as people do.
    unlock_with_recovery(db, recovery.lower().replace("-", " "))
    assert office_names(db) == ["玄武区医保中心"]
    # The supervisor then sets a forgotten password; it opens the database again.
    set_password(db, "boss", "boss-pass-2", by_clerk_id=None)
    db.close()
    assert sign_in(reopen(path), "boss", "boss-pass-2") is not None


def test_wrong_key_is_chinese_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    db.close()
    before = path.read_bytes()
    with pytest.raises(WrongKey, match="密钥不能打开数据库"):
        Database.open(path, key=b"\x01" * 32)
    assert path.read_bytes() == before
    # A slot file whose database is gone: no new empty database instead.
    moved = tmp_path / "moved.db"
    path.rename(moved)
    with pytest.raises(EncryptionError, match="不会新建空数据库"):
        Database.open(path)
    assert not path.exists()
    # An encrypted file without its slots: a clear message, nothing read.
    slot_file_path(path).rename(tmp_path / "elsewhere.keyslots")
    db = Database.open(moved)
    assert db.locked
    with pytest.raises(ClerkError, match="找不到密钥槽文件"):
        sign_in(db, "li", "li-pass-01")


def test_slot_bound_to_its_name(tmp_path: Path) -> None:
    """A slot copied under another clerk's name does not open (associated data)."""
    path = tmp_path / "office.db"
    new_office(path)[0].close()
    slots = KeySlots.load(slot_file_path(path))
    li = next(s for s in slots.slots if s["name"] == "li")
    boss = next(s for s in slots.slots if s["name"] == "boss")
    boss.update({k: v for k, v in li.items() if k != "name"})
    with pytest.raises(keyslots.WrongSecret):
        slots.unlock("boss", "li-pass-01")


def test_real_cost_is_argon2id_default() -> None:
    slots = KeySlots.create(Path("unused"))
    slots.set("x", "password-1", b"\0" * 32, cost=keyslots.KdfCost())
    kdf = slots.slots[0]["kdf"]
    assert kdf == {**kdf, "name": "argon2id", "memory_cost": 65536, "time_cost": 3}
    assert slots.unlock("x", "password-1") == b"\0" * 32


def plain_office(path: Path) -> Database:
    db = Database.open(path)
    ensure_office(db, OFFICE, "玄武区医保中心", "jiangsu", "320100")
    add_clerk(db, OFFICE, "boss", "王科长", "boss-pass-1", "supervisor")
    add_clerk(db, OFFICE, "li", "李经办", "li-pass-01")
    return db


def test_encrypt_a_plain_database(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    plain_office(path).close()
    backup = tmp_path / "before.db"
    with pytest.raises(ClerkError, match="只有科长"):
        encrypt_database(path, "li", "li-pass-01", backup)
    with pytest.raises(ClerkError, match="用户名或密码不正确"):
        encrypt_database(path, "boss", "wrong-pass", backup)
    assert file_state(path) == "plain"
    done = encrypt_database(path, "boss", "boss-pass-1", backup)
    assert file_state(path) == "encrypted"
    assert file_state(backup) == "plain"  # the backup made first
    assert not path.with_name("office.db.encrypting").exists()
    db = reopen(path)
    # Only the supervisor has a slot so far; li gets one at a sign-in on an unlocked window.
    assert sign_in(db, "li", "li-pass-01") is None and db.locked
    assert sign_in(db, "boss", "boss-pass-1") is not None
    assert office_names(db) == ["玄武区医保中心"]
    assert sign_in(db, "li", "li-pass-01") is not None
    assert sorted(slot_names(path)) == ["boss", "li"]
    db.close()
    assert sign_in(reopen(path), "li", "li-pass-01") is not None
    unlock_with_recovery(reopen(path), done.recovery_key)
    with pytest.raises(EncryptionError, match="不是未加密"):
        encrypt_database(path, "boss", "boss-pass-1", backup)


def test_encrypt_refused_while_another_window_is_open(tmp_path: Path) -> None:
    """Another process (a window) reading the database: the conversion waits for it to close.

    A separate process, as in an office: POSIX locks are per process, so a second SQLite library
    in this process would not see this one's locks.
    """
    path = tmp_path / "office.db"
    plain_office(path).close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN'); c.execute('SELECT count(*) FROM office').fetchone()\n"
            "print('ready', flush=True); sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        with pytest.raises(EncryptionError, match="其他窗口"):
            encrypt_database(path, "boss", "boss-pass-1", tmp_path / "b.db")
    finally:
        reader.communicate("\n", timeout=30)
    assert file_state(path) == "plain"


def signed_in(path: Path, username: str, password: str) -> bool:
    """Whether ``password`` opens the database at ``path`` (closed again afterwards)."""
    db = reopen(path)
    try:
        return sign_in(db, username, password) is not None
    finally:
        db.close()


def recovered(path: Path, recovery: str) -> bool:
    db = reopen(path)
    try:
        unlock_with_recovery(db, recovery)
        return not db.locked
    except EncryptionError:
        return False
    finally:
        db.close()


def test_rekey_rewraps_every_slot(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, recovery = new_office(path)
    old = db.key
    assert old is not None
    assert rekey_database(db) is None
    assert db.key is not None and db.key != old
    assert office_names(db) == ["玄武区医保中心"]
    db.close()
    with pytest.raises(WrongKey):
        Database.open(path, key=old)
    assert signed_in(path, "li", "li-pass-01")
    assert signed_in(path, "boss", "boss-pass-1")
    assert recovered(path, recovery)
    # A new recovery key replaces the old one.
    db = reopen(path)
    sign_in(db, "boss", "boss-pass-1")
    fresh = rekey_database(db, new_recovery=True)
    db.close()
    assert fresh is not None and fresh != recovery
    assert not recovered(path, recovery)
    assert recovered(path, fresh)


def test_interrupted_rekey_finishes_at_next_sign_in(tmp_path: Path) -> None:
    """The file was re-keyed but the new slot file not yet renamed into place."""
    import sqlcipher3

    from counter_app.storage.encryption import key_pragma_value

    path = tmp_path / "office.db"
    db, _ = new_office(path)
    old = db.key
    assert old is not None
    db.close()
    slots = KeySlots.load(slot_file_path(path))
    new = keyslots.new_database_key()
    slots.rewrap(new)
    pending = slot_file_path(path).with_name("office.db.keyslots.new")
    slots.save(pending)
    conn = sqlcipher3.connect(str(path))
    conn.execute(f'PRAGMA key = "{key_pragma_value(old)}"')
    conn.execute(f'PRAGMA rekey = "{key_pragma_value(new)}"')
    conn.close()
    db = reopen(path)
    assert sign_in(db, "li", "li-pass-01") is not None
    assert db.key == new
    assert not pending.exists()
    assert sign_in(reopen(path), "boss", "boss-pass-1") is not None


def test_backup_is_encrypted_with_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    db, _ = new_office(path)
    copy = tmp_path / "backup.db"
    backup_to(db, copy)
    assert file_state(copy) == "encrypted"
    assert db.key is not None
    other = Database.open(copy, key=db.key, migrate=False)
    assert office_names(other) == ["玄武区医保中心"]


def test_create_refuses_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    plain_office(path).close()
    with pytest.raises(EncryptionError, match="已存在"):
        create_encrypted(path, "boss", "boss-pass-1")
    assert file_state(path) == "plain"


def test_create_replaces_the_empty_database_opened_before_set_up(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    Database.open(path).close()  # the app's start-up, before first-run set-up
    assert file_state(path) == "plain"
    db, _ = create_encrypted(path, "boss", "boss-pass-1")
    assert file_state(path) == "encrypted"
    assert office_names(db) == []


def test_sign_in_without_slot_file_is_a_clerk_message(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    new_office(path)[0].close()
    slot_file_path(path).unlink()
    with pytest.raises(ClerkError, match="找不到密钥槽文件"):
        sign_in(Database.open(path), "li", "li-pass-01")


def test_status_for_doctor(tmp_path: Path) -> None:
    from counter_app.storage.encryption import encryption_status

    path = tmp_path / "office.db"
    assert encryption_status(path).state == "new"
    plain_office(tmp_path / "plain.db").close()
    plain = encryption_status(tmp_path / "plain.db")
    assert not plain.ok and "db encrypt" in plain.message
    new_office(path)[0].close()
    status = encryption_status(path)
    assert status.ok and status.recovery and sorted(status.clerks) == ["boss", "li"]
    assert "已加密" in status.message
    slot_file_path(path).unlink()
    assert not encryption_status(path).ok
