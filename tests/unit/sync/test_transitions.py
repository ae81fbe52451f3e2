"""The store decides filing transitions itself (issue 10 item 5), on SQLite and PostgreSQL.

A table of crafted events, each applied after the ones before it: number reuse, foreign
``supersedes``, changes and cancellations of filings that are not the office's or not in a state
that allows it, case games with statuses, activation of a pending filing (which runs the conflict
check), 多地备案, the 北京 re-filing rule (京细则 第十条) and expiry by date (an expired filing
elsewhere blocks nothing and cannot be changed). Every refusal has its own Chinese reason, writes
nothing, and never blocks the other events of its batch.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from counter_app.province.store import ProvinceStore
from counter_app.sync.transitions import TRANSITIONS, FilingStatus, refusal, standing

TODAY = date(2026, 12, 1)
A, B = "340202", "340203"  # two offices of 芜湖 (pack wuhu)
ALICE = "340202198001010011"
BOB = "340202198001010022"
_ids = itertools.count(1)


def filing(number: str, person: str = ALICE, **extra: Any) -> dict[str, Any]:
    """A filing payload as the counter sends it."""
    return {
        "action": "new",
        "number": number,
        "person": {"name": "测试", "id_number": person},
        "category": "long_term_resident",
        "scope": "cross_province",
        "insurance": "employee",
        "destination": "460100",
        "basis": "materials",
        "valid_from": "2026-11-01",
        "valid_until": None,
        "status": "active",
        "version": 1,
        "supersedes": [],
        **extra,
    }


def event(office: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An event with a fresh id and sequence number (the payload's action set from the kind)."""
    n = next(_ids)
    if kind.startswith("filing.") and isinstance(payload, dict):
        payload = {**payload, "action": kind.removeprefix("filing.")}
    return {
        "id": f"{office}-{n}",
        "office": office,
        "seq": n,
        "clerk": "1",
        "kind": kind,
        "payload": payload,
    }


@pytest.fixture
def offices(store: ProvinceStore) -> ProvinceStore:
    """Two 芜湖 offices and one 北京 office, the store's date fixed."""
    store.today = lambda: TODAY
    store.add_office(A, "镜湖区", "340200")
    store.add_office(B, "弋江区", "340200")
    store.add_office("110105", "朝阳区", "110000")
    return store


