"""Load the region table shipped in ``assets/regions/gbt2260.json``."""

from __future__ import annotations

import json
from functools import cache

from counter_app.domain.regions import RegionTable
from counter_app.resources import assets_dir

REGIONS_FILE = ("regions", "gbt2260.json")


@cache
def load_region_table() -> RegionTable:
    """The region table, read once per process."""
    path = assets_dir().joinpath(*REGIONS_FILE)
    with path.open(encoding="utf-8") as fp:
        return RegionTable.from_dict(json.load(fp))
