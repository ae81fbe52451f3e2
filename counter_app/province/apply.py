"""How the reference provincial store applies each kind of event, inside a push transaction.

Events arrive checked (``wire``). A function returns the refusal (a rejected answer) having
written nothing, or ``None`` once the change is written: a filing (new, change, cancel, each
allowed or refused by the transition table in ``transitions``; a result ``active`` is checked
against the person's other active filings with the engine's own rule) or the review of an online
application (approval makes the filing, under the same checks). Other offices that filed for the
same person hear of a new filing through the pull feed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection, String, bindparam, func, insert, select, update

from counter_app.domain.filing import filing_conflicts
from counter_app.domain.idnumber import mask_id
from counter_app.domain.policy import Category, PolicyPack
from counter_app.domain.regions import Region, RegionError, RegionTable
from counter_app.domain.requests import ExistingFiling
from counter_app.packs import available_policies, shipped_pack
from counter_app.province.book import FilingBook
from counter_app.province.tables import (
    OfficeInfo,
    among,
    applications,
    feed,
    people,
)
from counter_app.province.wire import IsoDate, PersonRef, RegionCode
from counter_app.sync import protocol, transitions
from counter_app.sync.protocol import rejection
from counter_app.sync.transitions import SUPERSEDE, FilingStatus, standing


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def lock_keys(conn: Connection, keys: list[str], postgres: bool) -> None:
    """Row locks on the persons' rows (PostgreSQL; SQLite has one writer at a time)."""
    # Row locks on the persons' rows, taken in sorted order so that two batches never wait
    # on each other crosswise (if they ever do, PostgreSQL aborts one and it is retried).
    # Row locks live in the rows, so a batch of 500 persons does not fill the lock table.
    # SQLite needs none: it has one writer at a time.
    if not postgres or not keys:
        return
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    # The keys as one array parameter: the statement is the same for every batch (cached).
    # A row this insert makes is locked by it until commit: a batch racing for the same person
    # waits at its own insert of that key. The rows that were there already are locked next.
    listed = select(func.unnest(bindparam("keys", type_=ARRAY(String))))
    made = conn.execute(
        pg_insert(people)
        .from_select(["id_number"], listed)
        .on_conflict_do_nothing()
        .returning(people.c.id_number),
        {"keys": keys},
    )
    known = sorted(set(keys) - set(made.scalars()))
    if known:
        conn.execute(
            select(people.c.id_number)
            .where(among(people.c.id_number, known, postgres))
            .order_by(people.c.id_number)
            .with_for_update()
        )


def pack_for_pool(pool_code: str) -> PolicyPack | None:
    """The shipped policy pack whose rules an office of this pool files under.

    The pack of that very pool, else the pack of the pool's province; ``None`` if none fits.
    """
    return _pack_for_pool(pool_code)


@cache
def _pack_for_pool(pool_code: str) -> PolicyPack | None:
    packs = [shipped_pack(name) for name in available_policies()]
    exact = [p for p in packs if p.pack.home_pool_code == pool_code]
    province = [p for p in packs if p.pack.province_code[:2] == pool_code[:2]]
    found = exact or province
    return found[0] if found else None


@dataclass(frozen=True)
class Decider:
    """What a push decides with: the business date, the region table and the batch's time."""

    today: date
    regions: RegionTable
    stamp: datetime
    #: Destinations already looked up in this batch: the region, or the refusal's message.
    _destinations: dict[str, Region | str] = field(default_factory=dict, compare=False, repr=False)

    def destination(self, code: str) -> Region:
        """``regions.normalise(code)``, each code of a batch looked up once (a batch names few
        destinations); raises ``RegionError`` as ``normalise`` does."""
        found = self._destinations.get(code)
        if found is None:
            try:
                found = self.regions.normalise(code)
            except RegionError as exc:
                found = str(exc)
            self._destinations[code] = found
        if isinstance(found, str):
            raise RegionError(found)
        return found


