"""One window of a multi-window office: a process with its own settings file, as a county PC runs.

Run by ``tests/unit/test_pg_office.py`` four times at once. The settings file (``COUNTER_CONFIG``)
names the shared PostgreSQL office database (``db_url``); the window opens it as the app does
(``Settings.open_database``, which migrates a fresh database — four windows race on that too),
registers the office and its own clerk, then waits for the go flag and works through ``ROUNDS``
persons of its own: registers each, files a temporary filing, takes an inpatient claim and
reviews it. Last, every window commits the long-term filing for the same shared person whose
wizard it opened before the start (only one may stand: 苏规程 第十一条).
One line per fact on stdout::

    ready
    filing <number> / claim <number>
    long_term ok <number> | long_term refused <message>
    done
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from counter_app.rules_engine import build_engine
from counter_app.settings import Settings
from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
from counter_app.storage.db import open_office_database
from counter_app.storage.filings import FilingRefused, StaleFiling, as_existing, person_filings
from counter_app.storage.persons import save_person
from counter_app.workflows.claims import advance_claim, take_claim
from counter_app.workflows.filings import commit_filing

OFFICE = "320102"
TODAY = date(2026, 3, 2)
PASSWORD = "password123"
SHARED = ("张三", "11010519491231002X")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
PLACES = ("440300", "460100", "530100", "310101", "110101", "500101")
WAIT_LIMIT_S = 120.0


def say(*parts: object) -> None:
    print(*parts, flush=True)


def id_number(window: int, index: int) -> str:
    """A valid 身份证号 of this window's ``index``-th person (birth 1990-01-01, own order code)."""
    first17 = f"32010219900101{window * 20 + index:03d}"
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def with_materials(decide: Any, request: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The request with every material the engine asks for, and its verdict."""
    result = decide(request)
    for _ in range(4):
        if not result.missing:
            break
        request = {**request, "materials": [*request["materials"], *result.missing]}
        result = decide(request)
    return request, result


def filing_request(person: tuple[str, str], category: str, destination: str) -> dict[str, Any]:
    return {
        "policy": "jiangsu",
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": person[0], "id_number": person[1]},
        "insurance": "employee",
        "scope": "cross_province",
        "category": category,
        "destination": destination,
        "materials": ["id_card"],
    }


def claim_request() -> dict[str, Any]:
    return {
        "policy": "jiangsu",
        "today": TODAY.isoformat(),
        "insurance": "employee",
        "scope": "cross_province",
        "filing": "long_term",
        "treatment": "inpatient",
        "hospital_level": 3,
        "materials": ["id_card", "invoice", "inpatient_bill", "discharge_summary"],
        "admission_date": "2026-02-08",
        "discharge_date": "2026-02-20",
        "amounts": {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("window", type=int)
    parser.add_argument("--go", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    settings = Settings()  # this window's own settings file (COUNTER_CONFIG)
    assert settings.database_url(), "the settings file names no db_url"
    engine = build_engine(settings.policy)
    db = open_office_database(settings)
    ensure_office(db, OFFICE, "玄武区医疗保障服务中心", settings.policy, "320100")
    username = f"window{args.window}"
    add_clerk(db, OFFICE, username, f"窗口{args.window}", PASSWORD)
    signed = sign_in(db, username, PASSWORD)
    assert signed is not None
    shared_id = save_person(db, signed.clerk_id, name=SHARED[0], id_number=SHARED[1], today=TODAY)
    # The long-term filing's wizard is open from the start: the verdict is taken now, before
    # any window has filed for the shared person; the commit re-decides under the person's lock.
    shared = filing_request(SHARED, "long_term_resident", PLACES[args.window % len(PLACES)])
    shared["existing"] = as_existing(person_filings(db, shared_id))
    shared, shared_seen = with_materials(engine.filing, shared)
    assert shared_seen.allowed, shared_seen.reasons
    say("ready")
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not Path(args.go).exists():
        if time.monotonic() > deadline:
            sys.exit("gave up waiting for the go flag")
        time.sleep(0.005)

    for index in range(args.rounds):
        person = (f"窗{args.window}号{index}", id_number(args.window, index))
        person_id = save_person(
            db, signed.clerk_id, name=person[0], id_number=person[1], today=TODAY
        )
        request, seen = with_materials(
            engine.filing, filing_request(person, "other_temporary", PLACES[index % len(PLACES)])
        )
        assert seen.allowed, seen.reasons
        say("filing", commit_filing(db, engine, signed, person_id, request, seen=seen).number)
        claim, _ = with_materials(engine.claim, claim_request())
        taken = take_claim(db, engine, signed, person_id, claim, seen=None)
        advance_claim(db, engine, signed, taken.number, "review", today=TODAY)
        say("claim", taken.number)

    try:
        committed = commit_filing(db, engine, signed, shared_id, shared, seen=shared_seen)
    except (FilingRefused, StaleFiling) as exc:
        say("long_term", "refused", str(exc).replace("\n", " "))
    else:
        say("long_term", "ok", committed.number)
    db.close()
    say("done")


if __name__ == "__main__":
    main()
