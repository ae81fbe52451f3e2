"""A claim's itemised lines (费用明细) as the clerk types them, and their draft form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol


class StoredLine(Protocol):
    """A stored line (``storage.models.ClaimLine``) as far as an ``ItemLine`` reads it."""

    @property
    def day(self) -> date | None: ...
    @property
    def item(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def category(self) -> str: ...


@dataclass(frozen=True)
class ItemLine:
    """An itemised line as the clerk typed it (the category is an ``Amounts`` field name)."""

    day: date | None
    item: str
    amount: Decimal
    category: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemLine:
        """Back from the draft form."""
        return cls(
            date.fromisoformat(data["day"]) if data.get("day") else None,
            data["item"],
            Decimal(data["amount"]),
            data["category"],
        )

    @classmethod
    def from_row(cls, row: StoredLine) -> ItemLine:
        """A stored line."""
        return cls(row.day, row.item, row.amount, row.category)

    def as_json(self) -> dict[str, str | None]:
        """The draft form."""
        return {
            "day": self.day.isoformat() if self.day else None,
            "item": self.item,
            "amount": f"{self.amount:.2f}",
            "category": self.category,
        }