def conflict(
    book: FilingBook,
    office: OfficeInfo,
    decider: Decider,
    number: str,
    id_number: str,
    category: str,
    destination: str,
    multi_place: bool,
    ending: set[str],
) -> dict[str, Any] | None:
    """The refusal if a filing that would be active meets another active one of the person.

    The engine's rule (``filing_conflicts``) under the filing office's pack, over the person's
    filings at the store that are active today (expired ones count for nothing), except this one
    and those this event ends. A filing the region would let a re-filing replace blocks all the
    same unless this event names it in ``supersedes`` (an office's own filings only).
    """
    pack = pack_for_pool(office.pool_code)
    if pack is None:
        return rejection("no_policy", f"统筹区 {office.pool_code}")
    try:
        region = decider.destination(destination)
    except RegionError as exc:
        return rejection("bad_event", f"payload.destination：{exc}")
    rows = {
        r["number"]: r
        for r in book.of_person(id_number)
        if r["number"] != number
        and r["number"] not in ending
        and standing(r["status"], r["valid_until"], decider.today) is FilingStatus.ACTIVE
    }
    existing: list[ExistingFiling] = []
    unreadable = []
    for row in rows.values():
        try:
            existing.append(
                ExistingFiling(
                    id=row["number"],
                    category=row["category"],
                    destination=row["destination"],
                    valid_from=row["valid_from"],
                    valid_until=row["valid_until"],
                )
            )
        except ValidationError:
            unreadable.append(row)  # a row stored before values were checked: it blocks
    found = filing_conflicts(
        pack, decider.regions, category, region, multi_place, existing, decider.today
    )
    hits = [(rows[c.existing], c.message, c.replaces) for c in found]
    hits += [(r, "省平台无法核对该备案的内容", False) for r in unreadable]
    if not hits:
        return None
    hit, message, replaces = hits[0]
    if replaces:
        # The region lets a re-filing end the old one, but only when the event names it.
        message = f"重新备案须在 supersedes 中列明原备案 {hit['number']}，且只能替代本机构的备案"
    citation = pack.filing.active_conflict.citation
    if hit["office"] != office.code:
        return rejection(
            "active_filing_elsewhere",
            f"{mask_id(id_number)} 有备案 {hit['number']}（{book.names[hit['office']]}）；"
            f"{message}（{citation}）",
        )
    return rejection("active_filing_conflict", f"{message}（{citation}）")


def _ends(
    book: FilingBook, office: OfficeInfo, decider: Decider, id_number: str, numbers: list[str]
) -> tuple[dict[str, Any] | None, list[str]]:
    """Check a ``supersedes`` list: the refusal, or the numbers this event ends."""
    ending: list[str] = []
    for old in dict.fromkeys(numbers):
        row = book.get(old)
        if row is None:
            return rejection("unknown_filing", f"supersedes 中的 {old}"), []
        if row["office"] != office.code:
            return rejection("not_your_filing", f"supersedes 中的 {old}"), []
        if row["id_number"] != id_number:
            return rejection("person_mismatch", f"supersedes 中的 {old}"), []
        now_standing = standing(row["status"], row["valid_until"], decider.today)
        if not transitions.refusal(SUPERSEDE, now_standing, FilingStatus.SUPERSEDED):
            ending.append(old)
        # an already ended filing (cancelled, superseded, expired) stays as it is
    return None, ending


