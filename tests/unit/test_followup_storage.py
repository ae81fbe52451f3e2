"""Completing a 湖南 承诺书 filing in the database: the follow-up day, history, audit and the
outbox event in one transaction; the status, the queue and the claim record follow (on SQLite and
on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlmodel import select

from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.followups import FollowupRefused, complete_followup
from counter_app.storage.models import AuditLog, Filing, FilingHistory, OutboxEvent
from counter_app.storage.persons import save_person
from counter_app.storage.queues import followups_due
from counter_app.workflows.filings import commit_filing

FILED = date(2025, 10, 27)
DUE = date(2026, 4, 26)  # 湘办法 第二十二条: 6 months


def test_complete_followup_late_in_hunan(new_db: Callable[[str], Database]) -> None:
    db = new_db("hunan")  # an SQLite file or a PostgreSQL database (tests/unit/conftest.py)
    ensure_office(db, "430102", "芙蓉区医疗保障服务中心", "hunan", "430100")
    add_clerk(db, "430102", "clerk", "经办人", "password123")
    signed = sign_in(db, "clerk", "password123")
    assert signed is not None
    engine = build_engine("hunan")
    person_id = save_person(
        db, signed.clerk_id, name="李承诺", id_number="430102198001010038", today=FILED
    )
    request = {
        "policy": "hunan",
        "action": "new",
        "today": FILED.isoformat(),
        "person": {"name": "李承诺", "id_number": "430102198001010038"},
        "insurance": "employee",
        "scope": "cross_province",
        "category": "long_term_resident",
        "destination": "440300",
        "basis": "commitment",
        "materials": ["id_card", "filing_form", "commitment_letter"],
    }
    result = engine.filing(request)
    number = commit_filing(db, engine, signed, person_id, request, seen=result).number
    late = DUE + timedelta(days=3)
    assert [r.status for r in followups_due(db, late)] == ["逾期未补"]

    with pytest.raises(FollowupRefused, match="居住证明"):
        complete_followup(db, signed, engine.pack, number, ["commitment_letter"], late)
    done = complete_followup(db, signed, engine.pack, number, ["residence_proof"], late)
    assert done.done_on == late

    with db.read() as session:
        filing = session.exec(select(Filing).where(Filing.number == number)).one()
        steps = list(
            session.exec(select(FilingHistory).where(FilingHistory.filing_id == filing.id))
        )
        audits = session.exec(select(AuditLog).where(AuditLog.action == "followup")).all()
        event = session.get(OutboxEvent, done.event_id)
    assert filing.followup_done_on == late and str(filing.status_on(late)) == "active"
    assert [s.action for s in steps] == ["new", "followup"]
    assert len(audits) == 1
    assert event is not None and event.kind == "filing.change"
    assert event.payload["followup_done_on"] == late.isoformat()
    assert event.payload["effective_status"] == "active"
    assert followups_due(db, late) == []
    with pytest.raises(FollowupRefused, match="已于"):
        complete_followup(db, signed, engine.pack, number, ["residence_proof"], late)
