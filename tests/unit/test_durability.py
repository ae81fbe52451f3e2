"""Durability and concurrency of the office database, with real processes on a real file.

A clerk process (``tests/support/commit_loop.py``) is killed with SIGKILL while it commits
filings: every filing found afterwards must be whole (history, materials, audit entry, outbox
event) and the outbox sequence gap-free. Two clerk processes commit to one file at once: both
queue for the write lock (no "database is locked"), and of two changes of the same filing from the
same version exactly one wins.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.support import commit_loop
from tests.support.clerk_process import TIMEOUT_S, Clerk, run_here

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def run_setup(db: Path, *options: str) -> list[str]:
    return run_here(commit_loop.main, "setup", str(db), *options)


def check_whole(db: Path) -> list[str]:
    """The consistency every crash must leave; returns the filing numbers found."""
    connection = sqlite3.connect(db, timeout=TIMEOUT_S)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        filings = connection.execute("SELECT id, number FROM filing ORDER BY id").fetchall()
        for filing_id, number in filings:
            history = connection.execute(
                "SELECT id, action, json_extract(snapshot, '$.materials') FROM filing_history "
                "WHERE filing_id = ?",
                (filing_id,),
            ).fetchall()
            assert len(history) == 1, number
            history_id, action, presented = history[0]
            assert action == "new"
            materials = connection.execute(
                "SELECT material_id FROM filing_material WHERE history_id = ? ORDER BY id",
                (history_id,),
            ).fetchall()
            assert [m for (m,) in materials] == list(dict.fromkeys(json.loads(presented)))
            assert connection.execute(
                "SELECT count(*) FROM audit_log WHERE entity = 'filing' AND entity_id = ?",
                (number,),
            ).fetchone() == (1,), number
            assert connection.execute(
                "SELECT count(*) FROM outbox_event WHERE json_extract(payload, '$.number') = ?",
                (number,),
            ).fetchone() == (1,), number
        seqs = [s for (s,) in connection.execute("SELECT seq FROM outbox_event ORDER BY seq")]
        assert seqs == list(range(1, len(filings) + 1))
        # Nothing orphaned either: no step, material, audit entry or event without its filing.
        for table in ("filing_history", "outbox_event"):
            count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert count == len(filings), table
        assert connection.execute(
            "SELECT count(*) FROM audit_log WHERE entity = 'filing'"
        ).fetchone() == (len(filings),)
        assert connection.execute(
            "SELECT count(*) FROM filing_material WHERE filing_id NOT IN (SELECT id FROM filing)"
        ).fetchone() == (0,)
        # The day's number sequence matches what was issued (no number drawn by a lost commit).
        assert connection.execute("SELECT coalesce(sum(last), 0) FROM number_sequence").fetchone()[
            0
        ] == len(filings)
        return [number for _, number in filings]
    finally:
        connection.close()


def test_sigkill_mid_commit_leaves_whole_filings_only(tmp_path: Path) -> None:
    db = tmp_path / "office.db"
    run_setup(db, "--persons", "6")
    rng = random.Random()
    reported: list[str] = []
    started = time.monotonic()
    for _ in range(5):
        clerk = Clerk("loop", str(db), "clerk1")
        clerk.expect("ready")
        for _ in range(rng.randint(3, 15)):
            clerk.expect("committed ")
        # A random moment inside the next commits (each takes a few ms with synchronous=FULL).
        time.sleep(rng.uniform(0, 0.02))
        clerk.kill()
        assert clerk.process.returncode == -signal.SIGKILL
        clerk.finish()
        reported += clerk.committed()

        found = check_whole(db)
        # Everything reported as committed survived; at most the commit in flight was added.
        assert found[: len(reported)] == reported
        assert len(found) - len(reported) in (0, 1)
        reported = found
    assert len(reported) >= 15
    assert time.monotonic() - started < 60


def test_two_clerk_processes_commit_at_once(tmp_path: Path) -> None:
    db = tmp_path / "office.db"
    run_setup(db, "--persons", "6", "--clerks", "2")
    go = tmp_path / "go"
    clerks = [
        Clerk("loop", str(db), name, "--count", "30", "--go", str(go))
        for name in ("clerk1", "clerk2")
    ]
    for clerk in clerks:
        clerk.expect("ready")
    go.touch()
    spans = []
    for clerk in clerks:
        start = float(clerk.expect("start ").split()[1])
        end = float(clerk.expect("end ").split()[1])
        spans.append((start, end))
        stderr = clerk.finish()
        assert clerk.process.returncode == 0, stderr
        assert "locked" not in stderr
        assert len(clerk.committed()) == 30
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b and start_b < end_a, "the two clerks really committed at the same time"

    numbers = check_whole(db)
    assert len(numbers) == 60
    assert sorted(numbers) == sorted(clerks[0].committed() + clerks[1].committed())
    assert len(set(numbers)) == 60
    connection = sqlite3.connect(db)
    try:
        per_clerk = connection.execute(
            "SELECT c.username, count(*) FROM filing f JOIN clerk c ON c.id = f.created_by "
            "GROUP BY c.username ORDER BY c.username"
        ).fetchall()
    finally:
        connection.close()
    assert per_clerk == [("clerk1", 30), ("clerk2", 30)]


def _filing_state(db: Path) -> tuple[list[tuple[object, ...]], int, int]:
    connection = sqlite3.connect(db)
    try:
        filing = connection.execute(
            "SELECT number, version, destination_code FROM filing"
        ).fetchall()
        history = connection.execute("SELECT count(*) FROM filing_history").fetchone()[0]
        events = connection.execute("SELECT count(*) FROM outbox_event").fetchone()[0]
        return filing, history, events
    finally:
        connection.close()


def test_same_filing_changed_by_two_processes_at_once(tmp_path: Path) -> None:
    db = tmp_path / "office.db"
    (line,) = run_setup(db, "--persons", "2", "--clerks", "2", "--filing")
    number = line.split()[1]
    go = tmp_path / "go"
    clerks = [
        Clerk("change", str(db), name, number, "1", "--go", str(go))
        for name in ("clerk1", "clerk2")
    ]
    for clerk in clerks:
        clerk.expect("ready")  # both have read the filing at version 1
    go.touch()
    outcomes = []
    for clerk in clerks:
        clerk.expect("begin")
        stderr = clerk.finish()
        assert clerk.process.returncode == 0, stderr
        assert "locked" not in stderr
        outcomes.append(clerk.seen[-1].split()[0])
    assert sorted(outcomes) == ["ok", "stale"]
    winner = ("460000", "530100")[outcomes.index("ok")]
    assert _filing_state(db) == ([(number, 2, winner)], 2, 2)


def test_second_clerk_waits_for_the_first_and_gets_stale(tmp_path: Path) -> None:
    """The first clerk holds the write transaction open; the second queues, then is refused."""
    db = tmp_path / "office.db"
    (line,) = run_setup(db, "--persons", "2", "--clerks", "2", "--filing")
    number = line.split()[1]
    hold = tmp_path / "hold"
    hold.mkdir()
    second_go = tmp_path / "go"
    # The second clerk signs in (a write) before the first may take the write lock and hold it.
    second = Clerk("change", str(db), "clerk2", number, "1", "--go", str(second_go))
    second.expect("ready")
    first = Clerk("change", str(db), "clerk1", number, "1", "--hold", str(hold))
    first.expect("begin")
    deadline = time.monotonic() + TIMEOUT_S
    while not (hold / "in_tx").exists():  # the first clerk is inside its write transaction
        assert first.process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    second_go.touch()
    second.expect("begin")  # now blocked on BEGIN IMMEDIATE behind the first clerk
    assert second.process.poll() is None
    (hold / "release").touch()

    first_err, second_err = first.finish(), second.finish()
    assert first.process.returncode == 0, first_err
    assert second.process.returncode == 0, second_err
    assert "locked" not in first_err + second_err
    assert first.seen[-1] == f"ok {number}"
    assert second.seen[-1] == "stale"
    assert _filing_state(db) == ([(number, 2, "460000")], 2, 2)