def apply_filing(
    book: FilingBook, office: OfficeInfo, event_id: str, kind: str, payload: Any, decider: Decider
) -> dict[str, Any] | None:
    """Apply a checked filing event; the refusal, or None when applied (persons locked already).

    The store decides the resulting status from ``transitions.TRANSITIONS``; the payload's
    ``status`` is only what the office asks for.
    """
    number, person = payload.number, payload.person
    row = book.get(number)
    current: FilingStatus | None = None
    if kind == "filing.new":
        if row is not None:
            return rejection("number_taken", number)
    else:
        if row is None:
            return rejection("unknown_filing", number)
        if row["office"] != office.code:
            return rejection("not_your_filing", number)
        if row["id_number"] != person.id_number:
            return rejection("person_mismatch", number)
        current = standing(row["status"], row["valid_until"], decider.today)
    wanted = FilingStatus(payload.status)
    why = transitions.refusal(kind, current, wanted)
    if why:
        return rejection("bad_transition", f"{number}：{why}")
    stamp = {"event_id": event_id, "updated_at": decider.stamp}
    if kind == "filing.cancel":
        assert row is not None
        until = payload.valid_until or row["valid_until"]
        book.change(number, status=wanted.value, valid_until=until, **stamp)
        return None
    refused, ending = _ends(book, office, decider, person.id_number, payload.supersedes)
    if refused:
        return refused
    if wanted is FilingStatus.ACTIVE:
        refused = conflict(
            book,
            office,
            decider,
            number,
            person.id_number,
            payload.category,
            payload.destination,
            payload.multi_place,
            set(ending),
        )
        if refused:
            return refused
    values = {
        "name": person.name,
        "status": wanted.value,
        "category": payload.category,
        "destination": payload.destination,
        "valid_from": payload.valid_from,
        "valid_until": payload.valid_until,
        **stamp,
    }
    for old in ending:
        book.change(old, status=FilingStatus.SUPERSEDED.value, updated_at=decider.stamp)
    if row is None:
        book.add({"number": number, "office": office.code, "id_number": person.id_number, **values})
        _tell_others(book, office, number, person.id_number, values)
    else:
        book.change(number, **values)
    return None


def _tell_others(
    book: FilingBook, office: OfficeInfo, number: str, id_number: str, values: dict[str, Any]
) -> None:
    """Other offices that filed for this person hear of the new filing."""
    others = {r["office"] for r in book.of_person(id_number)} - {office.code}
    if not others:
        return
    data = {
        "number": number,
        "office": office.code,
        "office_name": office.name,
        "person": {"name": values["name"], "id_number": id_number},
        **{k: values[k] for k in ("status", "category", "destination", "valid_from")},
        "valid_until": values["valid_until"],
    }
    for other in sorted(others):
        book.publish("filing_elsewhere", data, office=other)


def apply_review(
    conn: Connection,
    book: FilingBook,
    office: OfficeInfo,
    event_id: str,
    payload: Any,
    decider: Decider,
    postgres: bool,
) -> dict[str, Any] | None:
    """Apply the review of an online application; approval makes an active filing."""
    app_id = payload.application_id
    row = conn.execute(
        select(applications).where(
            applications.c.id == app_id, applications.c.office == office.code
        )
    ).first()
    if row is None:
        return rejection("unknown_application", app_id)
    if row.status != "pending":
        return rejection("application_reviewed", app_id)
    if payload.decision == "approved":
        try:
            data = ApplicationData.model_validate(json.loads(row.data))
        except (ValidationError, ValueError):
            return rejection("bad_application", app_id)
        id_number = data.person.id_number
        lock_keys(conn, [id_number], postgres)
        if book.get(app_id) is not None:
            return rejection("number_taken", app_id)
        refused = conflict(
            book,
            office,
            decider,
            app_id,
            id_number,
            data.category,
            data.destination,
            data.multi_place,
            set(),
        )
        if refused:
            return refused
        book.add(
            {
                "number": app_id,
                "office": office.code,
                "id_number": id_number,
                "name": data.person.name,
                "status": FilingStatus.ACTIVE.value,
                "category": data.category,
                "destination": data.destination,
                "valid_from": payload.valid_from or data.submitted_on,
                "valid_until": payload.valid_until,
                "event_id": event_id,
                "updated_at": decider.stamp,
            }
        )
    conn.execute(
        update(applications)
        .where(applications.c.id == app_id)
        .values(status=payload.decision, reason=payload.reason, reviewed_at=decider.stamp)
    )
    return None


class ApplicationData(BaseModel):
    """What approval needs of an online application the store holds."""

    model_config = ConfigDict(extra="allow")

    person: PersonRef
    category: Category
    destination: RegionCode
    submitted_on: IsoDate
    multi_place: bool = False


def publish(
    conn: Connection,
    type_: str,
    data: dict[str, Any],
    *,
    office: str | None = None,
    pool_code: str | None = None,
) -> None:
    """Put an item on the pull feed: for one office, every office of a pool, or everyone."""
    conn.execute(
        insert(feed).values(
            office=office,
            pool_code=pool_code,
            type=type_,
            data=protocol.canonical(data),
            created_at=now(),
        )
    )
