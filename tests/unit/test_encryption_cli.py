"""``counter-app db encrypt`` and ``db rekey``, and other commands on an encrypted database
(a clerk's password, or the recovery key, at the prompt; a wrong one is a Chinese message)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from counter_app.cli import app
from counter_app.storage import keyslots
from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.encryption import file_state, slot_names


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plain office database with a supervisor ``boss`` and a clerk ``li``."""
    monkeypatch.setattr(keyslots, "DEFAULT_COST", keyslots.KdfCost(1, 1024, 1))
    path = tmp_path / "office.db"
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(path))
    db = Database.open(path)
    ensure_office(db, "320102", "玄武区医保中心", "jiangsu", "320100")
    add_clerk(db, "320102", "boss", "王科长", "boss-pass-1", "supervisor")
    add_clerk(db, "320102", "li", "李经办", "li-pass-01")
    db.close()
    return path


def test_encrypt_then_commands_ask_for_a_password(office: Path) -> None:
    runner = CliRunner()
    wrong = runner.invoke(app, ["db", "encrypt", "--username", "boss"], input="nope-nope\n")
    assert wrong.exit_code == 2 and "用户名或密码不正确" in wrong.output
    assert file_state(office) == "plain"

    done = runner.invoke(app, ["db", "encrypt", "--username", "boss"], input="boss-pass-1\n")
    assert done.exit_code == 0, done.output
    assert file_state(office) == "encrypted"
    recovery = re.search(r"恢复密钥.*：([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})", done.output)
    assert recovery is not None
    assert file_state(office.with_name("office.db.before-encrypt")) == "plain"

    # Another command: the wrong password ends it cleanly, no traceback, nothing changed.
    refused = runner.invoke(app, ["office", "set", "--phone", "025-1"], input="boss\nwrong-pass\n")
    assert refused.exit_code == 2
    assert "未打开" in refused.output and "Traceback" not in refused.output
    # The recovery key opens it for a command too.
    ok = runner.invoke(
        app, ["office", "set", "--phone", "025-84000000"], input=f"recovery\n{recovery[1]}\n"
    )
    assert ok.exit_code == 0, ok.output
    assert "025-84000000" in ok.output

    # A clerk added on the encrypted database gets a slot right away.
    added = runner.invoke(
        app,
        ["clerk", "add", "--username", "zhao", "--name", "赵经办", "--office", "320102"],
        input="zhao-pass-1\nzhao-pass-1\nboss\nboss-pass-1\n",
    )
    assert added.exit_code == 0, added.output
    assert "zhao" in slot_names(office)
    assert sign_in(Database.open(office), "zhao", "zhao-pass-1") is not None


def test_rekey_command(office: Path) -> None:
    runner = CliRunner()
    encrypted = runner.invoke(app, ["db", "encrypt", "--username", "boss"], input="boss-pass-1\n")
    assert encrypted.exit_code == 0, encrypted.output
    db = Database.open(office)
    assert sign_in(db, "boss", "boss-pass-1") is not None
    old = db.key
    db.close()
    result = runner.invoke(app, ["db", "rekey", "--new-recovery"], input="boss\nboss-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "新的恢复密钥" in result.output
    db = Database.open(office)
    assert sign_in(db, "boss", "boss-pass-1") is not None
    assert db.key != old


def test_rekey_of_a_plain_database_is_refused(office: Path) -> None:
    result = CliRunner().invoke(app, ["db", "rekey"])
    assert result.exit_code == 2
    assert "没有加密" in result.output
