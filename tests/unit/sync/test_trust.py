"""Who the office talks to, and what it accepts: against the real server on loopback.

A token of another office stops the run before anything is pulled or marked; a store whose key
is not the registered one is refused until the office registers again; forged, replayed, old-style
and malformed answer files are refused with a Chinese message; a database restored from a backup
continues above the store's numbering and takes back what it lost.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from counter_app.province.keys import rotate_store_key, signing_key_path, store_key
from counter_app.province.store import ProvinceStore
from counter_app.province.transfer import import_batch
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import Claim, Filing, NumberSequence, Office
from counter_app.storage.records import emit, next_number
from counter_app.storage.sync_models import OnlineApplication, SyncRun
from counter_app.sync import outbox, protocol, signing
from counter_app.sync.client import (
    ClientConfig,
    ProvinceClient,
    SyncError,
    plain_http_refused,
    recover,
    run_sync,
)
from counter_app.sync.protocol import SignatureError
from counter_app.sync.registration import key_dir
from counter_app.sync.transfer import export_batch, import_answer
from tests.support.province import (
    ServerProcess,
    add_events,
    local_state,
    make_office,
    register,
    server_ids,
)
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")
OfficeT = tuple[Database, SignedIn]
SQLITE = pytest.mark.parametrize("province_url", ["sqlite"], indirect=True)

#: A claim event as ``storage.claims`` writes it.
CLAIM = {
    "action": "accept",
    "number": "BX340202202611230002",
    "status": "accepted",
    "person": {"name": "报销乙", "id_number": "110105194912310038"},
    "case": "inpatient",
    "treatment": "inpatient",
    "accepted_on": "2026-11-23",
    "due_date": "2026-12-21",
    "total": "1234.50",
    "fund_total": "987.60",
    "personal_cash": "246.90",
    "funds": [],
    "missing": [],
    "return_reason": "",
    "version": 1,
}

APPLICATION = {
    "person": {"name": "线上甲", "id_number": "110105194912310038"},
    "category": "long_term_resident",
    "destination": "460100",
}


@SQLITE
def test_a_token_of_another_office_stops_the_run_before_anything(
    server: ServerProcess, store: ProvinceStore, office: OfficeT, token: str, province_url: str
) -> None:
    db, signed = office
    other = store.add_office("340203", "弋江区", "340200")
    store.add_application("340203", APPLICATION)  # another office's applicant: must not leak
    add_events(db, signed, 30)
    server.start()
    with pytest.raises(SyncError, match="令牌属于 340203，与本机构 340202 不符"):
        run_sync(db, ENGINE, config(server, other), TODAY)
    ids, sent = local_state(db)
    assert sent == set() and len(ids) == 30
    with db.read() as session:
        assert session.exec(select(OnlineApplication)).all() == []
        assert outbox.get_cursor(session).value == 0
    assert server_ids(province_url, "340203") == server_ids(province_url, "340202") == []

    assert run_sync(db, ENGINE, config(server, token), TODAY).reconciled
    # Once acknowledged, a wrong token later changes nothing: no refusals, nothing unmarked.
    with pytest.raises(SyncError, match="令牌属于 340203"):
        run_sync(db, ENGINE, config(server, other), TODAY)
    assert local_state(db)[1] == ids and outbox.status(db).problems == 0
    assert "令牌属于 340203" in outbox.status(db).last_error


def test_refusals_of_acknowledged_events_are_not_recorded(office: OfficeT) -> None:
    """Reconcile's re-sends and stray answers never turn an acknowledged event into a problem."""
    db, signed = office
    ids = add_events(db, signed, 3)
    outbox.record_answers(db, [(i, {"status": protocol.ACCEPTED}) for i in ids])
    wrong = {"status": protocol.REJECTED, "code": "wrong_office", "message": "x"}
    tally = outbox.record_answers(db, [(i, wrong) for i in ids])
    assert tally.rejected == 0 and outbox.status(db).problems == 0
    assert local_state(db)[1] == set(ids)


