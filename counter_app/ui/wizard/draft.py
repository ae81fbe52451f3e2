"""A wizard state's round trip through a JSON draft (shared by the filing and claim wizards)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Self


class DraftRoundTrip:
    """For a dataclass state with a ``draft_id`` field: plain data out, the same state back."""

    def to_draft(self) -> dict[str, Any]:
        """JSON-ready data of the draft (the draft's own id is kept apart)."""
        data = asdict(self)  # type: ignore[call-overload]
        data.pop("draft_id")
        return data

    @classmethod
    def from_draft(cls, data: dict[str, Any], draft_id: int) -> Self:
        """Back from a draft."""
        return cls(**data, draft_id=draft_id)  # type: ignore[call-arg]
