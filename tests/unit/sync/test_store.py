"""The provincial store's answers, the office's handling of them, packages and offline files.

Run on SQLite and on PostgreSQL (the ``store`` fixture); the protocol's hashes and signatures are
checked on their own first.
"""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import date
from pathlib import Path

import pytest

from counter_app.province.store import ProvinceStore, StoreError
from counter_app.province.transfer import import_batch
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.sync import outbox, protocol, signing
from counter_app.sync.protocol import SignatureError
from counter_app.sync.pulled import inbox_counts, store_page
from counter_app.sync.registration import key_dir
from counter_app.sync.transfer import export_batch, import_answer
from tests.support.province import add_events, filing_payload, local_state, make_office, register

TODAY = date(2026, 11, 23)
Office = tuple[Database, SignedIn]


def _event(office: str, seq: int, payload: dict, kind: str = "filing.new", eid: str = "") -> dict:
    return {
        "id": eid or f"{office}-{seq:06d}",
        "office": office,
        "seq": seq,
        "clerk": "1",
        "kind": kind,
        "payload": payload,
    }


def test_event_hash_covers_the_payload_but_not_the_time() -> None:
    event = _event("340202", 1, {"number": "BA1"})
    assert protocol.event_hash(event) == protocol.event_hash({**event, "created_at": "x"})
    assert protocol.event_hash(event) != protocol.event_hash({**event, "payload": {"number": "2"}})


def test_signed_document_refuses_any_change_a_foreign_key_and_the_old_hmac() -> None:
    key, other = signing.new_key(), signing.new_key()
    keys = {signing.key_id_of(key): signing.public_hex(key)}
    document = signing.sign({"format": protocol.BATCH_FILE, "events": [{"id": "1"}]}, key)
    assert signing.verify(document, keys, protocol.BATCH_FILE, "测试")["events"] == [{"id": "1"}]
    tampered = json.loads(json.dumps(document))
    tampered["body"]["events"][0]["id"] = "2"
    with pytest.raises(SignatureError, match="文件签名不符"):
        signing.verify(tampered, keys, protocol.BATCH_FILE, "测试")
    with pytest.raises(SignatureError, match="未登记或已停用的密钥"):
        signing.verify(signing.sign(document["body"], other), keys, protocol.BATCH_FILE, "测试")
    # The signature of another key under this key's id does not pass either.
    forged = {**document, "signature": {**signing.signature(document["body"], other)}}
    forged["signature"]["key_id"] = signing.key_id_of(key)
    with pytest.raises(SignatureError, match="文件签名不符"):
        signing.verify(forged, keys, protocol.BATCH_FILE, "测试")
    with pytest.raises(SignatureError, match="文件类型不对"):
        signing.verify(document, keys, protocol.ANSWER_FILE, "测试")
    old_way = {"body": document["body"], "signature": "ab" * 32}
    with pytest.raises(SignatureError, match=r"旧版方式.*重新导出"):
        signing.verify(old_way, keys, protocol.BATCH_FILE, "测试")


