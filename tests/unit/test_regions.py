"""Region table: normalisation of GB/T 2260 codes to filing destinations (real data)."""

from __future__ import annotations

import json

import pytest

from counter_app.domain.regions import Region, RegionError, RegionTable
from counter_app.regions_data import load_region_table
from counter_app.resources import assets_dir


@pytest.fixture(scope="module")
def table() -> RegionTable:
    return load_region_table()


@pytest.mark.parametrize(
    ("code", "dest_code", "dest_name", "level", "full_name"),
    [
        ("340200", "340200", "芜湖市", "city", "安徽省芜湖市"),
        ("340202", "340200", "芜湖市", "city", "安徽省芜湖市"),  # 镜湖区
        ("340223", "340200", "芜湖市", "city", "安徽省芜湖市"),  # 南陵县
        ("340281", "340200", "芜湖市", "city", "安徽省芜湖市"),  # 无为市 (county-level city)
        ("340201", "340200", "芜湖市", "city", "安徽省芜湖市"),  # 市辖区
        ("320100", "320100", "南京市", "city", "江苏省南京市"),
        ("430100", "430100", "长沙市", "city", "湖南省长沙市"),
        ("430104", "430100", "长沙市", "city", "湖南省长沙市"),  # 岳麓区
        ("110105", "110000", "北京市", "municipality", "北京市"),  # 朝阳区
        ("110000", "110000", "北京市", "municipality", "北京市"),
        ("110100", "110000", "北京市", "municipality", "北京市"),  # 市辖区 placeholder
        ("120101", "120000", "天津市", "municipality", "天津市"),
        ("310115", "310000", "上海市", "municipality", "上海市"),  # 浦东新区
        ("500229", "500000", "重庆市", "municipality", "重庆市"),  # 城口县
        ("460100", "460000", "海南省", "province", "海南省"),  # 海口市
        ("460105", "460000", "海南省", "province", "海南省"),  # 秀英区
        ("469002", "460000", "海南省", "province", "海南省"),  # 琼海市 (省直辖)
        ("460000", "460000", "海南省", "province", "海南省"),
        ("540100", "540000", "西藏自治区", "province", "西藏自治区"),  # 拉萨市
        ("540102", "540000", "西藏自治区", "province", "西藏自治区"),  # 城关区
        ("660000", "660000", "新疆生产建设兵团", "province", "新疆生产建设兵团"),
        ("659001", "660000", "新疆生产建设兵团", "province", "新疆生产建设兵团"),  # 石河子市
        ("650100", "650100", "乌鲁木齐市", "city", "新疆维吾尔自治区乌鲁木齐市"),
        ("429004", "429004", "仙桃市", "city", "湖北省仙桃市"),  # 省直辖县级市
        ("419001", "419001", "济源市", "city", "河南省济源市"),
        ("152900", "152900", "阿拉善盟", "city", "内蒙古自治区阿拉善盟"),
        ("222400", "222400", "延边朝鲜族自治州", "city", "吉林省延边朝鲜族自治州"),
        (" 340200 ", "340200", "芜湖市", "city", "安徽省芜湖市"),  # surrounding spaces
    ],
)
def test_normalise(
    table: RegionTable, code: str, dest_code: str, dest_name: str, level: str, full_name: str
) -> None:
    region = table.normalise(code)
    assert (region.code, region.name, region.level, region.full_name) == (
        dest_code,
        dest_name,
        level,
        full_name,
    )
    assert region.is_destination
    assert region in table.destinations()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999999", "就医地代码 999999 不存在"),
        ("340299", "就医地代码 340299 不存在"),
        ("340221", "就医地代码 340221 不存在"),  # 芜湖县: abolished 2020
        ("429000", "就医地代码 429000 不存在"),  # 省直辖县级行政单位 placeholder
        ("710000", "就医地代码 710000 不存在"),  # 台湾: not a destination
        ("34020", "格式不正确"),
        ("3402000", "格式不正确"),
        ("34O200", "格式不正确"),
        ("", "格式不正确"),
        ("340000", "只到省级"),  # 安徽省: too coarse
        ("430000", "只到省级"),
        ("650000", "只到省级"),
    ],
)
def test_normalise_rejects(table: RegionTable, code: str, message: str) -> None:
    with pytest.raises(RegionError) as excinfo:
        table.normalise(code)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_error_names_the_field(table: RegionTable) -> None:
    with pytest.raises(RegionError, match="参保地代码 999999 不存在"):
        table.normalise("999999", field="参保地代码")


def test_get(table: RegionTable) -> None:
    wuhu = table.get("340200")
    assert wuhu == Region(
        code="340200",
        name="芜湖市",
        level="city",
        province_code="340000",
        province_name="安徽省",
        full_name="安徽省芜湖市",
        is_destination=True,
    )
    haikou = table.get("460100")
    assert haikou is not None and haikou.level == "city" and not haikou.is_destination
    assert table.get("340202") is None  # counties are not regions
    assert table.get("999999") is None
    assert table.county_name("340202") == "镜湖区"
    assert table.county_name("340200") is None


def test_provinces(table: RegionTable) -> None:
    provinces = table.provinces()
    codes = [p.code for p in provinces]
    assert len(provinces) == 32  # 31 mainland province-level units + 兵团
    assert codes == sorted(codes)
    assert {"710000", "810000", "820000"}.isdisjoint(codes)
    levels = {p.code: p.level for p in provinces}
    assert [c for c, lvl in levels.items() if lvl == "municipality"] == [
        "110000",
        "120000",
        "310000",
        "500000",
    ]
    destinations = {p.code for p in provinces if p.is_destination}
    assert destinations == {"110000", "120000", "310000", "500000", "460000", "540000", "660000"}


