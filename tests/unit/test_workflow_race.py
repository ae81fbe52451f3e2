"""Two clerk processes racing on one person, on SQLite and on PostgreSQL.

Each process opens the filing wizard (reads the person's filings, sees the engine's verdict),
then both commit at once through ``counter_app.workflows``. The rules decide what may coexist:
two long-term filings may not (苏规程 第十一条: one active long-term filing; the second clerk
must change it), two temporary filings to different places may. The guard is the person's lock
plus the re-decision in the transaction, so the second commit sees the first and is refused
with a Chinese message, whichever process wins. A held transaction shows the second one really
waits for the first (no decision on stale data).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.storage.db import Database
from counter_app.storage.models import AuditLog, Claim, Filing, OutboxEvent
from tests.support import race_clerk
from tests.support.clerk_process import TIMEOUT_S, Clerk, run_here
from tests.support.postgres import Cluster

SCRIPT = Path(__file__).resolve().parents[1] / "support" / "race_clerk.py"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="processes and SIGKILL")


@pytest.fixture(params=["sqlite", "postgres"])
def office_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An office database of each kind, set up with two clerks and one person."""
    if request.param == "sqlite":
        spec = str(tmp_path / "office.db")
    else:
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        spec = cluster.new_database()
    assert run_here(race_clerk.main, "setup", spec) == ["person 1"]
    yield spec
    if request.param == "postgres":
        cluster.drop_database(spec)


def _open(spec: str) -> Database:
    return Database.open_url(spec) if "://" in spec else Database.open(spec)


def _clerks(spec: str, tmp_path: Path, *plans: tuple[str, str], hold: Path | None = None):  # type: ignore[no-untyped-def]
    go = tmp_path / "go"
    clerks = []
    for index, (category, destination) in enumerate(plans, start=1):
        # With a held first clerk, the second one starts only when told (``go2``).
        flag = go.with_name("go2") if hold is not None and index == 2 else go
        extra = ["--hold", str(hold)] if hold is not None and index == 1 else []
        clerks.append(
            Clerk(
                "file",
                spec,
                f"clerk{index}",
                "1",  # the person set up
                category,
                destination,
                "--go",
                str(flag),
                *extra,
                script=SCRIPT,
            )
        )
    for clerk in clerks:
        clerk.expect("ready", TIMEOUT_S * 2)
    return go, clerks


def _result(clerk: Clerk) -> str:
    while True:
        line = clerk.expect("", TIMEOUT_S)
        if line.split(" ", 1)[0] in ("ok", "refused", "stale"):
            return line


def _stored(spec: str) -> tuple[list[tuple[str, str, str]], int, int]:
    db = _open(spec)
    with db.read() as session:
        filings = [
            (f.number, f.category, f.status)
            for f in session.exec(select(Filing).order_by(Filing.id)).all()  # type: ignore[arg-type]
        ]
        events = len(session.exec(select(OutboxEvent)).all())
        audits = len(session.exec(select(AuditLog).where(AuditLog.entity == "filing")).all())
    db.close()
    return filings, events, audits


def test_two_long_term_filings_race_one_wins(office_db: str, tmp_path: Path) -> None:
    go, clerks = _clerks(
        office_db, tmp_path, ("long_term_resident", "460100"), ("long_term_resident", "530100")
    )
    go.touch()
    results = sorted(_result(c) for c in clerks)
    for clerk in clerks:
        clerk.finish()
    won, lost = (
        [r for r in results if r.startswith("ok")],
        [r for r in results if not r.startswith("ok")],
    )
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].startswith("refused") and "规则判断已变为不允许办理" in lost[0]
    assert "已有有效的长期异地居住备案" in lost[0]
    filings, events, audits = _stored(office_db)
    assert [(c, s) for _, c, s in filings] == [("long_term_resident", "active")]
    assert filings[0][0] == won[0].split()[1]
    assert (events, audits) == (1, 1)  # nothing of the refused commit was written


def test_second_commit_waits_for_the_first_and_decides_again(
    office_db: str, tmp_path: Path
) -> None:
    hold = tmp_path / "hold"
    hold.mkdir()
    go, (first, second) = _clerks(
        office_db,
        tmp_path,
        ("long_term_resident", "460100"),
        ("long_term_resident", "530100"),
        hold=hold,
    )
    go.touch()
    deadline = time.monotonic() + TIMEOUT_S
    while not (hold / "in_tx").exists():  # the first is inside its transaction, decided
        assert time.monotonic() < deadline, first.seen
        time.sleep(0.01)
    go.with_name("go2").touch()
    second.expect("begin")
    time.sleep(1.0)
    # The second clerk's commit is blocked on the person (row lock / write lock), not deciding.
    assert second.lines.empty(), second.seen
    (hold / "release").touch()
    assert _result(first).startswith("ok")
    outcome = _result(second)
    assert outcome.startswith("refused") and "已有有效的长期异地居住备案" in outcome
    for clerk in (first, second):
        clerk.finish()
    filings, events, _ = _stored(office_db)
    assert [(c, s) for _, c, s in filings] == [("long_term_resident", "active")]
    assert events == 1


def test_temporary_filings_to_different_places_both_go_through(
    office_db: str, tmp_path: Path
) -> None:
    """The rules let these coexist: the lock serialises them, it does not refuse them."""
    go, clerks = _clerks(
        office_db, tmp_path, ("other_temporary", "460100"), ("other_temporary", "530100")
    )
    go.touch()
    results = [_result(c) for c in clerks]
    for clerk in clerks:
        clerk.finish()
    assert all(r.startswith("ok") for r in results), results
    filings, events, _ = _stored(office_db)
    assert sorted(s for _, _, s in filings) == ["active", "active"] and events == 2


def test_two_settlements_of_one_person_do_not_share_the_deductible(
    office_db: str, tmp_path: Path
) -> None:
    """Two claims taken on the same (empty) year-to-date figures, settled at once under the 北京
    rules, where the deductible is paid once a year: the second
    settlement sees the first and is recalculated on the year-to-date figures it left (the
    deductible already paid this year), never settled on the stale figures."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "claims", office_db],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S * 3,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split()[1:]
    go = tmp_path / "go"
    clerks = [
        Clerk("settle", office_db, f"clerk{i}", number, "--go", str(go), script=SCRIPT)
        for i, number in ((1, first), (2, second))
    ]
    for clerk in clerks:
        clerk.expect("ready", TIMEOUT_S * 2)
    go.touch()
    results = [_result(c) for c in clerks]
    for clerk in clerks:
        clerk.finish()
    assert sorted(r.split(" ", 1)[0] for r in results) == ["ok", "refused"], results
    assert "待遇已变化" in next(r for r in results if r.startswith("refused"))
    db = _open(office_db)
    with db.read() as session:
        claims = session.exec(select(Claim).order_by(Claim.id)).all()  # type: ignore[arg-type]
    db.close()
    settled = [c for c in claims if c.status == "settled"]
    waiting = [c for c in claims if c.status == "reviewing"]
    assert len(settled) == 1 and len(waiting) == 1
    deductible = Decimal(settled[0].result["payment"]["deductible"])
    assert deductible > 0
    # The claim left waiting was recalculated on the settled one: no second deductible.
    assert Decimal(waiting[0].result["payment"]["deductible"]) == 0
    assert waiting[0].request["ytd"]["deductible_paid"] == f"{deductible:.2f}"
