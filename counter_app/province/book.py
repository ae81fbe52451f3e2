"""The filings one push touches: read in one query, decided in memory, written back set-based.

A push of 500 filing events would otherwise read each filing, each person's other filings and
the offices that filed for the person one query at a time. ``FilingBook.load`` reads all of them
at once (the persons are locked already), the events of the batch change the rows in memory, so
a later event of the same batch sees what an earlier one did, and ``flush`` writes the new rows in
one insert, the changed ones in one executemany update, and the feed items in one insert.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from counter_app.province.tables import OfficeInfo, among, feed, filings, insert_rows, offices
from counter_app.sync import protocol

_COLUMNS = tuple(c.name for c in filings.c)
_CHANGEABLE = tuple(c for c in _COLUMNS if c not in ("number", "office", "id_number"))


class FilingBook:
    """The stored filings of a batch's numbers and persons, as the batch changes them."""

    def __init__(self, conn: Connection, office: OfficeInfo) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.rows: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {office.code: office.name}
        self._numbers: set[str] = set()
        self._persons: dict[str, set[str]] = {}
        self._new: list[str] = []
        self._dirty: set[str] = set()
        self._feed: list[dict[str, Any]] = []

    def load(self, numbers: Iterable[str] = (), persons: Iterable[str] = ()) -> None:
        """Read the filings with these numbers and every filing of these persons."""
        numbers = set(numbers) - self._numbers
        persons = set(persons) - set(self._persons)
        if not numbers and not persons:
            return
        where = []
        if numbers:
            where.append(among(filings.c.number, numbers, self.postgres))
        if persons:
            where.append(among(filings.c.id_number, persons, self.postgres))
        rows = self.conn.execute(
            select(filings, offices.c.name.label("office_name"))
            .outerjoin(offices, offices.c.code == filings.c.office)
            .where(or_(*where))
        ).all()
        self._numbers |= numbers
        for person in persons:
            self._persons[person] = set()
        for row in rows:
            values = dict(row._mapping)
            name = values.pop("office_name")
            self.names.setdefault(values["office"], name or values["office"])
            self.rows.setdefault(values["number"], values)
            self._numbers.add(values["number"])
            if values["id_number"] in self._persons:
                self._persons[values["id_number"]].add(values["number"])

    def get(self, number: str) -> dict[str, Any] | None:
        """The filing with this number as it stands in this batch, or ``None``."""
        if number not in self._numbers:
            self.load(numbers=[number])
        return self.rows.get(number)

    def of_person(self, id_number: str) -> list[dict[str, Any]]:
        """Every filing of the person (any office, any status), in number order."""
        if id_number not in self._persons:
            self.load(persons=[id_number])
        return [self.rows[n] for n in sorted(self._persons[id_number])]

    def add(self, values: dict[str, Any]) -> None:
        """A new filing (written at ``flush``)."""
        number = values["number"]
        self.rows[number] = values
        self._numbers.add(number)
        self._persons.setdefault(values["id_number"], set()).add(number)
        self._new.append(number)

    def change(self, number: str, **values: Any) -> None:
        """Change a filing this batch read or added."""
        self.rows[number].update(values)
        if number not in self._new:
            self._dirty.add(number)

    def publish(self, type_: str, data: dict[str, Any], **address: str | None) -> None:
        """A feed item (written at ``flush``); ``office=`` or ``pool_code=`` address it."""
        self._feed.append(
            {"office": None, "pool_code": None, "type": type_, **address, "data": data}
        )

    def flush(self, stamp: Any) -> None:
        """Write what the batch did: new filings, changed ones, feed items."""
        if self._new:
            # The rows as they stand (every column of the table; ``insert_rows`` takes those).
            insert_rows(self.conn, filings, [self.rows[n] for n in self._new])
        if self._dirty:
            self.conn.execute(
                update(filings)
                .where(filings.c.number == bindparam("b_number"))
                .values({c: bindparam(f"b_{c}") for c in _CHANGEABLE}),
                [
                    {f"b_{c}": self.rows[n][c] for c in ("number", *_CHANGEABLE)}
                    for n in sorted(self._dirty)
                ],
            )
        if self._feed:
            insert_rows(
                self.conn,
                feed,
                [
                    {**item, "data": protocol.canonical(item["data"]), "created_at": stamp}
                    for item in self._feed
                ],
            )