def test_cities(table: RegionTable) -> None:
    anhui = table.cities("340000")
    assert len(anhui) == 16
    assert [c.name for c in anhui[:3]] == ["合肥市", "芜湖市", "蚌埠市"]
    hubei = {c.code: c.name for c in table.cities("420000")}
    assert len(hubei) == 17  # 12 cities, 恩施州 and four 省直辖 units
    assert hubei["429004"] == "仙桃市" and hubei["429021"] == "神农架林区"
    assert "429001" not in hubei and "422900" not in hubei  # unmarked obsolete entries
    assert table.cities("110000") == []
    assert table.cities("999999") == []
    assert all(not c.is_destination for c in table.cities("540000"))


def test_destinations(table: RegionTable) -> None:
    destinations = table.destinations()
    codes = [d.code for d in destinations]
    assert len(codes) == len(set(codes)) == 334
    prefecture_level = [d for d in destinations if d.level == "city" and d.code[2:4] != "90"]
    assert len(prefecture_level) == 333 - 4 - 7  # minus the cities of 海南 and 西藏
    assert {"110000", "460000", "540000", "660000", "340200", "430100"} <= set(codes)
    assert not {"460100", "540100", "340000", "110105"} & set(codes)
    # every destination normalises to itself
    for region in destinations:
        assert table.normalise(region.code) == region


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("340200", "340100", True),
        ("340202", "340000", True),
        ("340200", "320100", False),
        ("110105", "110000", True),
        ("110105", "120101", False),
        ("460105", "469002", True),
        ("659001", "650100", False),  # 兵团 is its own province-level unit
        ("659001", "660000", True),
        ("429004", "420100", True),
    ],
)
def test_same_province(table: RegionTable, a: str, b: str, same: bool) -> None:
    assert table.same_province(a, b) is same
    assert table.same_province(b, a) is same


def test_same_province_accepts_regions_and_rejects_unknown(table: RegionTable) -> None:
    assert table.same_province(table.normalise("340202"), "340100")
    with pytest.raises(RegionError, match="999999"):
        table.same_province("999999", "340100")


@pytest.mark.parametrize(
    ("text", "expected_first"),
    [
        ("芜湖", ["340200"]),
        ("长沙", ["430100"]),
        ("兵团", ["660000"]),
        ("镜湖", ["340200"]),  # via its county
        ("海口", ["460100"]),
    ],
)
def test_search(table: RegionTable, text: str, expected_first: list[str]) -> None:
    found = [r.code for r in table.search(text)]
    assert found[: len(expected_first)] == expected_first


def test_search_details(table: RegionTable) -> None:
    assert table.search("") == []
    assert table.search("  ") == []
    anhui = table.search("安徽")
    assert anhui[0].code == "340000" and len(anhui) == 17  # the province and its 16 cities
    assert table.search("镜湖", include_counties=False) == []
    assert table.search("不存在的地方") == []
    # 秀英区 (海口) finds the destination 海南省, not the city
    assert [r.code for r in table.search("秀英")] == ["460000"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("海口", ["460000"]),  # a city of a province filed at province level (DOMAIN: 海南)
        ("haikou", ["460000"]),  # pinyin over every region's name, then the destination
        ("深圳", ["440300"]),
        ("镜湖", ["340200"]),  # a county finds its city
        ("xxxx", []),
    ],
)
def test_destinations_matching(table: RegionTable, text: str, codes: list[str]) -> None:
    def pinyin(name: str) -> bool:
        return {"haikou": "海口市"}.get(text) == name

    found = table.destinations_matching(text, pinyin)
    assert [r.code for r in found] == codes
    assert all(r.is_destination for r in found)
    assert all(
        r.level != "province" or r.is_destination for r in table.destinations_matching("江苏")
    )


def test_json_meta_and_shape() -> None:
    path = assets_dir() / "regions" / "gbt2260.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    meta = data["meta"]
    assert "loc.dat" in meta["source"]
    assert any("660000" in note and "medical-insurance platform" in note for note in meta["notes"])
    assert {"provinces", "cities", "counties"} <= data.keys()
    county_codes = [row[0] for row in data["counties"]]
    assert len(county_codes) == len(set(county_codes)) > 2800


def test_from_dict_validates() -> None:
    with pytest.raises(ValueError):
        RegionTable.from_dict(
            {
                "provinces": [["340000", "安徽省", "province", "city"]],
                "cities": [["320100", "南京市", "320000"]],
            }
        )
    with pytest.raises(ValueError):
        RegionTable.from_dict(
            {
                "provinces": [["340000", "安徽省", "province", "city"]],
                "cities": [["340200", "芜湖市", "340000"]],
                "counties": [["320102", "玄武区", "320100"]],
            }
        )
    small = RegionTable.from_dict(
        {
            "provinces": [["340000", "安徽省", "province", "city"]],
            "cities": [["340200", "芜湖市", "340000"]],
            "counties": [["340202", "镜湖区", "340200"]],
        }
    )
    assert small.normalise("340202").code == "340200"
    assert "340202" in small and "340203" not in small and len(small) == 2


def test_loader_is_cached() -> None:
    assert load_region_table() is load_region_table()
