"""A clerk process for the durability tests: commits filings to an office database file.

Run by ``tests/unit/test_durability.py`` as a subprocess, so that it can be killed with SIGKILL
mid-commit or run twice at once against one file. It talks through stdout, one line per fact,
flushed at once::

    commit_loop.py setup DB --persons N --clerks N [--filing]
        an office (江苏, 320102), clerks ``clerk1``…, persons; with --filing one new filing of
        the first person: prints ``filing <number>``
    commit_loop.py loop DB CLERK [--count N] [--go FLAG]
        prints ``ready``, waits for FLAG to exist, then commits new temporary filings for the
        persons in turn, printing ``committed <number>`` after each commit returns (forever
        without --count). Each filing goes to another place (the rules refuse a second
        temporary filing to the same place); ``clerkN`` uses every Nth place of its own.
    commit_loop.py change DB CLERK NUMBER VERSION [--go FLAG] [--hold DIR]
        prepares a change of filing NUMBER as seen at VERSION, prints ``ready``, waits for FLAG,
        prints ``begin`` and commits: ``ok <number>`` or ``stale``. With --hold it stops inside
        the write transaction: creates DIR/in_tx and waits for DIR/release.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from counter_app.domain.idnumber import check_digit
from counter_app.rules_engine import build_engine
from counter_app.storage import filings
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.filings import FilingRefused, StaleFiling, as_existing, person_filings
from counter_app.storage.models import Filing, Person
from counter_app.storage.persons import save_person
from counter_app.workflows.filings import commit_filing

POLICY = "jiangsu"
OFFICE = "320102"
TODAY = date(2026, 3, 2)
PASSWORD = "password123"
NAMES = ["张三", "李四", "王五", "赵六", "陈七", "刘八", "杨九", "黄十"]
WAIT_LIMIT_S = 30.0


def say(*parts: object) -> None:
    print(*parts, flush=True)


def wait_for(path: Path) -> None:
    """The file-flag barrier: poll until ``path`` exists (bounded, so a lost test cannot hang)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {path}")
        time.sleep(0.002)


def new_request(name: str, id_number: str) -> dict[str, Any]:
    return {
        "policy": POLICY,
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": name, "id_number": id_number},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "other_temporary",
        "destination": "440300",
        "materials": ["id_card", "filing_form"],
    }


def sign(db: Database, clerk: str) -> SignedIn:
    signed = sign_in(db, clerk, PASSWORD)
    assert signed is not None, clerk
    return signed


def setup(args: argparse.Namespace) -> None:
    engine = build_engine(POLICY)
    db = Database.open(args.db)
    ensure_office(db, OFFICE, "玄武区医疗保障服务中心", POLICY, engine.pack.pack.home_pool_code)
    for index in range(1, args.clerks + 1):
        add_clerk(db, OFFICE, f"clerk{index}", f"经办人{index}", PASSWORD)
    signed = sign(db, "clerk1")
    first: tuple[int, str, str] | None = None
    for index in range(args.persons):
        name = NAMES[index % len(NAMES)]
        first17 = f"{OFFICE}1960{index % 12 + 1:02d}{index % 28 + 1:02d}{index:03d}"
        id_number = first17 + check_digit(first17)
        person_id = save_person(db, signed.clerk_id, name=name, id_number=id_number, today=TODAY)
        first = first or (person_id, name, id_number)
    if args.filing:
        assert first is not None
        person_id, name, id_number = first
        request = new_request(name, id_number)
        result = engine.filing(request)
        assert result.allowed, result.reasons
        committed = commit_filing(db, engine, signed, person_id, request, seen=result)
        say("filing", committed.number)
    db.close()


def loop(args: argparse.Namespace) -> None:
    engine = build_engine(POLICY)
    db = Database.open(args.db)
    signed = sign(db, args.clerk)
    with db.read() as session:
        persons = [
            (p.id, p.name, p.id_number)
            for p in session.exec(select(Person).order_by(col(Person.id)))
        ]
    places = [
        r.code for r in engine.regions.destinations() if not engine.regions.same_province(r, OFFICE)
    ]
    clerk_no = int(args.clerk.removeprefix("clerk") or 1)
    prepared = []
    for index in range(len(places) // 2):
        person_id, name, id_number = persons[index % len(persons)]
        place = places[(2 * index + clerk_no - 1) % len(places)]
        request = {**new_request(name, id_number), "destination": place}
        result = engine.filing(request)
        assert result.allowed, result.reasons
        prepared.append((person_id, request, result))
    say("ready")
    if args.go:
        wait_for(Path(args.go))
    say("start", time.time())
    index = 0
    while args.count is None or index < args.count:
        person_id, request, result = prepared[index % len(prepared)]
        try:
            committed = commit_filing(db, engine, signed, person_id, request, seen=result)
        except FilingRefused as exc:  # the places came round again: the rules refuse it
            say("refused", exc)
        else:
            say("committed", committed.number)
        index += 1
    say("end", time.time())
    db.close()


def change(args: argparse.Namespace) -> None:
    engine = build_engine(POLICY)
    db = Database.open(args.db)
    signed = sign(db, args.clerk)
    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.number == args.number)).one()
        person = session.get(Person, filing.person_id)
    assert person is not None and person.id is not None
    # Each clerk moves the filing somewhere else, so the two commits really differ.
    destination = {"clerk1": "460100", "clerk2": "530100"}.get(args.clerk, "310101")
    request = {
        **new_request(person.name, person.id_number),
        "action": "change",
        "target": args.number,
        "destination": destination,
        "existing": as_existing(person_filings(db, person.id)),
    }
    result = engine.filing(request)
    assert result.allowed, result.reasons
    if args.hold:
        hold = Path(args.hold)
        real_emit = filings.emit

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
        committed = commit_filing(
            db, engine, signed, person.id, request, seen=result, expected_version=args.version
        )
    except StaleFiling:
        say("stale")
    else:
        say("ok", committed.number)
    db.close()


def main(argv: list[str] | None = None) -> None:
    """Run one command (``argv``: its arguments; the command line when None)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("setup")
    p.add_argument("db")
    p.add_argument("--persons", type=int, default=5)
    p.add_argument("--clerks", type=int, default=1)
    p.add_argument("--filing", action="store_true")
    p.set_defaults(run=setup)
    p = commands.add_parser("loop")
    p.add_argument("db")
    p.add_argument("clerk")
    p.add_argument("--count", type=int)
    p.add_argument("--go")
    p.set_defaults(run=loop)
    p = commands.add_parser("change")
    p.add_argument("db")
    p.add_argument("clerk")
    p.add_argument("number")
    p.add_argument("version", type=int)
    p.add_argument("--go")
    p.add_argument("--hold")
    p.set_defaults(run=change)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
