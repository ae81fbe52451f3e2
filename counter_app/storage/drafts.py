"""Drafts: a wizard's state saved at every step, so a crash or power cut loses nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from counter_app.storage.db import Database
from counter_app.storage.models import Draft, utcnow


def save_draft(
    db: Database,
    clerk_id: int,
    kind: str,
    data: dict[str, Any],
    *,
    step: str,
    title: str = "",
    person_id: int | None = None,
    draft_id: int | None = None,
) -> int:
    """Create or overwrite a draft (its own small transaction); returns the draft id."""
    with db.write() as session:
        draft = session.get(Draft, draft_id) if draft_id is not None else None
        if draft is None:
            draft = Draft(kind=kind, clerk_id=clerk_id)
        draft.data, draft.step, draft.title = data, step, title
        draft.person_id = person_id
        draft.updated_at = utcnow()
        session.add(draft)
        session.flush()
        assert draft.id is not None
        return draft.id


def list_drafts(db: Database, clerk_id: int | None = None, kind: str | None = None) -> list[Draft]:
    """Drafts, newest first (of one clerk when given)."""
    with db.read() as session:
        statement = select(Draft).order_by(col(Draft.updated_at).desc())
        if clerk_id is not None:
            statement = statement.where(Draft.clerk_id == clerk_id)
        if kind is not None:
            statement = statement.where(Draft.kind == kind)
        return list(session.exec(statement).all())


def get_draft(db: Database, draft_id: int) -> Draft | None:
    """One draft."""
    with db.read() as session:
        return session.get(Draft, draft_id)


def discard_draft(db: Database, draft_id: int) -> None:
    """Throw a draft away (the clerk chose not to resume it)."""
    with db.write() as session:
        draft = session.get(Draft, draft_id)
        if draft is not None:
            session.delete(draft)


#: Set in a draft's data when the clerk declined it at sign-in; the next save (real work) clears it.
DECLINED = "_declined_at_sign_in"


def mark_declined(db: Database, draft_id: int) -> None:
    """Remember that the clerk declined to resume this draft at sign-in (it stays in the list)."""
    with db.write() as session:
        draft = session.get(Draft, draft_id)
        if draft is not None:
            draft.data = {**draft.data, DECLINED: True}  # updated_at unchanged: same work
            session.add(draft)
