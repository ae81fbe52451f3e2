"""A filing's status from time in every place that reads a stored filing, on the day before, the
day of and the day after its end: search results, the dashboard queues, the engine's
``existing`` list built from the database, the printed 备案回执 and 备案表 (pdftotext), QR
verification (library and ``counter-app verify``), the day report and the sync payload.

Two 湖南 filings made on 2025-10-27 both end on 2026-04-26: a 6-month temporary filing
(湘办法 第十三条) and a long-term filing on a 承诺书 whose materials are due the same day
(湘办法 第二十二条).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from counter_app.printing.pdf import render_pdf
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.printing.verify import verify_payload
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.filings import as_existing, event_payload, person_filings
from counter_app.storage.models import Filing, OutboxEvent
from counter_app.storage.persons import save_person, search_persons
from counter_app.storage.queues import expiring, followups_due
from counter_app.sync.day_close import day_report
from counter_app.workflows.filings import commit_filing
from tests.support.cli import run_cli
from tests.support.printing import pdf_text

FILED = date(2025, 10, 27)
END = date(2026, 4, 26)
BEFORE, ON, AFTER = END - timedelta(days=1), END, END + timedelta(days=1)
DAYS = [
    pytest.param(BEFORE, id="before"),
    pytest.param(ON, id="on"),
    pytest.param(AFTER, id="after"),
]
TEMP = ("王临时", "430102198001010011")
PLEDGE = ("李承诺", "430102198001010038")


def _request(person: tuple[str, str], **fields: Any) -> dict[str, Any]:
    name, id_number = person
    return {
        "policy": "hunan",
        "action": "new",
        "today": FILED.isoformat(),
        "person": {"name": name, "id_number": id_number},
        "insurance": "employee",
        "scope": "cross_province",
        "destination": "440300",
        **fields,
    }


def _commit(db: Database, signed: SignedIn, person: tuple[str, str], **fields: Any) -> str:
    engine = build_engine("hunan")
    person_id = save_person(db, signed.clerk_id, name=person[0], id_number=person[1], today=FILED)
    request = _request(person, **fields)
    result = engine.filing(request)
    assert result.allowed, result.reasons
    committed = commit_filing(db, engine, signed, person_id, request, seen=result)
    return committed.number


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, Path, str, str]:
    path = tmp_path_factory.mktemp("status") / "hunan.db"
    db = Database.open(path)
    ensure_office(db, "430102", "芙蓉区医疗保障服务中心", "hunan", "430100")
    add_clerk(db, "430102", "clerk", "经办人", "password123")
    signed = sign_in(db, "clerk", "password123")
    assert signed is not None
    temporary = _commit(
        db,
        signed,
        TEMP,
        category="other_temporary",
        materials=["id_card", "filing_form"],
    )
    pledged = _commit(
        db,
        signed,
        PLEDGE,
        category="long_term_resident",
        basis="commitment",
        materials=["id_card", "filing_form", "commitment_letter"],
    )
    with db.read() as session:
        rows = {f.number: f for f in session.exec(select(Filing)).all()}
    assert rows[temporary].valid_until == END
    assert rows[pledged].followup_due == END and rows[pledged].valid_until is None
    return db, path, temporary, pledged


EXPIRED_ON = {BEFORE: "有效", ON: "有效", AFTER: "已过期"}
OVERDUE_ON = {BEFORE: "有效", ON: "有效", AFTER: "逾期未补"}


@pytest.mark.parametrize("day", DAYS)
def test_search_results(office, day: date) -> None:
    db = office[0]
    assert [r.filing_status for r in search_persons(db, TEMP[0], today=day)] == [EXPIRED_ON[day]]
    assert [r.filing_status for r in search_persons(db, PLEDGE[0], today=day)] == [OVERDUE_ON[day]]
    by_number = search_persons(db, office[2], today=day)
    assert [r.filing_status for r in by_number] == [EXPIRED_ON[day]]
    assert search_persons(db, TEMP[0])[0].filing_status == ""  # no business day, no status


@pytest.mark.parametrize("day", DAYS)
def test_dashboard_queues(office, day: date) -> None:
    db, _, temporary, pledged = office
    ending = [r.filing_number for r in expiring(db, day)]
    assert (temporary in ending) == (day <= END)
    follow = {r.filing_number: r for r in followups_due(db, day)}
    assert pledged in follow  # due this week, then overdue
    assert follow[pledged].status == OVERDUE_ON[day]
    assert follow[pledged].due == END
    # a week and a day before, the follow-up is not yet this week's
    assert pledged not in {r.filing_number for r in followups_due(db, END - timedelta(days=8))}


@pytest.mark.parametrize("day", DAYS)
def test_engine_existing_from_the_database(office, day: date) -> None:
    db = office[0]
    engine = build_engine("hunan")
    with db.read() as session:
        person_id = session.exec(select(Filing.person_id).where(Filing.number == office[2])).one()
    existing = as_existing(person_filings(db, person_id))
    new = _request(
        TEMP,
        today=day.isoformat(),
        category="other_temporary",
        materials=["id_card", "filing_form"],
        existing=existing,
    )
    result = engine.filing(new)
    assert result.allowed == (day > END), result.reasons
    cancel = engine.filing({**new, "action": "cancel", "target": office[2]})
    assert ("target_expired" in {r.code for r in cancel.reasons}) == (day > END)
    assert all("（active" not in r.message for r in cancel.reasons)


def _pdf(db: Database, kind: str, number: str, day: date, tmp_path: Path) -> str:
    document = build(kind, load_record(db, kind, number), PrintContext(db, day))
    path = tmp_path / f"{kind}-{day}.pdf"
    path.write_bytes(render_pdf(document).data)
    return pdf_text(path)


@pytest.mark.parametrize("day", DAYS)
def test_printed_receipt_and_form(office, day: date, tmp_path: Path) -> None:
    db, _, temporary, pledged = office
    receipt = _pdf(db, "filing_receipt", temporary, day, tmp_path)
    form = _pdf(db, "filing_form", temporary, day, tmp_path)
    if day <= END:
        assert "备案状态有效" in receipt and "已过期" not in receipt
        assert "已过期" not in form
        assert "备案有效期内可在就医地联网定点医药机构直接结算" in receipt
    else:
        assert "异地就医备案回执（已过期）" in receipt
        assert "备案状态已过期（有效期2025-10-27至2026-04-26，已于2026-04-26到期）" in receipt
        assert "本回执不能作为有效备案凭证" in receipt
        assert "（已过期：2026-04-26到期）" in form
    pledge_receipt = _pdf(db, "filing_receipt", pledged, day, tmp_path)
    assert ("逾期未补" in pledge_receipt) == (day > END)


def _payload(db: Database, number: str, day: date) -> str:
    document = build(
        "filing_receipt", load_record(db, "filing_receipt", number), PrintContext(db, ON)
    )
    return document.qr_payload


@pytest.mark.parametrize("day", DAYS)
def test_qr_verification(office, day: date) -> None:
    db, _, temporary, _ = office
    result = verify_payload(db, _payload(db, temporary, day), today=day)
    assert result.genuine
    if day <= END:
        assert result.standing and result.message.startswith("真实有效")
        assert "备案状态：有效" in result.message
    else:
        assert not result.standing and "真实有效" not in result.message
        assert "已过期（有效期 2025-10-27 至 2026-04-26，已于 2026-04-26 到期）" in result.message


def test_cli_verify_on_each_day(office) -> None:
    db, path, temporary, _ = office
    payload = _payload(db, temporary, ON)
    for day, expired in ((BEFORE, False), (ON, False), (AFTER, True)):
        done = run_cli(
            "verify",
            payload,
            env={
                "COUNTER_DB": str(path),
                "COUNTER_CONFIG": str(path.with_suffix(".toml")),
                "COUNTER_TODAY": day.isoformat(),
            },
        )
        assert done.returncode == 0, done.stderr  # the signature is genuine either way
        assert ("已过期" in done.stdout) == expired, done.stdout
        assert ("真实有效" in done.stdout) == (not expired)


@pytest.mark.parametrize("day", DAYS)
def test_day_report(office, day: date) -> None:
    section = day_report(office[0], day).sections[-1]
    assert section.title == "备案状态（日终）"
    rows = {label: count for label, count, _ in section.rows}
    if day <= END:
        assert rows == {
            "有效": 2,
            **({"当日有效期届满（次日起已过期）": 1} if day == END else {}),
        }
    else:
        assert rows == {"已过期": 1, "逾期未补": 1}


@pytest.mark.parametrize("day", DAYS)
def test_sync_payload(office, day: date) -> None:
    db, _, temporary, pledged = office
    with db.read() as session:
        filings = {f.number: f for f in session.exec(select(Filing)).all()}
        events = [e.payload for e in session.exec(select(OutboxEvent)).all()]
    # as committed on the filing day
    assert {e["number"]: e["effective_status"] for e in events} == {
        temporary: "active",
        pledged: "active",
    }
    assert next(e for e in events if e["number"] == pledged)["followup_due"] == END.isoformat()
    for number, expected in ((temporary, "expired"), (pledged, "overdue")):
        person = {"name": TEMP[0], "id_number": TEMP[1]}
        payload = event_payload(filings[number], "change", person, day, [])
        assert payload["effective_status"] == (expected if day > END else "active")
        assert payload["as_of"] == day.isoformat() and payload["status"] == "active"


def test_search_box_labels_are_the_domain_labels() -> None:
    """One definition: the UI re-exports the domain's labels."""
    from counter_app.domain.status import STATUS_LABELS as DOMAIN
    from counter_app.ui.services import STATUS_LABELS as UI

    assert UI is DOMAIN
