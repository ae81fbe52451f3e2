"""``counter-app setup --from office.toml``: the set-up screens' checks and messages, no screen."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from counter_app.cli import app as cli
from counter_app.golive import example_values
from counter_app.office_setup import SetupError, check_office_code, find_offices
from counter_app.packs import load_pack
from counter_app.storage.clerks import sign_in
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk, Office
from tests.support.printing import pdf_text

PLAN = """
[office]
policy = "wuhu"
code = "340202"
name = "镜湖区医疗保障服务中心"
phone = "0553-1234567"
hours = "周一至周五 8:30-17:30"

[supervisor]
name = "王科长"
username = "wangke"
password = "secret-123"

[[printers]]
name = "A4 保存"
kind = "file"
address = "{prints}"
paper = "a4"
test = true

[[printers]]
name = "1号窗口小票机"
kind = "file"
address = "{prints}"
paper = "58"
hanzi = "gbk"
test = true
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new office's machine with encryption at rest turned off (``encryption = false``)."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "office.db"))
    (tmp_path / "config.toml").write_text("encryption = false\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def encrypting_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new office's machine with the default settings: encryption at rest on."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "office.db"))
    return tmp_path


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def test_setup_from_file_creates_office_supervisor_printers_and_pack(env: Path) -> None:
    plan = env / "office.toml"
    plan.write_text(PLAN.format(prints=env / "prints", backup=env / "b"), encoding="utf-8")
    result = _run("setup", "--from", str(plan))
    assert result.exit_code == 0, result.output
    assert "经办机构 340202 已登记" in result.output and "科长账户 wangke" in result.output
    # the test pages went through the real renderers: a PDF and a GBK receipt
    pages = sorted((env / "prints").iterdir())
    assert {p.suffix for p in pages} == {".pdf", ".bin"}
    receipt = next(p for p in pages if p.suffix == ".bin").read_bytes()
    assert "打印测试页".encode("gbk") in receipt
    page = pdf_text(next(p for p in pages if p.suffix == ".pdf"))
    assert "打印测试页" in page and "镜湖区医疗保障服务中心" in page and "￥12.50" in page
    db = Database.open(env / "office.db")
    with db.read() as session:
        office = session.exec(select(Office)).one()
        clerk = session.exec(select(Clerk)).one()
    assert (office.pool_code, office.phone, clerk.role) == ("340200", "0553-1234567", "supervisor")
    assert sign_in(db, "wangke", "secret-123") is not None
    config = env / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    assert settings["policy"] == "wuhu" and len(settings["printers"]) == 2
    pack = load_pack(settings["pack_file"])
    assert pack.pack.home_pool_code == "340200"
    assert len(example_values(pack)) == len(example_values(load_pack("wuhu")))
    assert "恢复密钥" not in result.output
    assert (env / "office.db").read_bytes()[:16] == b"SQLite format 3\x00"  # encryption = false
    # again: the office exists, the user name is taken — the screens' message
    again = _run("setup", "--from", str(plan))
    assert again.exit_code == 2 and "用户名 wangke 已被使用" in again.output