def test_conflict_with_another_office_is_rejected_alone(store: ProvinceStore) -> None:
    store.add_office("340202", "镜湖区", "340200")
    store.add_office("340203", "弋江区", "340200")
    a, b = store.office("340202"), store.office("340203")
    assert a is not None and b is not None
    person = filing_payload("340202", 1)
    assert store.apply_batch(a, [_event("340202", 1, person)], "a1") == [{"status": "accepted"}]
    theirs = {**person, "number": "BA340203202611230001"}
    answers = store.apply_batch(
        b,
        [
            _event("340203", 1, theirs),
            {"id": "broken"},  # one bad event never blocks the rest
            _event("340203", 3, filing_payload("340203", 2)),
            _event("340202", 4, filing_payload("340203", 3)),
            _event("340203", 5, {"number": "BA9"}, kind="filing.cancel"),
            _event("340203", 6, {}, kind="stock.take"),
            _event("340203", 9, {"number": "LX3402032026112300001"}, kind="claim.settle"),
            _event("340203", 10, {**filing_payload("340203", 4), "destination": "4601001"}),
            _event("340203", 11, {**filing_payload("340203", 5), "status": 1}),
        ],
        "b1",
    )
    codes = [a.get("code", a["status"]) for a in answers]
    assert codes == [
        "active_filing_elsewhere",
        "bad_event",
        "accepted",
        "wrong_office",
        "bad_event",
        "unknown_kind",
        "accepted",  # claim events are kept as they come
        "bad_event",  # too long for its column: refused alone, not a failed batch
        "bad_event",
    ]
    assert answers[-2]["message"].endswith("payload.destination：过长（最多 6 个字符）")
    assert "340202********0001" in answers[0]["message"] and "镜湖区" in answers[0]["message"]
    # Once 镜湖区 cancels, 弋江区's filing goes through, and 镜湖区 hears of it.
    cancel = {**person, "action": "cancel", "status": "cancelled"}
    assert store.apply_batch(a, [_event("340202", 2, cancel, "filing.cancel")], "a2")[0] == {
        "status": "accepted"
    }
    assert store.apply_batch(b, [_event("340203", 7, theirs)], "b2")[0]["status"] == "accepted"
    told = store.pull(a, 0, 10)
    assert [(i["type"], i["data"]["number"]) for i in told] == [
        ("filing_elsewhere", "BA340203202611230001")
    ]
    assert store.pull(b, 0, 10) == []  # nothing was addressed to 弋江区
    store.add_office("320102", "玄武区", "320100")
    store.add_registry_update("340200", {"id_number": "340202198001010001", "status": "停保"})
    other = store.office("320102")
    assert other is not None and store.pull(other, 0, 10) == []  # another pool's office
    assert [i["type"] for i in store.pull(b, 0, 10)] == ["registry_update"]
    # Only the filing's own office may change it.
    change = _event("340203", 8, {**person, "action": "change"}, "filing.change")
    assert store.apply_batch(b, [change], "b3")[0]["code"] == "not_your_filing"


def test_same_sequence_number_with_another_id_is_refused(store: ProvinceStore) -> None:
    store.add_office("340202", "镜湖区", "340200")
    a = store.office("340202")
    assert a is not None
    store.apply_batch(a, [_event("340202", 1, filing_payload("340202", 1))], "x")
    again = _event("340202", 1, filing_payload("340202", 2), eid="other-id")
    assert store.apply_batch(a, [again], "y")[0]["code"] == "seq_conflict"


def test_packages_are_numbered_and_stale_or_repeated_ones_refused(
    store: ProvinceStore, tmp_path: Path
) -> None:
    store.add_office("340202", "镜湖区", "340200")
    calendar = {"year": 2027, "version": "国办发明电〔2026〕", "holidays": ["2027-01-01"]}
    store.add_package("holiday_calendar", 1, calendar)
    with pytest.raises(StoreError, match="不晚于已发布的第 1 号"):
        store.add_package("holiday_calendar", 1, calendar)
    store.add_package("holiday_calendar", 2, {**calendar, "holidays": ["2027-01-01", "2027-01-02"]})
    office = store.office("340202")
    assert office is not None
    items = store.pull(office, 0, 10)
    db, signed = make_office(tmp_path / "office.db")
    engine = build_engine("wuhu")
    first = store_page(db, engine, signed.office_id, items, items[-1]["cursor"], TODAY)
    assert (first.packages, first.refused) == (2, [])
    # The same pages again (a replayed download) and an older number: refused, with reasons.
    stale = [{"cursor": 99, "type": "package", "data": {**items[0]["data"], "number": 1}}]
    again = store_page(db, engine, signed.office_id, items[1:] + stale, 99, TODAY)
    assert again.packages == 0
    assert again.refused == [
        "节假日日历第 2 号已经导入过，重复的包已拒收",
        "节假日日历第 1 号早于已导入的第 2 号（过期），已拒收",
    ]
    broken = [
        {
            "cursor": 100,
            "type": "package",
            "data": {"kind": "holiday_calendar", "number": 3, "content": {"year": 2027}},
        }
    ]
    (refusal,) = store_page(db, engine, signed.office_id, broken, 100, TODAY).refused
    assert refusal.startswith("节假日日历第 3 号内容有误，已拒收")


