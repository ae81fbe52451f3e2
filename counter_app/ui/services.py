"""What every screen needs: the database, the rules engine, settings and the clerk signed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from counter_app.domain.engine import RulesEngine
from counter_app.domain.status import (  # noqa: F401  (the one definition; re-exported)
    ACTION_LABELS,
    STATUS_LABELS,
)
from counter_app.settings import Settings
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database

INSURANCE_LABELS = {"employee": "职工医保", "resident": "居民医保"}
SCOPE_LABELS = {"cross_province": "跨省异地", "in_province": "省内异地"}
BASIS_LABELS = {"materials": "提供认定材料", "commitment": "签署个人承诺书"}


@dataclass
class Services:
    """Handed to screens by the app once the database and the engine are ready."""

    settings: Settings
    db: Database
    engine: RulesEngine
    signed: SignedIn | None = None
    opened: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> date:
        """The office's today (fixed in tests and training)."""
        return self.settings.current_date()

    def show_time(self, moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """A stored (UTC) instant as the office's local time."""
        return self.settings.local(moment).strftime(pattern)

    @property
    def clerk(self) -> SignedIn:
        """The clerk signed in (screens after sign-in may rely on it)."""
        assert self.signed is not None, "no clerk signed in"
        return self.signed

    def category_label(self, category: str) -> str:
        """The region's name of a person category."""
        rules = self.engine.pack.filing.categories.get(category)  # type: ignore[call-overload]
        return rules.label if rules else category
