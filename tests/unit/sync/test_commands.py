"""The sync commands as a clerk and the province's operator run them (the command line, real files).

An office without a link exports its pending events to a signed file, the province imports it and
answers with a signed file, the office imports the answer; a tampered file is refused with exit
code 2 and a Chinese message, and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Ran, run_cli
from tests.support.province import add_events, local_state, make_office


def _run(*args: str, env: dict[str, str]) -> Ran:
    return run_cli(*args, env=env)


def test_offline_transfer_by_command(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 25)
    province = f"sqlite:///{tmp_path / 'province.db'}"
    env = {"COUNTER_CONFIG": str(tmp_path / "none.toml"), "COUNTER_POLICY": "wuhu"}
    registration = tmp_path / "office.json"
    add = ("province", "office-add", "--db", province, "--code", "340202", "--name", "镜湖区")
    added = _run(*add, "--pool", "340200", "--out", str(registration), env=env)
    assert added.returncode == 0, added.stderr
    assert "登记文件已写入" in added.stdout
    token = json.loads(registration.read_text(encoding="utf-8"))["token"]
    assert token not in added.stdout  # the token is in the file only
    again = _run(*add, "--pool", "340200", env=env)
    assert again.returncode == 2 and "已登记" in again.stderr
    office = ("--db", str(db.path))

    status = _run("sync", "status", *office, env=env)
    assert "待上传 25，待处理退回 0，上次成功同步 从未" in status.stdout

    batch, answer = tmp_path / "batch.json", tmp_path / "answer.json"
    unregistered = _run("sync", "export", str(batch), *office, env=env)
    assert unregistered.returncode == 2 and "sync register" in unregistered.stderr

    key_file = tmp_path / "office-key.json"
    registered = _run(
        "sync", "register", str(registration), *office, "--key-out", str(key_file), env=env
    )
    assert registered.returncode == 0, registered.stderr
    assert "已登记：经办机构 340202" in registered.stdout and key_file.exists()
    exported = _run("sync", "export", str(batch), *office, env=env)
    assert exported.returncode == 0 and "已导出 25 个事件" in exported.stdout

    # The store does not know the office's key yet: refused, with what to do.
    early = _run(
        "province", "import", str(batch), "--answer", str(answer), "--db", province, env=env
    )
    assert early.returncode == 2 and "province office-key" in early.stderr
    taken = _run("province", "office-key", str(key_file), "--db", province, env=env)
    assert taken.returncode == 0 and "已采用经办机构 340202 的公钥" in taken.stdout

    tampered = tmp_path / "tampered.json"
    document = json.loads(batch.read_text(encoding="utf-8"))
    document["body"]["events"].pop()
    tampered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    refused = _run(
        "province", "import", str(tampered), "--answer", str(answer), "--db", province, env=env
    )
    assert refused.returncode == 2 and "文件签名不符" in refused.stderr
    assert "Traceback" not in refused.stderr and not answer.exists()

    imported = _run(
        "province", "import", str(batch), "--answer", str(answer), "--db", province, env=env
    )
    assert imported.returncode == 0 and "接收 25，已有 0，退回 0" in imported.stdout

    done = _run("sync", "import-answer", str(answer), *office, env=env)
    assert done.returncode == 0 and "回执：接收 25" in done.stdout
    ids, sent = local_state(db)
    assert sent == ids and len(ids) == 25
    replayed = _run("sync", "import-answer", str(answer), *office, env=env)
    assert replayed.returncode == 2 and "已于" in replayed.stderr and "导入过" in replayed.stderr

    shown = _run("province", "show", "--db", province, env=env)
    assert "经办机构 340202：事件 25 个" in shown.stdout
    assert "340202********0001" in shown.stdout and "340202190000000001" not in shown.stdout
    assert "有效" in shown.stdout and "active" not in shown.stdout  # no raw status codes


def test_sync_run_without_a_server_keeps_everything(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    add_events(db, signed, 3)
    env = {
        "COUNTER_CONFIG": str(tmp_path / "none.toml"),
        "COUNTER_POLICY": "wuhu",
        "COUNTER_SYNC__URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "COUNTER_SYNC__TOKEN": "t",
        "COUNTER_SYNC__ATTEMPTS": "2",
    }
    failed = _run("sync", "run", "--db", str(db.path), env=env)
    assert failed.returncode == 1 and "无法连接省平台" in failed.stderr
    assert "Traceback" not in failed.stderr
    unconfigured = _run("sync", "run", "--db", str(db.path), env={**env, "COUNTER_SYNC__URL": ""})
    assert unconfigured.returncode == 1 and "未配置省平台地址" in unconfigured.stderr
    assert local_state(db)[1] == set()
