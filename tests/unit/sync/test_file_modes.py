"""Every file the app creates is 0600 and every folder 0700: databases, keys, transfer files.

The whole offline round trip runs as the operator and the clerk run it (subprocesses), in a
folder of its own; then every path in it is checked. A test process with a permissive umask
makes the office database itself, so the database's own protection is checked too.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.province import add_events, make_office


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "counter_app", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _modes(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_every_file_the_app_creates_is_private(tmp_path: Path) -> None:
    work = tmp_path / "work"
    previous = os.umask(0o022)  # a usual default: files would come out 0644
    try:
        work.mkdir(mode=0o700)
        db, signed = make_office(work / "office" / "counter.db")
        add_events(db, signed, 4)
    finally:
        os.umask(previous)
    province = f"sqlite:///{work / 'province' / 'province.db'}"
    (work / "province").mkdir(mode=0o700)
    env = {
        "COUNTER_CONFIG": str(tmp_path / "none.toml"),
        "COUNTER_POLICY": "wuhu",
        "COUNTER_PROVINCE_KEY": "",
    }
    registration = work / "office.json"
    _run(
        "province", "office-add", "--db", province, "--code", "340202", "--name", "镜湖区",
        "--pool", "340200", "--out", str(registration), env=env,
    )  # fmt: skip
    office = ("--db", str(db.path))
    key_file = work / "office-key.json"
    _run("sync", "register", str(registration), *office, "--key-out", str(key_file), env=env)
    _run("province", "office-key", str(key_file), "--db", province, env=env)
    batch, answer = work / "batch.json", work / "answer.json"
    _run("sync", "export", str(batch), *office, env=env)
    _run("province", "import", str(batch), "--answer", str(answer), "--db", province, env=env)
    _run("sync", "import-answer", str(answer), *office, env=env)
    _run("sync", "status", "--db", str(work / "fresh" / "new.db"), env=env)  # made by the command
    db.close()

    modes = _modes(work)
    expected = {
        "office/counter.db",
        "office/counter.db.keys/registration.json",
        "office/counter.db.keys/office.key",
        "province/province.db",
        "province/province.db.signing-key",
        "office.json",
        "office-key.json",
        "batch.json",
        "answer.json",
        "fresh/new.db",
    }
    assert expected <= set(modes), sorted(modes)
    wrong = {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (work / name).is_dir() else "0o600")
    }
    assert wrong == {}
