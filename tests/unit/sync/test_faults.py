"""Faults survived, against the real server on loopback, on SQLite and on PostgreSQL.

After each fault both sides hold every event exactly once: every local event is marked sent, the
store holds each id once, and the reconcile call agrees.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlmodel import select

from counter_app.province.store import ProvinceStore
from counter_app.province.tables import events, filings
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.sync_models import SyncLease, SyncRun
from counter_app.sync import outbox
from counter_app.sync.client import ProvinceClient, SyncBusy, SyncError, run_sync
from tests.support.province import (
    CuttingProxy,
    ServerProcess,
    add_events,
    assert_exactly_once,
    local_state,
    server_ids,
)
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")
Office = tuple[Database, SignedIn]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def test_server_killed_mid_batch(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 200)
    server.start(faults="die_mid_batch=2")
    with pytest.raises(SyncError, match="无法连接省平台"):
        run_sync(db, ENGINE, config(server, token), TODAY)
    assert server.wait_exit() == 17
    _, sent = local_state(db)
    assert len(sent) == 50  # the first batch; the second died before its commit
    server.start()
    report = run_sync(db, ENGINE, config(server, token), TODAY)
    assert (report.tally.accepted, report.tally.duplicate) == (150, 0)
    assert report.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 200)


def test_connection_lost_after_the_server_committed(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 200)
    server.start(faults="die_after_commit=2")
    with pytest.raises(SyncError):
        run_sync(db, ENGINE, config(server, token), TODAY)
    assert server.wait_exit() == 17
    assert len(local_state(db)[1]) == 50  # the client never heard of the second batch
    server.start()
    report = run_sync(db, ENGINE, config(server, token), TODAY)
    # The committed batch comes back as duplicates, never applied twice.
    assert (report.tally.accepted, report.tally.duplicate) == (100, 50)
    assert report.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 200)


def test_5xx_answers_are_retried_with_backoff(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 120)
    server.start(faults="error_503=2")
    pauses: list[float] = []
    client = ProvinceClient(config(server, token, attempts=4), sleep=pauses.append)
    report = run_sync(db, ENGINE, client.config, TODAY, client=client)
    client.close()
    assert report.tally.accepted == 120 and report.reconciled
    assert len(pauses) == 2 and pauses[1] > pauses[0]  # backed off, growing
    assert_exactly_once(db, province_url, signed.office_code, 120)


def test_lease_taken_over_mid_run_stops_with_every_answer_recorded(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    """Another window takes the lease after the first batch: the batch already in flight is
    answered and recorded, nothing more is sent, and the next run sends the rest."""
    db, signed = office
    add_events(db, signed, 200)  # four batches of 50
    server.start()
    other = f"{socket.gethostname()}:{os.getppid()}:other"  # a live process on this machine

    def take_lease(done: int, total: int, stage: str) -> None:
        if stage == "上传" and done == 50:
            with db.write() as session:
                lease = session.get(SyncLease, outbox.LEASE)
                assert lease is not None
                lease.holder = other
                session.add(lease)

    with pytest.raises(SyncBusy):
        run_sync(db, ENGINE, config(server, token), TODAY, progress=take_lease)
    sent = local_state(db)[1]
    assert len(sent) == 100  # the first batch, and the second that was in flight
    assert len(server_ids(province_url, signed.office_code)) == 100  # no third batch went out
    with db.write() as session:
        lease = session.get(SyncLease, outbox.LEASE)
        assert lease is not None
        lease.holder = ""
        session.add(lease)
    report = run_sync(db, ENGINE, config(server, token), TODAY)
    assert (report.tally.accepted, report.tally.duplicate) == (100, 0) and report.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 200)


def test_timeout_after_commit_then_retry_answers_duplicates(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 80)
    server.start(faults="delay_after_commit=3")
    report = run_sync(db, ENGINE, config(server, token, timeout=1.0), TODAY)
    assert (report.tally.accepted, report.tally.duplicate) == (30, 50)
    assert report.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 80)


def test_every_try_failing_keeps_everything_pending(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 10)
    server.start(faults="error_503=99")
    with pytest.raises(SyncError, match="已重试 3 次"):
        run_sync(db, ENGINE, config(server, token), TODAY)
    state = outbox.status(db)
    assert state.pending == 10 and state.last_ok_at is None and "HTTP 503" in state.last_error
    assert outbox.acquire_lease(db, outbox.new_holder())  # the failed run let the lease go


def _sync_process(db_path: Path, server: ServerProcess, token: str) -> subprocess.Popen[str]:
    env = {
        "COUNTER_POLICY": "wuhu",
        "COUNTER_TODAY": TODAY.isoformat(),
        "COUNTER_SYNC__URL": server.base_url,
        "COUNTER_SYNC__TOKEN": token,
        "COUNTER_SYNC__BATCH_SIZE": "20",
        "COUNTER_CONFIG": str(db_path.with_name("none.toml")),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "counter_app", "sync", "run", "--db", str(db_path)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_client_killed_mid_sync_resumes(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 1500)
    server.start(faults="pause_each=0.05")  # 75 pushes of 20: a few seconds to catch it in
    process = _sync_process(db.path, server, token)
    deadline = time.monotonic() + 60
    while len(local_state(db)[1]) < 100:  # killed once it is well under way
        assert time.monotonic() < deadline and process.poll() is None, process.stderr
        time.sleep(0.01)
    process.kill()
    process.wait(10)
    ids, sent = local_state(db)
    assert 100 <= len(sent) < 1500
    # The lease of the dead process is taken over at once (same machine, process gone).
    report = run_sync(db, ENGINE, config(server, token, batch_size=200), TODAY)
    assert report.reconciled
    # The killed run is closed as interrupted at the next start, not left open for ever.
    assert report.interrupted == 1
    with db.read() as session:
        runs = session.exec(select(SyncRun).order_by(SyncRun.id)).all()  # type: ignore[arg-type]
    assert [r.finished_at is not None for r in runs] == [True, True]
    assert not runs[0].ok and "同步中断" in runs[0].error and runs[1].ok
    assert report.tally.accepted + report.tally.duplicate == len(ids - sent)
    # At most two batches of 20 come back as duplicates: the one in flight when it was killed and
    # the one answered just before, whose answers are recorded while the next is in flight.
    assert report.tally.duplicate <= 2 * 20
    assert_exactly_once(db, province_url, signed.office_code, 1500)


def test_two_client_processes_at_once(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 600)
    server.start()
    processes = [_sync_process(db.path, server, token) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    codes = sorted(p.returncode for p in processes)
    # One sends; the other either found the lease taken (exit 4) or ran after it with nothing left.
    assert codes in ([0, 0], [0, 4]), outputs
    texts = "".join(o[0] for o in outputs)
    assert "已有 0" in texts or codes == [0, 4]
    assert_exactly_once(db, province_url, signed.office_code, 600)


def test_same_batch_twice_and_changed_payload(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    db, signed = office
    add_events(db, signed, 30)
    server.start()
    client = ProvinceClient(config(server, token))
    batch = outbox.pending_batch(db, outbox.office_of(db), 50)
    first = client.push(batch, "b1")
    again = client.push(batch, "b1")
    assert {r["status"] for r in first} == {"accepted"}
    assert {r["status"] for r in again} == {"duplicate"}
    altered = [{**batch[0], "payload": {**batch[0]["payload"], "destination": "310101"}}]
    (answer,) = client.push(altered, "b2")
    assert answer["status"] == "rejected" and answer["code"] == "payload_mismatch"
    with pytest.raises(SyncError, match=r"HTTP 422.*events：项数过多（最多 500 项）"):
        client.push(batch[:1] * 501, "too-big")  # refused whole, not retried
    client.close()
    outbox.record_answers(db, [(r["id"], r) for r in again])
    assert_exactly_once(db, province_url, signed.office_code, 30)


def test_connection_cut_mid_answer_by_a_proxy(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    """The server stays up and commits; the client's connection dies while the answer arrives."""
    db, signed = office
    add_events(db, signed, 200)
    server.start()
    proxy = CuttingProxy(server.port, cut=2)
    try:
        report = run_sync(db, ENGINE, config(server, token, url=proxy.base_url), TODAY)
    finally:
        proxy.close()
    assert proxy.pushes == 5  # four batches, the cut one sent again
    assert (report.tally.accepted, report.tally.duplicate) == (150, 50)
    assert report.reconciled
    assert_exactly_once(db, province_url, signed.office_code, 200)


def test_reconcile_resends_what_the_store_lost(
    server: ServerProcess, office: Office, token: str, province_url: str
) -> None:
    """The store was restored from an older backup: the reconcile finds the gap, it is re-sent."""
    db, signed = office
    add_events(db, signed, 120)
    server.start()
    assert run_sync(db, ENGINE, config(server, token), TODAY).reconciled
    store = ProvinceStore(province_url)
    with store.engine.begin() as conn:
        # A restore loses the events and what they made (a new filing's number is not reusable).
        lost = select(events.c.id).where(events.c.seq.between(50, 79))
        conn.execute(delete(filings).where(filings.c.event_id.in_(lost)))
        conn.execute(delete(events).where(events.c.seq.between(50, 79)))
    store.close()
    report = run_sync(db, ENGINE, config(server, token), TODAY)
    # Re-sent without ever being marked unsent: not counted as new, never a clerk's problem.
    assert report.resent == 30 and report.tally.accepted == 0 and report.reconciled
    assert report.resend_refused == []
    assert_exactly_once(db, province_url, signed.office_code, 120)
