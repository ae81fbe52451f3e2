"""Insured persons: search by 身份证号, name, pinyin initials or filing number; view; save.

Every search is an index range scan (``col >= q AND col < q⁺``), never a scan of the table, except
one: a single character also finds the names that contain it (a given name, 霞), a LIMITed LIKE.
Search results carry masked 身份证号; opening a full record is audited.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from counter_app.domain.errors import CounterError
from counter_app.domain.idnumber import check_id_number, mask_id, mask_phone
from counter_app.domain.status import STANDING, STATUS_LABELS
from counter_app.domain.text_fields import TextFieldError, check_text
from counter_app.pinyin import pinyin_keys
from counter_app.storage.db import Database
from counter_app.storage.models import Filing, Person, utcnow
from counter_app.storage.records import audit, lock_key

#: Filing numbers: the counter's (BA…) and approved online applications' (WS + office code …).
_FILING_NUMBER = re.compile(r"^(?:BA|WS)\d{6,}")
_DIGITS = re.compile(r"^\d{1,17}[\dXx]?$")
#: A mainland mobile, a landline with its area code, or a local landline number.
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11}|\d{7,8})$")


#: 社会保障卡卡号 as printed on the card: nine letters or digits.
_CARD = re.compile(r"^[0-9A-Z]{9}$")


def _phone_digits(phone: str) -> str:
    """The digits of a phone number as typed: full-width forms, spaces, dashes, +86 dropped."""
    text = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", phone))
    return text[3:] if text.startswith("+86") else text


class SearchKind(StrEnum):
    """How a query is read."""

    ID_EXACT = "id_exact"
    ID_PREFIX = "id_prefix"
    NAME = "name"
    INITIALS = "initials"
    PINYIN = "pinyin"
    FILING_NUMBER = "filing_number"


@dataclass(frozen=True)
class PersonRow:
    """One search hit, safe to show in a list (masked numbers)."""

    id: int
    name: str
    id_masked: str
    sex: str
    insurance: str
    phone_masked: str
    #: The status of the person's current filing on the business day (``domain.status``):
    #: the newest that still stands, else the newest; "无备案" without one. Empty when the
    #: search was made without a business day.
    filing_status: str = ""


class PersonError(CounterError, ValueError):
    """A person that cannot be saved; ``field`` names the bad field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def classify(query: str) -> SearchKind:
    """Which kind of search a typed (or scanned) query is."""
    text = query.strip()
    if _FILING_NUMBER.match(text.upper()):
        return SearchKind.FILING_NUMBER
    if _DIGITS.match(text):
        return SearchKind.ID_EXACT if len(text) == 18 else SearchKind.ID_PREFIX
    if text.isascii() and text.replace(" ", "").isalpha():
        return SearchKind.INITIALS  # spaced full pinyin (``zhao xia``) too
    return SearchKind.NAME


def _upper_bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix(column, text: str):
    return and_(column >= text, column < _upper_bound(text))


#: Only the columns a hit shows: plain rows cost far less than ORM objects in the identity map.
_HIT_COLUMNS = (
    col(Person.id),
    col(Person.name),
    col(Person.id_number),
    col(Person.sex),
    col(Person.insurance),
    col(Person.phone),
)


def _row(person: Any) -> PersonRow:
    return PersonRow(
        id=person.id,
        name=person.name,
        id_masked=mask_id(person.id_number),
        sex=person.sex,
        insurance=person.insurance,
        phone_masked=mask_phone(person.phone) if person.phone else "",
    )


NO_FILING = "无备案"


