"""``counter-app doctor``: every check on a fresh demo office, and each kind of trouble found on
a real office (a store over HTTPS on loopback with its own CA, a printer that is off, a backup
place that is gone, a damaged or encrypted database file)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

import counter_app
from counter_app.doctor import Check, _clock, check_integrity, encrypted, run_checks, worst
from counter_app.province.store import ProvinceStore
from counter_app.settings import Settings
from counter_app.storage.backup import backup_now
from tests.support.province import free_port, make_office
from tests.unit.sync.test_transport import Tls, tls_store  # noqa: F401  (the fixture)

SOURCE_ROOT = Path(counter_app.__file__).resolve().parents[1]
NAMES = (
    "数据库完整性",
    "数据结构版本",
    "WAL 日志大小",
    "磁盘剩余空间",
    "备份位置",
    "最新备份",
    "数据库加密",
    "打印机",
    "省平台",
)


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "counter.db"))


@pytest.mark.slow  # runs the command (or a backup killed midway) as a process
def test_doctor_on_a_fresh_demo_office_prints_every_check(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT), "COUNTER_DB": str(tmp_path / "x.db")}
    done = subprocess.run(
        [sys.executable, "-m", "counter_app", "--demo", "--policy", "hunan", "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in NAMES:
        assert any(name in line for line in lines), name
    assert all(line.split(" ")[0] in ("OK", "⚠", "✘") for line in lines[:-1])
    assert lines[-1].startswith(f"共 {len(lines) - 1} 项")
    assert "OK 数据库完整性" in done.stdout and "未加密（演示数据库不加密）" in done.stdout
    assert "⚠ 省平台：未配置省平台地址——" in done.stdout  # with what to do
    assert (tmp_path / "demo-hunan.db").exists()


def test_doctor_finds_trouble_and_checks_the_store_over_https(
    tls_store: tuple[str, ProvinceStore, Tls],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, store, tls = tls_store
    db, signed = make_office(tmp_path / "office.db")
    token = store.add_office(signed.office_code, signed.office_name, "340200")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    settings = Settings(
        db_path=db.path,
        sync={"url": url, "token": token, "ca_file": tls.ca},  # type: ignore[arg-type]
        printers=[  # type: ignore[list-item]
            {"name": "窗口1小票机", "kind": "network", "address": f"127.0.0.1:{free_port()}"},
            {"name": "PDF", "kind": "file", "address": str(tmp_path / "prints")},
        ],
        backup={"places": [blocked / "usb"]},  # type: ignore[arg-type]
    )
    checks = run_checks(settings)
    found = {c.name: c for c in checks}
    assert found["数据库完整性"].status == "ok"
    assert found["数据结构版本"].status == "ok"
    assert found["打印机 窗口1小票机"].status == "fail"
    assert "电源" in found["打印机 窗口1小票机"].advice
    assert found["打印机 PDF"].status == "ok"
    assert found[f"备份位置 {blocked / 'usb'}"].status == "fail"
    assert found["最新备份"].status == "fail" and "backup now" in found["最新备份"].advice
    assert found["数据库加密"].status == "warn" and "db encrypt" in found["数据库加密"].advice
    assert found["省平台"].status == "ok" and signed.office_code in found["省平台"].detail
    # The test CA's certificate lasts one day: within 30 days of expiry, a warning.
    assert found["省平台证书"].status == "warn" and "天到期" in found["省平台证书"].detail
    assert found["时钟"].status == "ok"
    assert worst(checks) == "fail"

    # A backup taken, the store's CA not trusted: the backup is fine, the store is not.
    backup_now(db.path, [tmp_path / "usb"], keep_days=14)  # type: ignore[arg-type]
    untrusted = settings.model_copy(
        update={
            "sync": settings.sync.model_copy(update={"ca_file": None}),
            "backup": settings.backup.model_copy(update={"places": [tmp_path / "usb"]}),
            "printers": settings.printers[1:],
        }
    )
    again = {c.name: c for c in run_checks(untrusted)}
    assert again["最新备份"].status == "ok"
    assert again["省平台"].status == "fail" and "ca_file" in again["省平台"].advice


def test_a_damaged_file_and_an_encrypted_file(tmp_path: Path) -> None:
    db, _ = make_office(tmp_path / "office.db")
    assert db.path is not None
    db.close()
    data = bytearray(db.path.read_bytes())
    data[4096 * 2 : 4096 * 2 + 300] = b"\xfe" * 300
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    result = check_integrity(damaged)
    assert result.status == "fail" and "backup restore" in result.advice
    sealed = tmp_path / "sealed.db"
    sealed.write_bytes(os.urandom(8192))  # what SQLCipher leaves: no plain header
    assert encrypted(sealed) is True and encrypted(db.path) is False
    assert check_integrity(sealed).status == "warn"


def test_clock_skew_against_the_stores_date() -> None:
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    quick = now + timedelta(milliseconds=200)

    def skew(seconds: float) -> Check:
        return _clock(format_datetime(now - timedelta(seconds=seconds), usegmt=True), now, quick)

    assert skew(0).status == "ok" and skew(30).status == "ok"
    assert skew(200).status == "warn" and "快" in skew(200).detail
    assert skew(-200).status == "warn" and "慢" in skew(-200).detail
    assert skew(3600).status == "fail" and "NTP" in skew(3600).advice
    assert _clock(None, now, quick).status == "warn"