def test_setup_from_file_encrypts_a_real_office_and_prints_the_recovery_key_once(
    encrypting_env: Path,
) -> None:
    from counter_app.storage.encryption import (
        DatabaseLocked,
        slot_names,
        unlock_for_sign_in,
        unlock_with_recovery,
    )

    env = encrypting_env
    plan = env / "office.toml"
    # a top-level key comes before the tables
    text = f'backup_place = "{env / "usb"}"\n' + PLAN.format(prints=env / "prints")
    plan.write_text(text, encoding="utf-8")
    # the app's first start opened (and migrated) an empty plain database before the set-up
    Database.open(env / "office.db").close()
    result = _run("setup", "--from", str(plan))
    assert result.exit_code == 0, result.output
    assert "科长账户 wangke" in result.output and "数据库已加密" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("恢复密钥：")]
    assert len(lines) == 1  # shown once
    recovery = lines[0].removeprefix("恢复密钥：")
    assert "只显示这一次" in result.output
    path = env / "office.db"
    assert not path.read_bytes().startswith(b"SQLite format 3")  # no plain header: encrypted
    assert not path.with_name("office.db.before-encrypt").exists()
    assert slot_names(path) == ["wangke"]
    # the database opens only with the supervisor's password (or the recovery key)
    db = Database.open(path)
    assert db.locked
    with pytest.raises(DatabaseLocked), db.read() as session:
        session.exec(select(Office)).all()
    assert not unlock_for_sign_in(db, "wangke", "wrong-password")
    assert unlock_for_sign_in(db, "wangke", "secret-123")
    with db.read() as session:
        office = session.exec(select(Office)).one()
        clerk = session.exec(select(Clerk)).one()
    assert (office.code, office.pool_code, clerk.username) == ("340202", "340200", "wangke")
    assert sign_in(db, "wangke", "secret-123") is not None
    db.close()
    again = Database.open(path)
    unlock_with_recovery(again, recovery)
    assert not again.locked
    again.close()
    settings = tomllib.loads((env / "config.toml").read_text(encoding="utf-8"))
    assert settings["backup"] == {"places": [str(env / "usb")]}  # the backups' own setting
    assert "backup_dir" not in settings
    assert (env / "usb").is_dir()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('code = "340202"', 'code = "320102"'),
            "属于江苏省，与所选策略包（芜湖市，安徽省）的省份不符",
        ),
        (('code = "340202"', 'code = "349999"'), "不存在"),
        (('password = "secret-123"', 'password = "short"'), "密码至少 8 位"),
        (('policy = "wuhu"', 'policy = "nowhere"'), "没有地区“nowhere”的策略包"),
        (('paper = "58"', 'paper = "76"'), "printers.1.paper"),
    ],
)
def test_setup_from_file_refuses_with_the_screens_messages(
    env: Path, change: tuple[str, str], message: str
) -> None:
    plan = env / "office.toml"
    text = PLAN.format(prints=env / "prints").replace(*change)
    plan.write_text(text, encoding="utf-8")
    result = _run("setup", "--from", str(plan))
    assert result.exit_code == 2
    assert message in result.output, result.output


def test_office_lookup_by_code_or_name_within_the_region() -> None:
    found = find_offices("wuhu", "镜湖")
    assert [(c.code, c.pool_code, c.pool_name) for c in found] == [("340202", "340200", "芜湖市")]
    assert all(c.code.startswith("3402") for c in find_offices("wuhu", "3402"))
    assert find_offices("wuhu", "玄武") == []  # 南京's district is not in 安徽
    assert check_office_code("beijing", "110105").pool_code == "110000"
    with pytest.raises(SetupError, match="格式不正确"):
        check_office_code("jiangsu", "32")


def test_check_pack_lists_the_example_values(env: Path) -> None:
    import json

    result = _run("rules", "check-pack", "jiangsu")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["examples"]
    assert [item["key"] for item in listed] == [
        item.key for item in example_values(load_pack("jiangsu"))
    ]


def test_a_refused_encrypted_set_up_leaves_no_key_behind(encrypting_env: Path) -> None:
    from counter_app.storage.keyslots import slot_file_path

    env = encrypting_env
    plan = env / "office.toml"
    text = PLAN.format(prints=env / "prints").replace("secret-123", "short")
    plan.write_text(text, encoding="utf-8")
    Database.open(env / "office.db").close()
    result = _run("setup", "--from", str(plan))
    assert result.exit_code == 2 and "密码至少 8 位" in result.output
    assert "恢复密钥" not in result.output
    assert not slot_file_path(env / "office.db").exists()
    assert (env / "office.db").read_bytes()[:16] == b"SQLite format 3\x00"