def _with_status(
    session: Session, hits: list[PersonRow], today: date, number_prefix: str | None = None
) -> list[PersonRow]:
    """The hits with their filing status on ``today``, read in one query for all of them."""
    if not hits:
        return hits
    statement = select(Filing).where(col(Filing.person_id).in_([h.id for h in hits]))
    if number_prefix:
        statement = statement.where(_prefix(col(Filing.number), number_prefix))
    statement = statement.order_by(col(Filing.valid_from).desc(), col(Filing.id).desc())
    by_person: dict[int, list[Filing]] = {}
    for filing in session.exec(statement).all():
        by_person.setdefault(filing.person_id, []).append(filing)
    out = []
    for hit in hits:
        statuses = [f.status_on(today) for f in by_person.get(hit.id, [])]
        current = next((s for s in statuses if s in STANDING), statuses[0] if statuses else None)
        label = STATUS_LABELS[current] if current else NO_FILING
        out.append(replace(hit, filing_status=label))
    return out


def search_in(
    session: Session,
    query: str,
    kind: SearchKind | None = None,
    limit: int = 50,
    today: date | None = None,
) -> list[PersonRow]:
    """Search inside an open session (used by the benchmark at the storage layer).

    With ``today`` each hit carries its filing status on that business day.
    """
    hits = _search(session, query, kind, limit)
    if today is None:
        return hits
    text = query.strip().upper()
    by_number = (kind or classify(query)) is SearchKind.FILING_NUMBER
    return _with_status(session, hits, today, text if by_number else None)


def _search(session: Session, query: str, kind: SearchKind | None, limit: int) -> list[PersonRow]:
    text = query.strip()
    if not text:
        return []
    kind = kind or classify(text)
    # sqlmodel types select() for up to four columns; the hit row has six
    statement = select(*_HIT_COLUMNS)  # type: ignore[call-overload]
    if kind is SearchKind.FILING_NUMBER:
        statement = (
            select(*_HIT_COLUMNS)  # type: ignore[call-overload]
            .join(Filing, col(Filing.person_id) == col(Person.id))
            .where(_prefix(col(Filing.number), text.upper()))
            .distinct()  # a person with several matching filings is listed once
        )
    elif kind is SearchKind.ID_EXACT:
        statement = statement.where(Person.id_number == text.upper())
    elif kind is SearchKind.ID_PREFIX:
        statement = statement.where(_prefix(col(Person.id_number), text.upper()))
    elif kind is SearchKind.INITIALS:
        lowered = "".join(text.lower().split())
        hits = list(
            session.exec(statement.where(_prefix(col(Person.name_initials), lowered)).limit(limit))
        )
        if len(hits) < limit:
            more = session.exec(
                statement.where(_prefix(col(Person.name_pinyin), lowered)).limit(limit)
            )
            seen = {p.id for p in hits}
            hits = [*hits, *(p for p in more if p.id not in seen)][:limit]
        return [_row(p) for p in hits]
    elif kind is SearchKind.PINYIN:
        statement = statement.where(_prefix(col(Person.name_pinyin), text.lower()))
    else:
        hits = list(session.exec(statement.where(_prefix(col(Person.name), text)).limit(limit)))
        if len(text) == 1 and len(hits) < limit:
            # One character is often the given name (霞): also the names that contain it. This
            # one query scans the names (LIKE cannot use the index); it is bounded by ``limit``.
            seen = {p.id for p in hits}
            more = session.exec(
                statement.where(col(Person.name).contains(text, autoescape=True))
                .order_by(col(Person.name))
                .limit(limit)
            )
            hits = [*hits, *(p for p in more if p.id not in seen)][:limit]
        return [_row(p) for p in hits]
    return [_row(p) for p in session.exec(statement.limit(limit)).all()]


def search_persons(
    db: Database, query: str, limit: int = 50, today: date | None = None
) -> list[PersonRow]:
    """Search persons by whatever the clerk typed or scanned (with ``today``: each hit's filing
    status on that business day)."""
    with db.read() as session:
        return search_in(session, query, limit=limit, today=today)


def open_person(db: Database, person_id: int, clerk_id: int) -> Person | None:
    """A person's full record; the view is audited."""
    with db.write() as session:
        person = session.get(Person, person_id)
        if person is not None:
            audit(
                session, clerk_id, "view", "person", person_id, id_masked=mask_id(person.id_number)
            )
        return person


