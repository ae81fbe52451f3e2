"""A clerk's app is killed (SIGKILL) in the middle of committing a filing: the database stays
whole, nothing half-written, and the next start offers the draft, which then commits."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import func, select

from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.db import Database
from counter_app.storage.demo import seed_demo
from counter_app.storage.drafts import list_drafts
from counter_app.storage.filings import person_filings
from counter_app.storage.models import AuditLog, Filing, FilingHistory, OutboxEvent
from counter_app.storage.persons import save_person
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.filings.steps import ReviewStep
from counter_app.ui.screens.person import PersonScreen
from tests.functional.conftest import TODAY
from tests.functional.driving import next_step, settle, sign_in

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER = "11010519491231002X"


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 300) -> None:
    # Generous: a driver that dies is seen at once; only a loaded machine takes long.
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"driver exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {path.name}")
        time.sleep(0.05)


def _counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            model.__tablename__: session.exec(select(func.count()).select_from(model)).one()  # type: ignore[attr-defined]
            for model in (Filing, FilingHistory, AuditLog, OutboxEvent)
        }


async def test_kill_during_commit_keeps_db_whole_and_draft_resumes(
    tmp_path: Path, make_app
) -> None:
    db_path = tmp_path / "wuhu.db"
    db = Database.open(db_path)
    seed_demo(db, build_engine("wuhu"), TODAY)
    signed = storage_sign_in(db, "demo", "demo1234")
    assert signed is not None
    person_id = save_person(db, signed.clerk_id, name="崩溃测试", id_number=ID_NUMBER, today=TODAY)
    before = _counts(db)
    db.close()

    marker = tmp_path / "in_commit"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.app_killed_in_commit",
            str(db_path),
            str(marker),
            "崩溃测试",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(marker, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    raw.close()
    db = Database.open(db_path)
    # The killed transaction left nothing behind (the sign-in audit entries came before it).
    after = _counts(db)
    assert {k: after[k] for k in ("filing", "filing_history", "outbox_event")} == {
        k: before[k] for k in ("filing", "filing_history", "outbox_event")
    }
    assert person_filings(db, person_id) == []
    (draft,) = list_drafts(db, signed.clerk_id)
    assert draft.title == "新增备案 · 崩溃测试"
    assert draft.step == "4"  # saved on arriving at the review step
    db.close()

    app = make_app("wuhu", db_path=db_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReviewStep)
        await next_step(pilot)  # commit the resumed draft
        await settle(pilot)
        assert not isinstance(pilot.app.screen, ReviewStep)

    db = Database.open(db_path)
    (filing,) = person_filings(db, person_id)
    assert (filing.category, filing.destination_code, filing.status) == (
        "long_term_resident",
        "460000",
        "active",
    )
    assert list_drafts(db, signed.clerk_id) == []
    db.close()
    assert PersonScreen  # the app returned to a normal screen after committing