def push(store: ProvinceStore, office: str, *batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a batch as ``office``; the answers."""
    info = store.office(office)
    assert info is not None
    return store.apply_batch(info, list(batch), f"b{next(_ids)}")


def code(answer: dict[str, Any]) -> str:
    """``accepted``/``duplicate`` or the refusal's code."""
    return answer.get("code", answer["status"])


def statuses(store: ProvinceStore) -> dict[str, str]:
    """Every stored filing's status."""
    return {f["number"]: f["status"] for f in store.office_filings()}


# (office, kind, payload, expected answer code, a word the refusal's message must contain)
STEPS: list[tuple[str, str, dict[str, Any], str, str]] = [
    (A, "filing.new", filing("BA1"), "accepted", ""),
    # The same number again, from the same office (a new event, not a retry) or another.
    (A, "filing.new", filing("BA1", destination="310100"), "number_taken", "BA1"),
    (B, "filing.new", filing("BA1", person=BOB), "number_taken", "BA1"),
    # Another office's active long-term filing of the person blocks a new one.
    (B, "filing.new", filing("BB1"), "active_filing_elsewhere", "镜湖区"),
    # A pending filing is not in force: it blocks nothing and is not blocked...
    (B, "filing.new", filing("BB2", status="pending"), "accepted", ""),
    # ...but activating it runs the conflict check.
    (B, "filing.change", filing("BB2", action="change"), "active_filing_elsewhere", "BA1"),
    # supersedes naming another office's filing, or another person's: refused, never applied.
    (B, "filing.new", filing("BB3", person=BOB, supersedes=["BA1"]), "not_your_filing", "BA1"),
    (A, "filing.new", filing("BA2", person=BOB, supersedes=["BA1"]), "person_mismatch", "BA1"),
    (A, "filing.new", filing("BA3", supersedes=["BX9"]), "unknown_filing", "BX9"),
    # Change/cancel only of the office's own filing, of the same person.
    (B, "filing.change", filing("BA1", action="change"), "not_your_filing", "BA1"),
    (B, "filing.cancel", filing("BA1", action="cancel", status="cancelled"), "not_your_filing", ""),
    (A, "filing.change", filing("BA1", person=BOB), "person_mismatch", "BA1"),
    (A, "filing.cancel", filing("BX9", status="cancelled"), "unknown_filing", "BX9"),
    # Statuses are exact values; the store, not the office, decides what a change may become.
    (A, "filing.change", filing("BA1", status="ACTIVE"), "bad_event", "payload.status"),
    (A, "filing.change", filing("BA1", status="superseded"), "bad_event", "payload.status"),
    (A, "filing.change", filing("BA1", status="pending"), "bad_transition", "不能变更为待生效"),
    (A, "filing.cancel", filing("BA1", status="active"), "bad_event", "payload.status"),
    (A, "filing.new", filing("BA4", supersedes=7), "bad_event", "payload.supersedes"),
    # A change of the office's own active filing is checked too: still fine alone.
    (A, "filing.change", filing("BA1", destination="310100"), "accepted", ""),
    (A, "filing.cancel", filing("BA1", status="cancelled"), "accepted", ""),
    (A, "filing.cancel", filing("BA1", status="cancelled"), "bad_transition", "已取消"),
    (A, "filing.change", filing("BA1"), "bad_transition", "已取消"),
    # Once 镜湖区 cancelled, the pending filing at 弋江区 may become active.
    (B, "filing.change", filing("BB2", action="change"), "accepted", ""),
    # 多地备案: long-term filings to different places coexist; to the same place they do not.
    (A, "filing.new", filing("BA5", multi_place=True, destination="310100"), "accepted", ""),
    (A, "filing.new", filing("BA6", multi_place=True, destination="460100"), "active_filing_", ""),
    # A change that makes two filings meet is refused like a new one.
    (A, "filing.change", filing("BA5", multi_place=True), "active_filing_elsewhere", "BB2"),
    # Temporary filings: another to the same place is refused, to another place allowed.
    (
        A,
        "filing.new",
        filing("BT1", person=BOB, category="other_temporary", valid_until="2027-05-31"),
        "accepted",
        "",
    ),
    (
        B,
        "filing.new",
        filing("BT2", person=BOB, category="other_temporary", valid_until="2027-05-31"),
        "active_filing_elsewhere",
        "临时备案",
    ),
    (
        B,
        "filing.new",
        filing(
            "BT3",
            person=BOB,
            category="other_temporary",
            destination="310100",
            valid_until="2027-05-31",
        ),
        "accepted",
        "",
    ),
    # Changing BT3 to BT1's destination makes them meet: refused on change as well.
    (
        B,
        "filing.change",
        filing("BT3", person=BOB, category="other_temporary", valid_until="2027-05-31"),
        "active_filing_elsewhere",
        "BT1",
    ),
]


def test_every_crafted_transition_is_decided_by_the_store(offices: ProvinceStore) -> None:
    store = offices
    for index, (office, kind, payload, expected, word) in enumerate(STEPS):
        before = statuses(store)
        (answer,) = push(store, office, event(office, kind, payload))
        assert code(answer).startswith(expected), (index, answer)
        if expected != "accepted":
            assert answer["status"] == "rejected"
            assert word in answer["message"], (index, answer)
            assert statuses(store) == before, f"step {index} wrote although refused"
    assert statuses(store) == {
        "BA1": "cancelled",
        "BB2": "active",
        "BA5": "active",
        "BT1": "active",
        "BT3": "active",
    }


def test_refusals_never_block_the_rest_of_a_batch(offices: ProvinceStore) -> None:
    store = offices
    push(store, B, event(B, "filing.new", filing("BB1", person=BOB)))
    answers = push(
        store,
        A,
        event(A, "filing.new", filing("BA1")),
        event(A, "filing.new", filing("BA1")),  # number reuse inside the batch
        event(A, "filing.new", filing("BA2", supersedes=["BB1"])),  # foreign
        event(A, "filing.new", filing("BA3", person=BOB)),  # BB1 is active elsewhere
        event(A, "filing.cancel", filing("BA1", status="cancelled")),
        event(A, "filing.new", filing("BA4")),  # BA1 was just cancelled: fine
    )
    assert [code(a) for a in answers] == [
        "accepted",
        "number_taken",
        "not_your_filing",
        "active_filing_elsewhere",
        "accepted",
        "accepted",
    ]
    assert len({a["message"] for a in answers if "message" in a}) == 3
    assert statuses(store) == {"BB1": "active", "BA1": "cancelled", "BA4": "active"}


def test_expiry_counts_by_date_at_the_store(offices: ProvinceStore) -> None:
    store = offices
    ended = filing("BB1", category="other_temporary", valid_until="2026-11-30")  # yesterday
    last = filing("BB2", person=BOB, category="other_temporary", valid_until="2026-12-01")
    assert [code(a) for a in push(store, B, event(B, "filing.new", ended))] == ["accepted"]
    assert [code(a) for a in push(store, B, event(B, "filing.new", last))] == ["accepted"]
    # An expired filing elsewhere blocks nothing; one ending today still does.
    same_place = {"category": "other_temporary", "valid_until": "2027-05-31"}
    assert code(push(store, A, event(A, "filing.new", filing("BA1", **same_place)))[0]) == (
        "accepted"
    )
    refused = push(store, A, event(A, "filing.new", filing("BA2", person=BOB, **same_place)))
    assert code(refused[0]) == "active_filing_elsewhere"
    # The expired filing can be neither changed nor cancelled: a new filing is needed.
    for kind, status in (("filing.change", "active"), ("filing.cancel", "cancelled")):
        (answer,) = push(store, B, event(B, kind, {**ended, "status": status}))
        assert code(answer) == "bad_transition" and "已过期" in answer["message"]
    # ...and naming it in supersedes leaves it as it is.
    renewed = filing("BB3", category="other_temporary", valid_until="2027-05-31")
    assert code(push(store, B, event(B, "filing.new", {**renewed, "supersedes": ["BB1"]}))[0]) == (
        "active_filing_elsewhere"  # BA1 (镜湖区, same place) is active
    )
    assert statuses(store)["BB1"] == "active"  # stored as it was; it stands as expired


def test_beijing_refiling_ends_only_the_named_own_filing(offices: ProvinceStore) -> None:
    """京细则 第十条: a re-filing ends the old one, if the event names it (and it is its own)."""
    store, office = offices, "110105"
    person = "110105198001010011"
    first = filing("BJ1", person=person, destination="310100")
    assert code(push(store, office, event(office, "filing.new", first))[0]) == "accepted"
    unnamed = push(store, office, event(office, "filing.new", filing("BJ2", person=person)))
    assert code(unnamed[0]) == "active_filing_conflict" and "supersedes" in unnamed[0]["message"]
    named = filing("BJ2", person=person, supersedes=["BJ1"])
    assert code(push(store, office, event(office, "filing.new", named))[0]) == "accepted"
    assert statuses(store) == {"BJ1": "superseded", "BJ2": "active"}


def test_the_transition_table_is_closed() -> None:
    """Everything not in the table is refused with a reason; expired is derived, never stored."""
    statuses_or_none = [None, *FilingStatus]
    for event_kind, table in TRANSITIONS.items():
        for current, wanted in itertools.product(statuses_or_none, FilingStatus):
            allowed = current in table and wanted in table[current]
            assert (refusal(event_kind, current, wanted) == "") == allowed
            if current is FilingStatus.EXPIRED:
                assert not allowed
    assert standing("active", "2026-11-30", TODAY) is FilingStatus.EXPIRED
    assert standing("active", "2026-12-01", TODAY) is FilingStatus.ACTIVE
    assert standing("ACTIVE", None, TODAY) is FilingStatus.CANCELLED  # no case games