def test_rejected_events_wait_for_a_clerk(store: ProvinceStore, office: Office) -> None:
    db, signed = office
    ids = add_events(db, signed, 3)
    answers = [
        (ids[0], {"status": "accepted"}),
        (ids[1], protocol.rejection("active_filing_elsewhere", "x")),
        (ids[2], protocol.rejection("unknown_filing", "y")),
    ]
    tally = outbox.record_answers(db, answers)
    assert (tally.accepted, tally.rejected) == (1, 2)
    state = outbox.status(db)
    assert (state.pending, state.problems) == (0, 2)
    assert [p.code for p in outbox.problems(db)] == ["active_filing_elsewhere", "unknown_filing"]
    assert outbox.pending_batch(db, outbox.office_of(db), 10) == []
    outbox.resolve(db, signed.clerk_id, ids[1], "retry")
    outbox.resolve(db, signed.clerk_id, ids[2], "dismiss", "已线下处理")
    assert [e["id"] for e in outbox.pending_batch(db, outbox.office_of(db), 10)] == [ids[1]]
    assert outbox.status(db).problems == 0
    with pytest.raises(LookupError):
        outbox.resolve(db, signed.clerk_id, ids[2], "retry")


def test_offline_transfer_round_trip_and_tampering(
    store: ProvinceStore, office: Office, tmp_path: Path
) -> None:
    db, signed = office
    register(store, db, tmp_path)
    folder = key_dir(db.path)
    add_events(db, signed, 700)  # more than one push batch
    batch, answer = tmp_path / "batch.json", tmp_path / "answer.json"
    assert export_batch(db, folder, batch) == 700

    tampered = tmp_path / "tampered.json"
    document = json.loads(batch.read_text(encoding="utf-8"))
    document["body"]["events"][5]["payload"]["destination"] = "110101"
    tampered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SignatureError, match="文件签名不符"):
        import_batch(store, tampered, answer)
    assert not answer.exists()

    counts = import_batch(store, batch, answer)
    assert counts == {"accepted": 700, "duplicate": 0, "rejected": 0}
    assert import_batch(store, batch, tmp_path / "again.json")["duplicate"] == 700
    tally = import_answer(db, folder, answer)
    assert tally.accepted == 700
    ids, sent = local_state(db)
    assert sent == ids
    assert export_batch(db, folder, tmp_path / "next.json") == 0
    assert outbox.status(db).last_ok_at is not None