@SQLITE
def test_a_store_with_another_key_is_refused_until_registered_again(
    server: ServerProcess, store: ProvinceStore, office: OfficeT, tmp_path: Path
) -> None:
    db, signed = office
    register(store, db, tmp_path, url="")
    add_events(db, signed, 5)
    server.start()
    settings_like = config(server, "")  # the token comes from the registration
    assert run_sync(db, ENGINE, settings_like, TODAY).reconciled

    rotate_store_key(signing_key_path(store.url))  # or an impostor with its own key
    add_events(db, signed, 2, start=6)
    with pytest.raises(SyncError, match=r"签名密钥与登记时不同.*sync register"):
        run_sync(db, ENGINE, settings_like, TODAY)
    assert outbox.status(db).pending == 2

    # Re-registration: a new file (new token, the store's new key); the old token is dead.
    from counter_app.province.keys import registration, retire_keys
    from counter_app.sync.registration import register as import_registration

    token = store.new_token(signed.office_code)
    retire_keys(store, signed.office_code)
    key = store_key(signing_key_path(store.url))
    assert key is not None
    file = tmp_path / "again.json"
    file.write_text(json.dumps(registration(store, signed.office_code, token, key)), "utf-8")
    _, change = import_registration(key_dir(db.path), file, signed.office_code)
    client = ProvinceClient(config(server, token))
    try:
        assert client.announce_key(change.announcement)["key_id"] == change.key_id
    finally:
        client.close()
    assert run_sync(db, ENGINE, settings_like, TODAY).reconciled
    assert outbox.status(db).pending == 0


def _registered_office(store: ProvinceStore, tmp_path: Path) -> tuple[Database, SignedIn, Path]:
    db, signed = make_office(tmp_path / "office.db")
    register(store, db, tmp_path)
    return db, signed, key_dir(db.path)


@SQLITE
def test_forged_replayed_and_old_style_answers_are_refused(
    store: ProvinceStore, tmp_path: Path
) -> None:
    db, signed, folder = _registered_office(store, tmp_path)
    add_events(db, signed, 10)
    batch, answer = tmp_path / "batch.json", tmp_path / "answer.json"
    export_batch(db, folder, batch)
    import_batch(store, batch, answer)
    body = json.loads(answer.read_text(encoding="utf-8"))["body"]

    # Whoever has the store's database but not its key file cannot make an answer we accept.
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(signing.sign(body, signing.new_key())), "utf-8")
    with pytest.raises(SignatureError, match="未登记或已停用的密钥"):
        import_answer(db, folder, forged)
    old_style = tmp_path / "old.json"
    old_style.write_text(json.dumps({"body": body, "signature": "00" * 32}), "utf-8")
    with pytest.raises(SignatureError, match="旧版方式"):
        import_answer(db, folder, old_style)
    assert local_state(db)[1] == set()

    assert import_answer(db, folder, answer).accepted == 10
    with pytest.raises(SignatureError, match=r"已于 .* 导入过"):
        import_answer(db, folder, answer)
    runs_before = len(_runs(db))
    # An answer to a batch this database never exported (signed by the real store) is refused.
    key = store_key(signing_key_path(store.url))
    assert key is not None
    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps(signing.sign({**body, "batch_id": "file-x"}, key)), "utf-8")
    with pytest.raises(SignatureError, match="不是本数据库导出的"):
        import_answer(db, folder, stranger)
    assert len(_runs(db)) == runs_before


def _runs(db: Database) -> list[SyncRun]:
    with db.read() as session:
        return list(session.exec(select(SyncRun)).all())


