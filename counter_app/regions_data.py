"""Load the region table shipped in ``assets/regions/gbt2260.json``.

The table is read on first use, not when the engine is built: the start of the app (open the
database, build the engine, show the sign-in screen) does not pay for parsing 3,500 regions.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

from counter_app.domain.regions import RegionTable
from counter_app.resources import assets_dir

REGIONS_FILE = ("regions", "gbt2260.json")


def read_region_table() -> RegionTable:
    """The region table, read from the file now."""
    path = assets_dir().joinpath(*REGIONS_FILE)
    with path.open(encoding="utf-8") as fp:
        return RegionTable.from_dict(json.load(fp))


class _LazyRegionTable(RegionTable):
    """A ``RegionTable`` whose file is read the first time any of its data is looked at."""

    _DATA = frozenset({"_regions", "_counties", "meta"})

    def __init__(self) -> None:  # the data comes on first use (see __getattr__)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # Only reached while the data is missing: the first use reads the file once.
        if name not in self._DATA:
            raise AttributeError(name)
        with self._lock:
            if name not in self.__dict__:
                self.__dict__.update(read_region_table().__dict__)
        return self.__dict__[name]


@cache
def load_region_table() -> RegionTable:
    """The region table of this process (read from the file on first use)."""
    return _LazyRegionTable()
