"""``backup now`` for an office database on PostgreSQL: ``pg_dump`` against a throwaway cluster,
or, without ``pg_dump``, the command to run instead."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from counter_app.storage.backup import BackupError, pg_backup
from counter_app.storage.clerks import ensure_office
from counter_app.storage.db import Database
from tests.support.postgres import Cluster


def test_pg_dump_backs_up_the_office_database(pg_cluster: Cluster, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump is not installed")
    url = pg_cluster.new_database()
    try:
        db = Database.open_url(url)
        ensure_office(db, "340202", "镜湖区医疗保障服务中心", "wuhu", "340200")
        db.close()
        dump = pg_backup(url, tmp_path / "dumps")
        assert dump.exists() and dump.suffix == ".dump"
        assert not list((tmp_path / "dumps").glob(".*"))  # no half-written file left
        listed = subprocess.run(
            ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True
        )
        assert "TABLE DATA public office" in listed.stdout
        assert "TABLE DATA public audit_log" in listed.stdout
    finally:
        pg_cluster.drop_database(url)


def test_without_pg_dump_it_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump anywhere
    with pytest.raises(BackupError) as refused:
        pg_backup("postgresql+psycopg://office:pw@db.example/counter", tmp_path)
    message = str(refused.value)
    assert "本机没有 pg_dump" in message and "pg_dump --format=custom" in message
    assert "pw" not in message.replace("PGPASSWORD", "")
