"""A clerk process for the race tests: files for one person through the workflow.

Run by ``tests/unit/test_workflow_race.py`` twice at once against one office database (an SQLite
file or a PostgreSQL URL), so that two real processes race on one person. One line per fact on
stdout, flushed at once::

    race_clerk.py setup DB
        an office (江苏 320102), clerks ``clerk1`` and ``clerk2``, one person: ``person <id>``
    race_clerk.py file DB CLERK PERSON CATEGORY DESTINATION [--go FLAG] [--hold DIR]
        opens the filing wizard (reads the person's filings, shows the verdict), prints ``ready``,
        waits for FLAG, prints ``begin`` and commits what the clerk chose with the verdict seen:
        ``ok <number>``, ``refused <message>`` or ``stale <message>``. With --hold it stops
        inside the write transaction, after the decision: creates DIR/in_tx, waits for
        DIR/release.
    race_clerk.py claims DB
        two inpatient claims of the person under the 北京 rules (the deductible once a year),
        accepted and reviewed: ``claims <n1> <n2>``
    race_clerk.py settle DB CLERK NUMBER [--go FLAG]
        opens the claim page (version and payment as shown), prints ``ready``, waits for FLAG,
        prints ``begin`` and settles: ``ok <number>`` or ``refused <message>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from counter_app.rules_engine import build_engine
from counter_app.storage import filings
from counter_app.storage.claims import ClaimRefused, read_claim
from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.filings import FilingRefused, StaleFiling, as_existing, person_filings
from counter_app.storage.persons import save_person
from counter_app.workflows.claims import advance_claim, take_claim
from counter_app.workflows.filings import commit_filing

POLICY = "jiangsu"
OFFICE = "320102"
TODAY = date(2026, 3, 2)
PASSWORD = "password123"
PERSON = ("张三", "11010519491231002X")
WAIT_LIMIT_S = 30.0


def say(*parts: object) -> None:
    print(*parts, flush=True)


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {path}")
        time.sleep(0.002)


def open_db(spec: str) -> Database:
    return Database.open_url(spec) if "://" in spec else Database.open(spec)


def setup(args: argparse.Namespace) -> None:
    engine = build_engine(POLICY)
    db = open_db(args.db)
    ensure_office(db, OFFICE, "玄武区医疗保障服务中心", POLICY, engine.pack.pack.home_pool_code)
    for index in (1, 2):
        add_clerk(db, OFFICE, f"clerk{index}", f"经办人{index}", PASSWORD)
    signed = sign_in(db, "clerk1", PASSWORD)
    assert signed is not None
    person_id = save_person(db, signed.clerk_id, name=PERSON[0], id_number=PERSON[1], today=TODAY)
    say("person", person_id)
    db.close()


def file(args: argparse.Namespace) -> None:
    engine = build_engine(POLICY)
    db = open_db(args.db)
    signed = sign_in(db, args.clerk, PASSWORD)
    assert signed is not None
    # The wizard opens: the person's filings as they are now, the verdict the clerk sees.
    request: dict[str, Any] = {
        "policy": POLICY,
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": PERSON[0], "id_number": PERSON[1]},
        "insurance": "employee",
        "scope": "cross_province",
        "category": args.category,
        "destination": args.destination,
        "materials": ["id_card"],
        "existing": as_existing(person_filings(db, args.person)),
    }
    seen = engine.filing(request)
    for _ in range(4):
        if not seen.missing:
            break
        request["materials"] = [*request["materials"], *seen.missing]
        seen = engine.filing(request)
    assert seen.allowed, seen.reasons
    if args.hold:
        hold, real_emit = Path(args.hold), filings.emit

        def held_emit(*emit_args: Any, **emit_kwargs: Any) -> str:
            (hold / "in_tx").touch()
            wait_for(hold / "release")
            return real_emit(*emit_args, **emit_kwargs)

        filings.emit = held_emit  # type: ignore[assignment]
    say("ready")
    if args.go:
        wait_for(Path(args.go))
    say("begin")
    try:
        committed = commit_filing(db, engine, signed, args.person, request, seen=seen)
    except StaleFiling as exc:
        say("stale", exc)
    except FilingRefused as exc:
        say("refused", exc)
    else:
        say("ok", committed.number)
    db.close()


CLAIM_POLICY = "beijing"


def claims(args: argparse.Namespace) -> None:
    engine = build_engine(CLAIM_POLICY)
    db = open_db(args.db)
    signed = sign_in(db, "clerk1", PASSWORD)
    assert signed is not None
    numbers = []
    for admitted, discharged in (("2026-02-02", "2026-02-10"), ("2026-02-12", "2026-02-20")):
        request: dict[str, Any] = {
            "policy": CLAIM_POLICY,
            "today": TODAY.isoformat(),
            "insurance": "employee",
            "scope": "cross_province",
            "filing": "long_term",
            "treatment": "inpatient",
            "hospital_level": 3,
            "materials": ["id_card", "invoice", "inpatient_bill", "discharge_summary"],
            "admission_date": admitted,
            "discharge_date": discharged,
            "amounts": {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"},
        }
        for _ in range(4):
            missing = engine.claim(request).missing
            if not missing:
                break
            request["materials"] = [*request["materials"], *missing]
        taken = take_claim(db, engine, signed, 1, request, seen=None)
        advance_claim(db, engine, signed, taken.number, "review", today=TODAY)
        numbers.append(taken.number)
    say("claims", *numbers)
    db.close()


def settle(args: argparse.Namespace) -> None:
    engine = build_engine(CLAIM_POLICY)
    db = open_db(args.db)
    signed = sign_in(db, args.clerk, PASSWORD)
    assert signed is not None
    view = read_claim(db, args.number)  # the page as the clerk opened it
    assert view is not None
    say("ready")
    if args.go:
        wait_for(Path(args.go))
    say("begin")
    try:
        done = advance_claim(
            db,
            engine,
            signed,
            args.number,
            "settle",
            expected_version=view.claim.version,
            today=TODAY,
        )
    except ClaimRefused as exc:
        say("refused", exc)
    else:
        say("ok", done.number)
    db.close()


def main(argv: list[str] | None = None) -> None:
    """Run one command (``argv``: its arguments; the command line when None)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("setup")
    p.add_argument("db")
    p.set_defaults(run=setup)
    p = commands.add_parser("file")
    p.add_argument("db")
    p.add_argument("clerk")
    p.add_argument("person", type=int)
    p.add_argument("category")
    p.add_argument("destination")
    p.add_argument("--go")
    p.add_argument("--hold")
    p.set_defaults(run=file)
    p = commands.add_parser("claims")
    p.add_argument("db")
    p.set_defaults(run=claims)
    p = commands.add_parser("settle")
    p.add_argument("db")
    p.add_argument("clerk")
    p.add_argument("number")
    p.add_argument("--go")
    p.set_defaults(run=settle)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
