"""Files with personal data outside the database: listed, and deleted after the keeping time."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from counter_app.personal_files import personal_files, prune_personal_files
from counter_app.settings import PrinterConfig, Settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def aged(path: Path, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 fake")
    moment = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))
    return path


def test_listed_and_pruned_by_the_setting(tmp_path: Path) -> None:
    db = tmp_path / "data" / "office.db"
    counter = tmp_path / "window1"
    settings = Settings(
        db_path=db,
        personal_file_days=30,
        printers=[PrinterConfig(name="存文件", kind="file", address=str(counter))],
    )
    old_print = aged(counter / "BA3201022026110100001-filing_form.pdf", 31)
    new_print = aged(counter / "sub" / "BA3201022026112200002-receipt.pdf", 1)
    default_old = aged(db.parent / "prints" / "old.pdf", 40)
    plain = aged(db.parent / "office.db.before-encrypt", 45)
    unrelated = aged(db.parent / "notes.txt", 99)

    listed = personal_files(settings)
    assert [item.path for item in listed] == [plain, default_old, old_print, new_print]
    assert {item.kind for item in listed} == {"打印文件", "加密前明文备份"}

    removed = prune_personal_files(settings, now=NOW)
    assert sorted(removed) == sorted([plain, default_old, old_print])
    assert new_print.exists() and unrelated.exists()
    assert [item.path for item in personal_files(settings)] == [new_print]

    # A longer keeping time keeps more.
    kept = aged(counter / "again.pdf", 31)
    longer = settings.model_copy(update={"personal_file_days": 60})
    assert prune_personal_files(longer, now=NOW) == []
    assert kept.exists()


def test_demo_never_encrypts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "none.toml"))
    assert Settings().encrypts_new_database()
    assert not Settings(demo=True).encrypts_new_database()
    assert not Settings(encryption=False).encrypts_new_database()
