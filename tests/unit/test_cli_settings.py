"""``--demo`` and ``--policy`` before a subcommand reach it: the database and rules of the UI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from counter_app.cli import app
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.models import Filing, Office
from tests.support.printing import TODAY

runner = CliRunner()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """The wuhu demo database where ``--demo --policy wuhu`` finds it; a filing and its QR."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COUNTER_DB", str(tmp_path / "counter.db"))
    path = tmp_path / "demo-wuhu.db"
    db = Database.open(path)
    seed_demo(db, build_engine("wuhu"), TODAY, persons=3)
    with db.read() as session:
        number = session.exec(select(Filing.number)).first()
    assert number is not None
    document = build("filing_form", load_record(db, "filing_form", number), PrintContext(db, TODAY))
    db.close()
    return path, number, document.qr_payload


def test_verify_honours_demo(demo: tuple[Path, str, str], tmp_path: Path) -> None:
    _path, _number, payload = demo
    genuine = runner.invoke(app, ["--demo", "--policy", "wuhu", "verify", payload])
    assert genuine.exit_code == 0, genuine.output
    # Without --demo the office database is another one: the code cannot be confirmed there.
    plain = runner.invoke(app, ["--policy", "wuhu", "verify", payload])
    assert plain.exit_code == 2


def test_print_honours_demo(demo: tuple[Path, str, str], tmp_path: Path) -> None:
    _path, number, _payload = demo
    out = tmp_path / "form.pdf"
    result = runner.invoke(
        app, ["--demo", "--policy", "wuhu", "print", "filing_form", number, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")


def test_sync_status_honours_demo(demo: tuple[Path, str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["--demo", "--policy", "wuhu", "sync", "status"])
    assert result.exit_code == 0, result.output
    assert "待上传" in result.output and not result.output.startswith("待上传 0，")
    assert not (tmp_path / "counter.db").exists()  # the office database was not touched


def test_office_and_clerk_add_honour_demo_and_policy(demo: tuple[Path, str, str]) -> None:
    path, _number, _payload = demo
    added = runner.invoke(
        app, ["--demo", "--policy", "wuhu", "office", "add", "--code", "340203", "--name", "弋江"]
    )
    assert added.exit_code == 0 and "wuhu" in added.output, added.output
    clerk = runner.invoke(
        app,
        [
            *("--demo", "--policy", "wuhu", "clerk", "add", "--username", "li", "--name", "李"),
            *("--office", "340203", "--password", "secret123"),
        ],
    )
    assert clerk.exit_code == 0, clerk.output
    db = Database.open(path, migrate=False)
    with db.read() as session:
        assert session.exec(select(Office).where(Office.code == "340203")).first() is not None
    db.close()