def save_person(
    db: Database,
    clerk_id: int,
    *,
    name: str,
    id_number: str,
    phone: str = "",
    address: str = "",
    insurance: str = "employee",
    has_employer: bool = False,
    retired: bool = False,
    employer: str = "",
    today: date | None = None,
    phone2: str = "",
    remote_address: str = "",
    card_number: str = "",
) -> int:
    """Create a person, or update the one with this 身份证号; returns the id. 联系电话2,
    异地联系地址 and 社会保障卡卡号 are optional (the forms print them when given)."""
    try:
        name = check_text("name", name, required=True)
        address = check_text("address", address)
        employer = check_text("employer", employer)
        remote_address = check_text("remote_address", remote_address)
    except TextFieldError as exc:
        raise PersonError(exc.field, str(exc)) from None
    check = check_id_number(id_number, today=today)
    if check.errors:
        raise PersonError("id_number", "；".join(check.errors))
    if phone.strip() and not _PHONE.match(_phone_digits(phone)):
        raise PersonError(
            "phone",
            f"电话：“{phone.strip()}”不是有效的电话号码（手机 11 位；固定电话 7–8 位，"
            "可带区号，如 0553-1234567）",
        )
    if phone2.strip() and not _PHONE.match(_phone_digits(phone2)):
        raise PersonError("phone2", f"联系电话2：“{phone2.strip()}”不是有效的电话号码")
    card = unicodedata.normalize("NFKC", card_number).strip().upper()
    if card and not _CARD.match(card):
        raise PersonError(
            "card_number",
            f"社会保障卡卡号：“{card}”应为 9 位字母或数字（卡面所印卡号，如 A12345678）",
        )
    full, initials = pinyin_keys(name.strip())
    with db.write() as session:
        lock_key(session, "person", check.normalised)
        person = session.exec(
            select(Person).where(Person.id_number == check.normalised).with_for_update()
        ).first()
        created = person is None
        if person is None:
            person = Person(id_number=check.normalised, name=name.strip())
        person.name = name.strip()
        person.name_pinyin, person.name_initials = full, initials
        person.sex = check.sex or ""
        person.birth_date = check.birth_date
        person.phone, person.address = phone.strip(), address.strip()
        person.phone2, person.card_number = phone2.strip(), card
        person.remote_address = remote_address.strip()
        person.insurance, person.has_employer, person.retired = insurance, has_employer, retired
        person.employer = employer.strip()
        if not created:
            person.version += 1
            person.updated_at = utcnow()
        session.add(person)
        session.flush()
        audit(
            session,
            clerk_id,
            "create" if created else "update",
            "person",
            person.id,
            id_masked=mask_id(check.normalised),
        )
        assert person.id is not None
        return person.id


def ensure_person(
    session: Session,
    clerk_id: int,
    *,
    name: str,
    id_number: str,
    insurance: str = "employee",
    today: date | None = None,
) -> int:
    """The person with this 身份证号, created if the office does not know them yet (an approved
    online application); inside the caller's transaction. An existing record is left as it is."""
    check = check_id_number(id_number, today=today)
    if check.errors:
        raise PersonError("id_number", "；".join(check.errors))
    if not name.strip():
        raise PersonError("name", "姓名：请填写")
    person = session.exec(select(Person).where(Person.id_number == check.normalised)).first()
    if person is None:
        full, initials = pinyin_keys(name.strip())
        person = Person(
            id_number=check.normalised,
            name=name.strip(),
            name_pinyin=full,
            name_initials=initials,
            sex=check.sex or "",
            birth_date=check.birth_date,
            insurance=insurance,
        )
        session.add(person)
        session.flush()
        audit(session, clerk_id, "create", "person", person.id, id_masked=mask_id(check.normalised))
    assert person.id is not None
    return person.id


def record_full_view(db: Database, clerk_id: int, person_id: int, where: str) -> None:
    """Audit that a clerk saw the full 身份证号 and phone (``where``: the screen showing them)."""
    with db.write() as session:
        audit(session, clerk_id, "view_full", "person", person_id, where=where)