@SQLITE
def test_an_office_key_change_needs_the_old_keys_endorsement(
    store: ProvinceStore, tmp_path: Path
) -> None:
    from counter_app.province.keys import accept_key, active_keys
    from counter_app.province.store import StoreError
    from counter_app.sync.registration import make_key

    db, signed, folder = _registered_office(store, tmp_path)
    add_events(db, signed, 3)
    old_batch = tmp_path / "old-batch.json"
    export_batch(db, folder, old_batch)
    change = make_key(folder, signed.office_code)  # rotation: endorsed by the old key
    impostor = signing.announce(signed.office_code, signing.new_key(), None)
    with pytest.raises(StoreError, match="背书"):
        accept_key(store, impostor)
    assert accept_key(store, change.announcement) == change.key_id
    assert list(active_keys(store, signed.office_code)) == [change.key_id]
    with pytest.raises(SignatureError, match=r"未登记或已停用的密钥.*重新导出"):
        import_batch(store, old_batch, tmp_path / "answer.json")
    new_batch = tmp_path / "new-batch.json"
    assert export_batch(db, folder, new_batch) == 3
    assert import_batch(store, new_batch, tmp_path / "answer.json")["accepted"] == 3


def _backup(db: Database, target: Path) -> None:
    source = sqlite3.connect(db.path)
    copy = sqlite3.connect(target)
    source.backup(copy)
    copy.close()
    source.close()


@SQLITE
def test_a_restored_database_continues_above_the_store_and_recovers(
    server: ServerProcess, office: OfficeT, token: str, province_url: str, tmp_path: Path
) -> None:
    db, signed = office
    add_events(db, signed, 10)
    server.start()
    cfg = config(server, token)
    assert run_sync(db, ENGINE, cfg, TODAY).reconciled
    backup = tmp_path / "backup.db"
    _backup(db, backup)
    add_events(db, signed, 5, start=11)  # filings BA…0011-0015, after the backup
    with db.write() as session:  # and a claim accepted after the backup
        emit(session, signed.office_id, signed.clerk_id, "claim.accept", CLAIM)
    assert run_sync(db, ENGINE, cfg, TODAY).reconciled
    db.close()

    restored_path = tmp_path / "restored.db"
    shutil.copy(backup, restored_path)
    restored = Database.open(restored_path)
    new_ids = add_events(restored, signed, 3, start=100)  # seq 11-13 again: taken on the store

    report = run_sync(restored, ENGINE, cfg, TODAY)
    assert report.alignment.lost == 6 and report.alignment.renumbered == 3
    assert report.alignment.next_seq == 20
    message = report.alignment.message()
    assert "6 个事件是本数据库没有的" in message and "sync recover" in message
    assert "BX34020220261123" + "0003" in message
    assert "BA34020220261123" + "0016" in message  # numbers continue after the store's
    assert report.tally.accepted == 3 and report.tally.rejected == 0
    assert outbox.status(restored).problems == 0 and set(new_ids) <= local_state(restored)[1]
    assert not report.reconciled and report.missing_here == 6  # the store holds six more
    second = run_sync(restored, ENGINE, cfg, TODAY)  # later runs still point to the recovery
    assert not second.alignment.restored and second.missing_here == 6
    assert "sync recover" in outbox.status(restored).last_error

    with restored.read() as session:  # a read session: the number drawn here is not kept
        office_row = session.get(Office, signed.office_id)
        assert office_row is not None
        assert next_number(session, office_row, "filing", TODAY, "BA").endswith("0016")

    lines = recover(restored, cfg)
    assert len(lines) == 6
    assert all(line.startswith("备案 BA340202202611230") for line in lines[:5])
    assert lines[5] == "报销 BX340202202611230002 报销乙 110105********0038 accepted"
    with restored.read() as session:
        numbers = {f.number for f in session.exec(select(Filing)).all()}
        sequence = session.get(NumberSequence, (signed.office_id, "filing", TODAY))
        claims = session.get(NumberSequence, (signed.office_id, "claim", TODAY))
        claim = session.exec(select(Claim)).one()
    assert {f"BA34020220261123{i:04d}" for i in range(11, 16)} <= numbers
    assert sequence is not None and sequence.last >= 15
    assert claims is not None and claims.last == 2
    assert (claim.status, claim.total, claim.fund_total) == (
        "accepted",
        Decimal("1234.50"),
        Decimal("987.60"),
    )
    assert recover(restored, cfg) == []  # nothing left to take back

    later = add_events(restored, signed, 2, start=200)
    after = run_sync(restored, ENGINE, cfg, TODAY)
    assert after.reconciled and after.tally.accepted == 2 and after.server_count == 21
    assert set(later) <= local_state(restored)[1]
    assert sorted(server_ids(province_url, signed.office_code)) == sorted(local_state(restored)[0])


