"""Where the app keeps its things (locations.py), and the tests' isolation from the user's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from counter_app.locations import config_file, data_dir, default_db_path, is_loopback
from counter_app.settings import Settings


def test_every_test_runs_in_its_own_folders(tmp_path: Path) -> None:
    assert config_file() == tmp_path / "config.toml"
    assert default_db_path() == tmp_path / "counter.db"
    assert data_dir().is_relative_to(tmp_path)
    assert Settings().database_path() == tmp_path / "counter.db"
    assert Path.home().is_relative_to(tmp_path)


def test_defaults_follow_the_platform_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUNTER_CONFIG")
    monkeypatch.delenv("COUNTER_DB")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert config_file() == tmp_path / "cfg" / "counter-app" / "config.toml"
    assert default_db_path() == tmp_path / "data" / "counter-app" / "counter.db"
    settings = Settings(demo=True, policy="wuhu")
    assert settings.database_path() == tmp_path / "data" / "counter-app" / "demo-wuhu.db"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8700", True),
        ("http://localhost:8700", True),
        ("http://[::1]:8700", True),
        ("http://province.localhost", True),
        ("http://10.0.0.5:8700", False),
        ("https://yb.example.gov.cn", False),
        ("not a url", False),
    ],
)
def test_loopback_addresses(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.slow
def test_the_app_hashes_passwords_at_full_strength_outside_the_tests() -> None:
    """The cheap argon2 parameters live in tests/conftest.py only: a fresh process has 64 MiB."""
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from counter_app.storage.clerks import _HASHER;"
            "print(_HASHER.memory_cost, _HASHER.time_cost)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    memory, time_cost = map(int, shown.stdout.split())
    assert memory >= 65536 and time_cost >= 3
