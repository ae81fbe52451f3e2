"""Building a ``RulesEngine`` from the shipped data (or an office's own pack file)."""

from __future__ import annotations

from pathlib import Path

from counter_app.calendar_data import load_work_calendar
from counter_app.domain.engine import RulesEngine
from counter_app.packs import load_pack, shipped_pack
from counter_app.regions_data import load_region_table


def build_engine(policy: str, pack_file: Path | None = None) -> RulesEngine:
    """The engine for ``policy``, from the shipped pack or from ``pack_file``."""
    pack = load_pack(pack_file) if pack_file else shipped_pack(policy)
    return RulesEngine(pack=pack, regions=load_region_table(), calendar=load_work_calendar())
