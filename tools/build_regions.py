"""Generate ``assets/regions/gbt2260.json`` from python-stdnum's GB/T 2260 table.

Source: ``stdnum/cn/loc.dat`` (python-stdnum), a copy of the Wikipedia lists of the
administrative-division codes with year ranges. A line looks like ``11 province="北京市"`` or
``  0101 county="[1983-2001]东市区,[2002-]瑶海区"``; a name without a year range, or whose last
range has no end year, is current. Only current codes are kept.

Rules applied (the filing unit of 异地就医 is the prefecture-level city, with exceptions):

* 直辖市 (11, 12, 31, 50) are destinations at province level ("municipality"); every current code
  below them (districts, counties and the ``市辖区``/``县`` placeholders) is listed as a county
  whose parent is the municipality itself.
* 海南 (46) and 西藏 (54) are filed at province level (京细则 第九条, 芜规程 第十一条,
  湘办法 第十五条); their prefecture cities are kept (海口, 拉萨, ...) but are not destinations.
* 新疆生产建设兵团 is not in GB/T 2260; it is added by hand as 660000, the code the national
  medical-insurance platform uses, filed at province level. The 12 county-level cities directly
  under the Xinjiang government (6590xx: 石河子, 五家渠, ...) are all 兵团 "师市合一" cities, so
  they are listed as counties of 660000.
* 省直辖县级行政区划 outside 海南 and 新疆 (419001 济源, 429004 仙桃, 429005 潜江, 429006 天门,
  429021 神农架林区) are separate pooling areas and are kept as city-level destinations of their
  province; 海南's (4690xx) are counties of 460000.
* Prefecture-level placeholders (``市辖区``, ``县``, ``省直辖县级行政单位``) are not cities; the
  county-level ``市辖区`` codes (XXYY01) are kept as counties so that such codes still map to
  their city.
* 台湾 (71), 香港 (81) and 澳门 (82) are not filing destinations of cross-province medical
  treatment and are left out.
* A few entries of loc.dat carry no year range although they are no longer current; they are
  listed in ``UNMARKED_OBSOLETE`` and dropped.

Usage: ``python tools/build_regions.py [--output PATH] [--date YYYY-MM-DD]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import stdnum.cn

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "assets" / "regions" / "gbt2260.json"

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# Ordinary provinces whose destinations are nevertheless the whole province.
PROVINCE_LEVEL_FILING = frozenset({"46", "54"})
EXCLUDED_PROVINCES = frozenset({"71", "81", "82"})
BINGTUAN_CODE = "660000"
BINGTUAN_NAME = "新疆生产建设兵团"
# County-level cities directly under the Xinjiang government: all 兵团 cities.
XINJIANG_DIRECT_PREFIX = "6590"
# Entries without a year range in loc.dat that no longer exist.
UNMARKED_OBSOLETE = {
    "422900": "林区 (神农架林区 is 429021)",
    "422921": "神农架林区 (old code; now 429021)",
    "429001": "随州市 (prefecture-level 421300 since 2000)",
}
PLACEHOLDER_PREFECTURE_NAMES = frozenset({"市辖区", "县", "市区", "郊区"})

_PROVINCE_RE = re.compile(r'^(\d{2}) province="(.*)"$')
_COUNTY_RE = re.compile(r'^\s+(\d{4}) county="(.*)"$')
_PART_RE = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


@dataclass(frozen=True)
class Entry:
    """One current code of loc.dat."""

    code: str
    name: str


def current_name(value: str) -> str | None:
    """The current name of a ``county="..."`` value, or None when the code has ended."""
    name = None
    for part in value.split(","):
        match = _PART_RE.match(part.strip())
        if match is None:
            raise ValueError(f"cannot parse {value!r}")
        _start, end, text = match.groups()
        name = text if not end else None
    return name


def read_loc_dat(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """Province names by two-digit prefix, and every current six-digit code below them."""
    provinces: dict[str, str] = {}
    entries: list[Entry] = []
    prefix = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE_RE.match(line):
            prefix = match.group(1)
            provinces[prefix] = match.group(2)
            continue
        match = _COUNTY_RE.match(line)
        if match is None or prefix is None:
            raise ValueError(f"unexpected line in loc.dat: {line!r}")
        code = prefix + match.group(1)
        name = current_name(match.group(2))
        if name is not None and code not in UNMARKED_OBSOLETE:
            entries.append(Entry(code, name))
    return provinces, entries


def build(loc_dat: Path, generated: dt.date) -> dict:
    """The JSON document (see the module docstring for the rules)."""
    province_names, entries = read_loc_dat(loc_dat)
    by_code = {entry.code: entry for entry in entries}

    provinces: list[list[str]] = []
    cities: list[list[str]] = []
    counties: list[list[str]] = []
    for prefix, raw_name in sorted(province_names.items()):
        if prefix in EXCLUDED_PROVINCES:
            continue
        province_code = prefix + "0000"
        name = by_code[province_code].name if province_code in by_code else raw_name
        if prefix in MUNICIPALITIES:
            provinces.append([province_code, name, "municipality", "province"])
        elif prefix in PROVINCE_LEVEL_FILING:
            provinces.append([province_code, name, "province", "province"])
        else:
            provinces.append([province_code, name, "province", "city"])
    provinces.append([BINGTUAN_CODE, BINGTUAN_NAME, "province", "province"])
    provinces.sort()

    city_codes: set[str] = set()
    for entry in entries:
        prefix = entry.code[:2]
        if prefix in EXCLUDED_PROVINCES or prefix in MUNICIPALITIES:
            continue
        if entry.code.endswith("0000"):
            continue
        if entry.code.endswith("00") and entry.code[2:4] != "90":
            if entry.name in PLACEHOLDER_PREFECTURE_NAMES:
                continue
            cities.append([entry.code, entry.name, prefix + "0000"])
            city_codes.add(entry.code)
        elif (
            entry.code[2:4] == "90"
            and entry.code[4:] != "00"
            and prefix not in PROVINCE_LEVEL_FILING
            and not entry.code.startswith(XINJIANG_DIRECT_PREFIX)
        ):
            # 省直辖县级行政区划 such as 仙桃市: a pooling area of its own.
            cities.append([entry.code, entry.name, prefix + "0000"])
            city_codes.add(entry.code)

    for entry in entries:
        prefix = entry.code[:2]
        if prefix in EXCLUDED_PROVINCES or entry.code.endswith("0000"):
            continue
        if entry.code in city_codes:
            continue
        if prefix in MUNICIPALITIES:
            parent = prefix + "0000"
        elif entry.code.startswith(XINJIANG_DIRECT_PREFIX):
            if entry.code.endswith("00"):
                continue
            parent = BINGTUAN_CODE
        elif entry.code[2:4] == "90":
            if entry.code.endswith("00"):
                continue
            parent = prefix + "0000"  # only 海南 reaches here: filed at province level
        elif entry.code.endswith("00"):
            continue  # a prefecture-level placeholder
        else:
            parent = entry.code[:4] + "00"
            if parent not in city_codes:
                raise ValueError(f"{entry.code} {entry.name}: parent {parent} is not a city")
        counties.append([entry.code, entry.name, parent])

    return {
        "meta": {
            "source": (
                f"python-stdnum {version('python-stdnum')} stdnum/cn/loc.dat "
                "(GB/T 2260 中华人民共和国行政区划代码, from zh.wikipedia), current codes only"
            ),
            "generated": generated.isoformat(),
            "generator": "tools/build_regions.py",
            "fields": {
                "provinces": [
                    "code",
                    "name",
                    "level (province|municipality)",
                    "filed_at (province|city)",
                ],
                "cities": ["code", "name", "province_code"],
                "counties": [
                    "code",
                    "name",
                    "parent_code (a city, or a province filed at province level)",
                ],
            },
            "notes": [
                "660000 新疆生产建设兵团 is not a GB/T 2260 code: it is the code the national "
                "medical-insurance platform (国家医疗保障信息平台) uses for 兵团; added by hand.",
                "直辖市 11/12/31/50 and 海南 46, 西藏 54, 兵团 660000 are filed at province level "
                "(京细则 第九条, 芜规程 第十一条, 湘办法 第十五条); other provinces by city.",
                "6590xx 自治区直辖县级市 (石河子, 五家渠, ...) are 兵团 师市合一 cities: counties "
                "of 660000.",
                "省直辖县级行政区划 419001 济源, 429004 仙桃, 429005 潜江, 429006 天门, "
                "429021 神农架林区 are separate pooling areas: kept as city-level destinations.",
                "台湾 71, 香港 81, 澳门 82 are not cross-province filing destinations: left out.",
                "Dropped as obsolete although loc.dat has no end year: "
                + ", ".join(f"{code} {why}" for code, why in UNMARKED_OBSOLETE.items()),
            ],
        },
        "provinces": provinces,
        "cities": sorted(cities),
        "counties": sorted(counties),
    }


def _row(item: list[str]) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def dumps(document: dict) -> str:
    """JSON with an indented meta block and one compact row per line."""
    parts = [
        '{\n  "meta": '
        + json.dumps(document["meta"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
    ]
    for key in ("provinces", "cities", "counties"):
        rows = ",\n    ".join(_row(item) for item in document[key])
        parts.append(f'  "{key}": [\n    {rows}\n  ]')
    return parts[0] + ",\n" + ",\n".join(parts[1:]) + "\n}\n"


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    loc_dat = Path(stdnum.cn.__file__).parent / "loc.dat"
    document = build(loc_dat, args.date)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dumps(document), encoding="utf-8")
    print(
        f"{args.output}: {len(document['provinces'])} provinces, {len(document['cities'])} "
        f"cities, {len(document['counties'])} counties"
    )


if __name__ == "__main__":
    main()