def test_the_same_batch_pushed_twice_at_the_same_moment(store: ProvinceStore) -> None:
    """Two requests race with the same events: each is stored once, the loser hears duplicate."""
    store.add_office("340202", "镜湖区", "340200")
    office = store.office("340202")
    assert office is not None
    batch = [_event("340202", i, filing_payload("340202", i)) for i in range(1, 301)]
    gate = threading.Barrier(2)
    answers: list[list[dict]] = []

    def push() -> None:
        gate.wait()
        answers.append(store.apply_batch(office, batch, "race"))

    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted({a["status"] for a in answer} for answer in answers)
    assert statuses == [{"accepted"}, {"duplicate"}]
    assert store.counts() == {"340202": 300}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_reconcile_digests_from_the_push_hashes_equal_those_read_back(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The hashes a push works out while its batch is in flight give the same block digests as
    the stored events read back and hashed (an office database on SQLite or PostgreSQL)."""
    if kind == "sqlite":
        db, signed = make_office(tmp_path / "office.db")
    else:
        from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
        from tests.support.province import PASSWORD

        url = request.getfixturevalue("pg_cluster").new_database()
        db = Database.open_url(url)
        ensure_office(db, "340202", "测试经办机构340202", "wuhu", "340200")
        add_clerk(db, "340202", "clerk340202", "测试经办人", PASSWORD)
        found = sign_in(db, "clerk340202", PASSWORD)
        assert found is not None
        signed = found
    add_events(db, signed, 130)
    office = outbox.office_of(db)
    sent = outbox.pending_batch(db, office, 120)
    outbox.record_answers(db, [(e["id"], {"status": "accepted"}) for e in sent])
    hashes = {e["id"]: protocol.event_hash(e) for e in sent[:70]}  # the rest read back
    read_back = outbox.local_digests(db, office)
    assert outbox.local_digests(db, office, hashes) == read_back
    assert sum(block["count"] for block in read_back.values()) == 120
    wrong = {**hashes, sent[0]["id"]: "0" * 64}
    assert outbox.local_digests(db, office, wrong) != read_back  # the given hashes are used
    db.close()


def test_claim_events_raced_meet_at_the_unique_key_and_are_answered_duplicate(
    store: ProvinceStore,
) -> None:
    """Claim events take no person lock: two requests with the same events both get as far as
    the bulk write (COPY on PostgreSQL); the loser hits the event key, is rolled back, runs
    again and is answered from what the winner committed."""
    store.add_office("340202", "镜湖区", "340200")
    office = store.office("340202")
    assert office is not None
    batch = [
        _event("340202", i, {"number": f"LB340202{i:04d}", "action": "submit"}, "claim.submitted")
        for i in range(1, 201)
    ]
    gate = threading.Barrier(2)
    # On PostgreSQL both first attempts have read "not known" before either writes; SQLite has
    # one writer at a time, so there the wait times out and the second runs after the first.
    both_read = threading.Barrier(2, timeout=2)
    waited: set[int] = set()
    answers: list[list[dict]] = []

    def after_event(index: int) -> None:
        if index == len(batch) - 1 and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()

    def push() -> None:
        gate.wait()
        answers.append(store.apply_batch(office, batch, "race"))

    store.after_event = after_event
    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted({a["status"] for a in answer} for answer in answers)
    assert statuses == [{"accepted"}, {"duplicate"}]
    assert store.counts() == {"340202": 200}


def test_bulk_write_of_a_stored_key_is_an_integrity_error(store: ProvinceStore) -> None:
    """``insert_rows`` (executemany on SQLite, COPY on PostgreSQL) reports a unique key hit as
    SQLAlchemy's ``IntegrityError``: what ``apply_batch`` retries on."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from counter_app.province.tables import events, insert_rows

    row = {
        "id": "e1",
        "office": "340202",
        "seq": 1,
        "clerk": "1",
        "kind": "claim.submitted",
        "hash": "0" * 64,
        "payload": "{}",
        "batch_id": "b",
        "received_at": datetime(2026, 11, 23, tzinfo=UTC),
    }
    with store.engine.begin() as conn:
        insert_rows(conn, events, [row])
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_rows(conn, events, [{**row, "seq": 2}, row])
    with store.engine.connect() as conn:
        stored = conn.execute(events.select()).all()
    assert [(r.id, r.seq, r.received_at.replace(tzinfo=UTC)) for r in stored] == [
        ("e1", 1, datetime(2026, 11, 23, tzinfo=UTC))
    ]


def test_pulled_registry_updates_and_filings_elsewhere_are_kept_once(tmp_path: Path) -> None:
    db, signed = make_office(tmp_path / "office.db")
    items = [
        {"cursor": 3, "type": "registry_update", "data": {"id_number": "x", "status": "停保"}},
        {"cursor": 5, "type": "filing_elsewhere", "data": {"number": "BA1"}},
    ]
    engine = build_engine("wuhu")
    assert store_page(db, engine, signed.office_id, items, 5, TODAY).inbox == 2
    assert store_page(db, engine, signed.office_id, items, 5, TODAY).inbox == 0  # replayed
    assert inbox_counts(db) == {"registry_update": 1, "filing_elsewhere": 1}
    with db.read() as session:
        assert outbox.get_cursor(session).value == 5


def test_two_offices_filing_the_same_person_at_once(store: ProvinceStore) -> None:
    """Serialised per person: one office gets the filing, the other is told of the conflict."""
    store.add_office("340202", "镜湖区", "340200")
    store.add_office("340203", "弋江区", "340200")
    gate = threading.Barrier(2)
    answers: dict[str, list[dict]] = {}

    def push(code: str) -> None:
        office = store.office(code)
        assert office is not None
        # The same 30 persons (keys from 340202's numbering), each office its own numbers.
        batch = [
            _event(code, i, {**filing_payload("340202", i), "number": f"BA{code}{i:04d}"})
            for i in range(1, 31)
        ]
        gate.wait()
        answers[code] = store.apply_batch(office, batch, code)

    threads = [threading.Thread(target=push, args=(c,)) for c in ("340202", "340203")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(30):
        pair = sorted(answers[code][i].get("code", answers[code][i]["status"]) for code in answers)
        assert pair == ["accepted", "active_filing_elsewhere"]
    active = [f for f in store.office_filings() if f["status"] == "active"]
    assert len(active) == 30 and len({f["id_number"] for f in active}) == 30
