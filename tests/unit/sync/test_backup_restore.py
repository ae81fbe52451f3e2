"""A database restored from an automatic backup, then synced with the real store on loopback.

The backup is made by ``backup_now`` and put back by ``restore`` (the current database kept aside);
the next sync continues the office's event sequence and document numbers above the store's, and
``recover`` takes back what the backup lacked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.rules_engine import build_engine
from counter_app.storage.backup import backup_now, restore
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import Office, OutboxEvent
from counter_app.storage.records import next_number
from counter_app.sync import outbox
from counter_app.sync.client import recover, run_sync
from tests.support.province import (
    ServerProcess,
    add_events,
    local_state,
    server_ids,
)
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")


@pytest.mark.parametrize("province_url", ["sqlite"], indirect=True)
def test_restore_from_a_backup_then_sync_continues_the_numbering(
    server: ServerProcess,
    office: tuple[Database, SignedIn],
    token: str,
    province_url: str,
    tmp_path: Path,
) -> None:
    db, signed = office
    assert db.path is not None
    add_events(db, signed, 4)
    server.start()
    cfg = config(server, token)
    assert run_sync(db, ENGINE, cfg, TODAY).reconciled
    taken = backup_now(db.path, [tmp_path / "usb"], keep_days=14, now=datetime.now(UTC))
    assert taken.ok
    add_events(db, signed, 3, start=5)  # BA…0005-0007: after the backup, sent to the store
    assert run_sync(db, ENGINE, cfg, TODAY).reconciled
    db.close()

    aside = restore(taken.written[0], db.path)  # the disk "died"; the backup comes back
    assert aside is not None and aside.exists()
    restored = Database.open(db.path)
    with restored.read() as session:
        assert {e.seq for e in session.exec(select(OutboxEvent)).all()} == {1, 2, 3, 4}
    fresh = add_events(restored, signed, 2, start=100)  # seq 5, 6 again: taken on the store

    report = run_sync(restored, ENGINE, cfg, TODAY)
    assert report.alignment.lost == 3 and report.alignment.renumbered == 2
    assert report.tally.accepted == 2 and report.tally.rejected == 0
    assert outbox.status(restored).problems == 0
    assert set(fresh) <= local_state(restored)[1]
    with restored.read() as session:
        office_row = session.get(Office, signed.office_id)
        assert office_row is not None
        assert next_number(session, office_row, "filing", TODAY, "BA").endswith("0008")

    assert len(recover(restored, cfg)) == 3
    after = run_sync(restored, ENGINE, cfg, TODAY)
    assert after.reconciled and after.server_count == 9
    assert sorted(server_ids(province_url, signed.office_code)) == sorted(local_state(restored)[0])
