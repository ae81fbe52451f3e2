"""Go-live check: the list equals the pack's example values; confirming them all clears it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from counter_app.golive import confirm_value, example_values, pending, start_office_pack
from counter_app.packs import PackError, available_policies, load_pack, resolve_pack_path


def _marked(node: object, out: list[str], path: str = "") -> None:
    """Every table of the raw TOML marked ``example = true`` or ``cap_example`` (not the model)."""
    if isinstance(node, dict):
        if node.get("example") is True:
            out.append(path)
        if node.get("cap_example", "cap" in node and "cap_citation" in node) is True:
            out.append(f"{path}.cap")
        for key, value in node.items():
            _marked(value, out, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _marked(item, out, f"{path}[{index}]")


@pytest.mark.parametrize("policy", available_policies())
def test_go_live_list_is_the_packs_example_values(policy: str) -> None:
    raw = tomllib.loads(resolve_pack_path(policy).read_text(encoding="utf-8"))
    expected: list[str] = []
    _marked(raw, expected)
    listed = [item.key for item in example_values(load_pack(policy))]
    # Borrowed claim materials are examples the pack marks by materials_source, not line by line.
    own = [key for key in listed if not key.startswith("claim.materials[")]
    assert sorted(own) == sorted(expected)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("policy", ["jiangsu", "beijing"])
def test_confirming_every_value_clears_the_warning(policy: str, tmp_path: Path) -> None:
    target = start_office_pack(policy, tmp_path / "office-policy.toml", "320102", "玄武区")
    pack = load_pack(target)
    assert pending(pack, demo=False) and not pending(pack, demo=True)
    assert pack.pack.home_pool_code == "320102"
    first = example_values(pack)[0]
    for item in example_values(pack):
        changed = {key: value for key, value in item.values.items()}
        if item.key.endswith("retroactive_window"):
            changed["months"] = "3"
        confirm_value(target, item, changed)
    pack = load_pack(target)
    assert example_values(pack) == []
    assert not pending(pack, demo=False)
    assert pack.filing.retroactive_window.months == 3
    # the comments of the region's pack are kept
    assert "示例参数" in target.read_text(encoding="utf-8")
    assert first.key


def test_an_invalid_value_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    target = start_office_pack("jiangsu", tmp_path / "p.toml", "320100", "南京市")
    before = target.read_text(encoding="utf-8")
    items = example_values(load_pack(target))
    window = next(i for i in items if i.key == "filing.retroactive_window")
    ratio = next(i for i in items if "ratio.inpatient" in i.key)
    with pytest.raises(PackError, match="months"):
        confirm_value(target, window, {"months": "0"})  # the pack model: 1 to 120 months
    with pytest.raises(PackError, match="不是数字"):
        confirm_value(target, ratio, {"by_level.1": "abc"})
    with pytest.raises(PackError, match="整数"):
        confirm_value(target, window, {"months": "2.5"})
    assert target.read_text(encoding="utf-8") == before
