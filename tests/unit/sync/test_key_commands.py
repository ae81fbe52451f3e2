"""Key rotation on both sides, as the commands do it (in-process through Typer's runner).

The office rotates its key offline (``sync rotate-key --key-out``): until the store imports the new
public key, batches signed with it are refused; afterwards the old key's batches are refused with
a message to export again. The store rotates its key (``province key-rotate``): the office then
refuses answers signed with the new key until it registers again with a new file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from counter_app.cli import app
from tests.support.province import add_events, local_state, make_office

RUNNER = CliRunner()


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user configuration; the umask the command sets is put back afterwards."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COUNTER_POLICY", "wuhu")
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _ok(*args: str) -> str:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _refused(*args: str) -> str:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    return result.output


def test_rotation_on_both_sides(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    province = f"sqlite:///{tmp_path / 'province.db'}"
    office = ("--db", str(db.path))
    registration = tmp_path / "office.json"
    _ok("province", "office-add", "--db", province, "--code", "340202", "--name", "镜湖区",
        "--pool", "340200", "--out", str(registration))  # fmt: skip
    first_key = tmp_path / "key-1.json"
    _ok("sync", "register", str(registration), *office, "--key-out", str(first_key))
    _ok("province", "office-key", str(first_key), "--db", province)

    add_events(db, signed, 4)
    old_batch = tmp_path / "old.json"
    _ok("sync", "export", str(old_batch), *office)
    second_key = tmp_path / "key-2.json"
    rotated = _ok("sync", "rotate-key", *office, "--key-out", str(second_key))
    assert "已生成新的签名密钥" in rotated
    new_batch = tmp_path / "new.json"
    _ok("sync", "export", str(new_batch), *office)
    answer = tmp_path / "answer.json"
    early = _refused(
        "province", "import", str(new_batch), "--answer", str(answer), "--db", province
    )
    assert "未登记或已停用的密钥" in early
    _ok("province", "office-key", str(second_key), "--db", province)
    stale = _refused(
        "province", "import", str(old_batch), "--answer", str(answer), "--db", province
    )
    assert "重新导出" in stale
    # A key announced without the current key's endorsement is not taken.
    stranger: dict[str, Any] = json.loads(second_key.read_text("utf-8"))
    from counter_app.sync import signing

    forged = tmp_path / "forged-key.json"
    forged.write_text(json.dumps(signing.announce("340202", signing.new_key(), None)), "utf-8")
    assert "背书" in _refused("province", "office-key", str(forged), "--db", province)
    assert stranger["key_id"] in _ok(
        "province", "office-key", str(second_key), "--db", province
    )  # announced twice: nothing changes

    # The store rotates its key: its answers no longer pass until the office registers again.
    assert "各经办机构" in _ok("province", "key-rotate", "--db", province)
    _ok("province", "import", str(new_batch), "--answer", str(answer), "--db", province)
    refused = _refused("sync", "import-answer", str(answer), *office)
    assert "省平台 未登记或已停用的密钥" in refused
    assert local_state(db)[1] == set()

    again = tmp_path / "again.json"
    _ok("province", "token", "--code", "340202", "--db", province, "--out", str(again))
    third_key = tmp_path / "key-3.json"
    _ok("sync", "register", str(again), *office, "--key-out", str(third_key))
    _ok("province", "office-key", str(third_key), "--db", province)  # keys were retired: taken
    _ok("sync", "import-answer", str(answer), *office)
    assert len(local_state(db)[1]) == 4
