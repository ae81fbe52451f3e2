"""Filing destinations of 异地就医: provinces and prefecture-level cities (GB/T 2260).

The filing unit is the prefecture-level city, except for the 直辖市 (北京, 天津, 上海, 重庆) and
海南, 西藏 and 新疆生产建设兵团 (660000), which are filed at province level. Any valid six-digit
code (county, city or province) is normalised to its destination by ``RegionTable.normalise``.

The table is built from the parsed ``assets/regions/gbt2260.json`` (see
``tools/build_regions.py`` for its format); reading the file is ``counter_app.regions_data``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from counter_app.domain.errors import CounterError

RegionLevel = Literal["province", "municipality", "city"]

_CODE_RE = re.compile(r"^\d{6}$")


class RegionError(CounterError, ValueError):
    """A region code that is malformed, unknown or too coarse; the message is for the clerk."""


@dataclass(frozen=True)
class Region:
    """A province-level unit or a prefecture-level city.

    ``is_destination`` tells whether the region is itself a valid filing destination
    (municipalities, 海南/西藏/兵团, and the cities of the other provinces).
    """

    code: str
    name: str
    level: RegionLevel
    province_code: str
    province_name: str
    full_name: str
    is_destination: bool


@dataclass(frozen=True)
class _County:
    code: str
    name: str
    parent_code: str


class RegionTable:
    """Lookup, normalisation and search over the region codes."""

    def __init__(
        self,
        regions: Mapping[str, Region],
        counties: Mapping[str, tuple[str, str]],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._regions: dict[str, Region] = dict(sorted(regions.items()))
        self._counties = {
            code: _County(code, name, parent) for code, (name, parent) in counties.items()
        }
        self.meta: dict[str, Any] = dict(meta or {})
        for county in self._counties.values():
            if county.parent_code not in self._regions:
                raise ValueError(f"county {county.code}: unknown parent {county.parent_code}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegionTable:
        """Build the table from the parsed ``gbt2260.json`` document."""
        provinces: dict[str, Region] = {}
        for code, name, level, filed_at in data["provinces"]:
            if level not in ("province", "municipality") or filed_at not in ("province", "city"):
                raise ValueError(f"province {code}: bad level {level!r} / {filed_at!r}")
            provinces[code] = Region(
                code=code,
                name=name,
                level=level,
                province_code=code,
                province_name=name,
                full_name=name,
                is_destination=filed_at == "province",
            )
        regions: dict[str, Region] = dict(provinces)
        for code, name, province_code in data["cities"]:
            province = provinces.get(province_code)
            if province is None:
                raise ValueError(f"city {code}: unknown province {province_code}")
            regions[code] = Region(
                code=code,
                name=name,
                level="city",
                province_code=province.code,
                province_name=province.name,
                full_name=province.name + name,
                is_destination=not province.is_destination,
            )
        counties = {code: (name, parent) for code, name, parent in data.get("counties", [])}
        return cls(regions, counties, data.get("meta"))

    # -- lookup ---------------------------------------------------------------------------

    def get(self, code: str) -> Region | None:
        """The province, municipality or city with this code; None for counties and unknowns."""
        return self._regions.get(code.strip())

    def provinces(self) -> list[Region]:
        """Every province-level unit (including municipalities and 兵团), by code."""
        return [r for r in self._regions.values() if r.level != "city"]

    def cities(self, province_code: str) -> list[Region]:
        """The cities of a province, by code; empty for municipalities and unknown codes."""
        return [
            r
            for r in self._regions.values()
            if r.level == "city" and r.province_code == province_code
        ]

    def destinations(self) -> list[Region]:
        """Every valid filing destination, by code."""
        return [r for r in self._regions.values() if r.is_destination]

    def county_name(self, code: str) -> str | None:
        """The name of a county-level code (district, county, county-level city), if known."""
        county = self._counties.get(code.strip())
        return county.name if county else None

    def counties_of(self, code: str) -> list[str]:
        """The county-level codes under a city (or province-level unit), by code."""
        return sorted(c.code for c in self._counties.values() if c.parent_code == code)

    # -- normalisation --------------------------------------------------------------------

    def _check_code(self, code: str, field: str) -> str:
        code = code.strip()
        if not _CODE_RE.match(code):
            raise RegionError(f"{field}「{code}」格式不正确，应为6位数字")
        if code not in self._regions and code not in self._counties:
            raise RegionError(f"{field} {code} 不存在")
        return code

    def _region_of(self, code: str) -> Region:
        """The province or city a known code belongs to (a county's parent)."""
        county = self._counties.get(code)
        return self._regions[county.parent_code] if county else self._regions[code]

    def normalise(self, code: str, field: str = "就医地代码") -> Region:
        """Map a county, city or province code to its filing destination.

        Raises ``RegionError`` (message names ``field`` and the code) for malformed or unknown
        codes, and for the code of a province that is filed by city (too coarse).
        """
        code = self._check_code(code, field)
        region = self._region_of(code)
        if region.is_destination:
            return region
        if region.level == "city":
            # a city of a province filed at province level (海口, 拉萨, ...)
            return self._regions[region.province_code]
        raise RegionError(f"{field} {code}（{region.name}）只到省级，请选择具体的地市")

    def province_of(self, code: str, field: str = "地区代码") -> Region:
        """The province-level unit of any valid code (兵团 cities belong to 660000)."""
        region = self._region_of(self._check_code(code, field))
        return self._regions[region.province_code]

    def same_province(self, a: str | Region, b: str | Region) -> bool:
        """Whether two codes (or regions) lie in the same province-level unit."""
        code_a = a.code if isinstance(a, Region) else a
        code_b = b.code if isinstance(b, Region) else b
        return self.province_of(code_a).code == self.province_of(code_b).code

    # -- search ---------------------------------------------------------------------------

    def search(self, text: str, *, include_counties: bool = True) -> list[Region]:
        """Regions whose name (or full name) contains ``text``.

        Province and city matches come first, by code; with ``include_counties`` the
        destinations of matching counties follow (``镜湖`` finds 芜湖市). Empty text finds nothing.
        """
        text = text.strip()
        if not text:
            return []
        found: dict[str, Region] = {}
        for region in self._regions.values():
            if text in region.name or text in region.full_name:
                found.setdefault(region.code, region)
        if include_counties:
            for county in self._counties.values():
                if text in county.name and county.name != "市辖区":
                    try:
                        region = self.normalise(county.code)
                    except RegionError:  # pragma: no cover - every county has a destination
                        continue
                    found.setdefault(region.code, region)
        return list(found.values())

    def destinations_matching(
        self, text: str, also: Callable[[str], bool] | None = None
    ) -> list[Region]:
        """The filing destinations for what a clerk typed: names first, else ``also`` (e.g. a
        pinyin match) over every region's name. A city filed at province level gives its
        province (海口 → 海南省); a province filed by city gives nothing (too coarse)."""
        found = self.search(text)
        if not found and also is not None:
            found = [r for r in self._regions.values() if also(r.name)]
        destinations: dict[str, Region] = {}
        for region in found:
            try:
                destination = self.normalise(region.code)
            except RegionError:
                continue
            destinations.setdefault(destination.code, destination)
        return list(destinations.values())

    def __len__(self) -> int:
        return len(self._regions)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._regions or code in self._counties)
