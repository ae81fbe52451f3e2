"""A filing the provincial store refuses, and how the clerk resolves it, against the real server.

Two offices of one pool (芜湖 镜湖区 340202 and 弋江区 340203) sync with the reference store over
loopback (SQLite and PostgreSQL). The store refuses 镜湖区's new filing because 弋江区 holds an
active filing of the person; 镜湖区's copy shows 未被省平台接受 with the store's reason until the
clerk resolves it:

- retry, after 弋江区 cancelled its filing: the store takes it and both sides hold it active;
- withdraw with a reason (audited): the local filing is withdrawn, no event goes out, the store
  never has it, and the rules no longer count it (a new filing can be made).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from counter_app.cli import app as cli_app
from counter_app.province.store import ProvinceStore
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.filings import person_filings
from counter_app.storage.models import AuditLog, FilingHistory
from counter_app.storage.persons import save_person
from counter_app.sync import outbox
from counter_app.sync.client import run_sync
from counter_app.workflows import refusals
from counter_app.workflows.filings import commit_filing
from tests.support.province import PASSWORD, ServerProcess, make_office
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")
PERSON = ("柯镇恶", "11010519491231002X")


def _file(db: Database, signed: SignedIn, person_id: int, **fields: Any) -> str:
    request: dict[str, Any] = {
        "policy": "wuhu",
        "action": "new",
        "today": TODAY.isoformat(),
        "person": {"name": PERSON[0], "id_number": PERSON[1]},
        "insurance": "employee",
        "category": "long_term_resident",
        "scope": "cross_province",
        "destination": "460105",
        "basis": "commitment",
        "materials": ["id_card", "filing_form", "commitment_letter"],
        **fields,
    }
    from counter_app.storage.filings import as_existing

    request["existing"] = as_existing(person_filings(db, person_id))
    seen = ENGINE.filing(request)
    for _ in range(4):
        if not seen.missing:
            break
        request["materials"] = [*request["materials"], *seen.missing]
        seen = ENGINE.filing(request)
    assert seen.allowed, seen.reasons
    return commit_filing(db, ENGINE, signed, person_id, request, seen=seen).number


def _served(server: ServerProcess, token: str) -> dict[str, str]:
    answer = httpx.get(
        f"{server.base_url}/v1/filings", headers={"Authorization": f"Bearer {token}"}
    )
    return {f["number"]: f["status"] for f in answer.json()["filings"]}


@pytest.fixture
def two_offices(store: ProvinceStore, tmp_path: Path):  # type: ignore[no-untyped-def]
    here_db, here = make_office(tmp_path / "jinghu.db")
    there_db, there = make_office(tmp_path / "yijiang.db", code="340203")
    here_token = store.add_office(here.office_code, here.office_name, "340200")
    there_token = store.add_office(there.office_code, there.office_name, "340200")
    ids = [
        save_person(db, s.clerk_id, name=PERSON[0], id_number=PERSON[1], today=TODAY)
        for db, s in ((here_db, here), (there_db, there))
    ]
    return (here_db, here, here_token, ids[0]), (there_db, there, there_token, ids[1])


def _refused_here(server, two_offices) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    (here_db, here, here_token, here_pid), (there_db, there, there_token, there_pid) = two_offices
    # 弋江区: a temporary filing (cancellable at once; a long-term one is locked for a while).
    theirs = _file(there_db, there, there_pid, category="other_temporary", basis="materials")
    server.start()
    assert run_sync(there_db, ENGINE, config(server, there_token), TODAY).tally.accepted == 1
    # The same person, a temporary filing to the same place here: the store's conflict rule (the
    # engine's) refuses it while 弋江区's stands.
    ours = _file(here_db, here, here_pid, category="other_temporary", basis="materials")
    report = run_sync(here_db, ENGINE, config(server, here_token), TODAY)
    assert report.tally.rejected == 1
    # The local copy says so, with the store's reason, until the clerk resolves it.
    shown = refusals.refused_filings(here_db)
    assert list(shown) == [ours] and theirs in shown[ours]
    assert [r.subject for r in refusals.refusals(here_db)] == [ours]
    assert ours not in _served(server, here_token)
    return ours, theirs


def test_retry_after_the_other_office_cancels(
    server: ServerProcess, two_offices, tmp_path: Path
) -> None:
    (here_db, here, here_token, _), (there_db, there, there_token, there_pid) = two_offices
    ours, theirs = _refused_here(server, two_offices)

    # Retrying before the conflict is cleared is refused again by the store.
    event_id = refusals.find(here_db, ours).event_id
    assert refusals.retry(here_db, here.clerk_id) == [event_id]
    assert run_sync(here_db, ENGINE, config(server, here_token), TODAY).tally.rejected == 1

    # 弋江区 cancels its filing; 镜湖区 retries from the command line; the store takes it now.
    _file(
        there_db,
        there,
        there_pid,
        action="cancel",
        target=theirs,
        category="other_temporary",
        basis="materials",
    )
    assert run_sync(there_db, ENGINE, config(server, there_token), TODAY).tally.accepted == 1
    result = CliRunner().invoke(
        cli_app,
        ["sync", "retry", ours, "--clerk", "clerk340202", "--db", str(tmp_path / "jinghu.db")],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "已重新排队上传 1 个事件" in result.output
    assert run_sync(here_db, ENGINE, config(server, here_token), TODAY).tally.accepted == 1
    assert refusals.refused_filings(here_db) == {}
    assert _served(server, here_token)[ours] == "active"
    assert {f.number: f.status for f in person_filings(here_db, here_pid_of(here_db))} == {
        ours: "active"
    }
    with here_db.read() as session:
        retries = session.exec(select(AuditLog).where(AuditLog.action == "sync_retry")).all()
    assert len(retries) == 2


def here_pid_of(db: Database) -> int:
    from counter_app.storage.models import Person

    with db.read() as session:
        person = session.exec(select(Person)).one()
    assert person.id is not None
    return person.id


def test_withdrawal_leaves_no_filing_the_store_never_had(
    server: ServerProcess, two_offices, tmp_path: Path
) -> None:
    (here_db, _, here_token, here_pid), _ = two_offices
    ours, _theirs = _refused_here(server, two_offices)
    office = str(tmp_path / "jinghu.db")
    runner = CliRunner()

    def dismiss(*args: str) -> Any:
        return runner.invoke(
            cli_app,
            ["sync", "dismiss", *args, "--clerk", "clerk340202", "--db", office],
            input=f"{PASSWORD}\n",
        )

    refused = dismiss(ours, "--reason", " ")
    assert refused.exit_code == 2 and "撤回原因" in refused.output
    done = dismiss(ours, "--reason", "参保人在弋江区已有备案，本机构不再办理")
    assert done.exit_code == 0, done.output
    assert f"备案 {ours} 已撤回" in done.output

    (filing,) = person_filings(here_db, here_pid)
    assert (filing.number, filing.status) == (ours, "withdrawn")
    assert refusals.refused_filings(here_db) == {}
    with here_db.read() as session:
        steps = session.exec(
            select(FilingHistory.action).where(FilingHistory.filing_id == filing.id)
        ).all()
        (entry,) = session.exec(select(AuditLog).where(AuditLog.action == "withdraw")).all()
    assert list(steps) == ["new", "withdraw"]
    assert entry.detail["reason"] == "参保人在弋江区已有备案，本机构不再办理"
    assert "340203" in entry.detail["refusal"] or _theirs in entry.detail["refusal"]

    # Nothing more goes out; the store never had it; both sides agree.
    report = run_sync(here_db, ENGINE, config(server, here_token), TODAY)
    assert (report.tally.accepted, report.tally.rejected) == (0, 0) and report.reconciled
    assert outbox.status(here_db).pending == 0
    assert ours not in _served(server, here_token)
    # The withdrawn filing blocks nothing: the rules see no filing of the person here.
    from counter_app.storage.filings import as_existing

    assert as_existing(person_filings(here_db, here_pid)) == []
    # And a withdrawal cannot be repeated.
    again = dismiss(ours, "--reason", "再次")
    assert again.exit_code == 2 and "没有待处理的退回" in again.output