def test_plain_http_to_another_machine_is_refused_unless_allowed() -> None:
    assert plain_http_refused("http://127.0.0.1:8700", False) == ""
    assert plain_http_refused("http://localhost:8700", False) == ""
    assert plain_http_refused("http://[::1]:8700", False) == ""
    assert plain_http_refused("https://yb.example.cn", False) == ""
    assert "sync.allow_insecure" in plain_http_refused("http://10.1.2.3:8700", False)
    assert "sync.allow_insecure" in plain_http_refused("http://yb.example.cn", False)
    assert plain_http_refused("http://yb.example.cn", True) == ""
    assert "https://" in plain_http_refused("ftp://yb.example.cn", True)
    from counter_app.sync.client import ClientConfig

    with pytest.raises(SyncError, match="拒绝以明文 http"):
        ProvinceClient(ClientConfig(url="http://192.0.2.7:8700", token="t"))
    allowed = ProvinceClient(
        ClientConfig(url="http://192.0.2.7:8700", token="t", allow_insecure=True)
    )
    allowed.close()


def test_the_token_never_shows_in_reprs_or_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from counter_app.settings import Settings

    monkeypatch.setenv("COUNTER_CONFIG", "/nonexistent/none.toml")
    monkeypatch.setenv("COUNTER_SYNC__TOKEN", "tok-very-secret")
    settings = Settings()
    client = ClientConfig.from_settings(settings.sync)
    assert "tok-very-secret" not in repr(settings) + str(settings) + repr(client)
    assert client.secret().get_secret_value() == "tok-very-secret"


@pytest.mark.parametrize("province_url", ["sqlite", "postgres"], indirect=True)
def test_hostile_key_announcements_and_cursors_get_4xx_never_5xx(
    server: ServerProcess, store: ProvinceStore, token: str
) -> None:
    import httpx

    good = signing.announce("340202", signing.new_key(), None)
    other = signing.announce("340203", signing.new_key(), None)
    server.start()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{server.base_url}/v1"
    bodies: list[Any] = [
        {},
        [],
        "x",
        {**good, "office": "3402\u00002"},
        {**good, "public_key": "zz" * 32},
        {**good, "public_key": 5},
        {**good, "proof": {"alg": "ed25519", "key_id": "k", "value": "\ud800"}},
        {**good, "proof": "ab"},
        {**good, "extra": 1},
        {**good, "office": "3" * 500},
        other,  # a valid announcement, but for another office than the token's
        {**good, "proof": other["proof"]},  # someone else's proof
    ]
    for body in bodies:
        answer = httpx.post(
            f"{url}/office-key",
            content=json.dumps(body),  # ASCII escapes: a lone surrogate travels as \ud800
            headers={**headers, "Content-Type": "application/json"},
            timeout=10,
        )
        assert 400 <= answer.status_code < 500, (body, answer.text)
    assert httpx.post(f"{url}/office-key", json=good, headers=headers).status_code == 200
    for params in ({"since": -1}, {"since": 2**63}, {"since": "x"}, {"since": 2**31}):
        answer = httpx.get(f"{url}/hello", params=params, headers=headers, timeout=10)
        assert answer.status_code == 422, (params, answer.text)
    for params in ({"after": -1}, {"after": 2**40}, {"limit": 0}, {"limit": 10_000}):
        answer = httpx.get(f"{url}/own-events", params=params, headers=headers, timeout=10)
        assert answer.status_code == 422, (params, answer.text)
    assert httpx.get(f"{url}/hello", timeout=10).status_code == 401
    hello = httpx.get(f"{url}/hello", headers=headers, timeout=10).json()
    assert hello["office"] == "340202" and hello["max_seq"] == 0 and hello["protocol"] == "v1"
