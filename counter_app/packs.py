"""Loading policy packs from TOML files into ``PolicyPack`` models.

The shipped packs live in ``assets/policies/<region>.toml``; an office may point the app at its
own file instead. The shared material catalogue (``materials.toml``) is merged in first, so a pack
only lists the labels it changes (``[material_labels]``). A broken pack fails here, with a message
that names the file, the key and the problem.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from counter_app.domain.errors import CounterError
from counter_app.domain.policy import PolicyPack
from counter_app.resources import assets_dir

SHIPPED = ("jiangsu", "beijing", "wuhu", "hunan")
_CATALOGUE = "materials.toml"
_CLAIM_MATERIALS = "claim_materials.toml"
_SHARED = (_CATALOGUE, _CLAIM_MATERIALS)


class PackError(CounterError, ValueError):
    """A policy pack that cannot be used; ``str()`` names the file, the key and the problem."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = f"，键 {key}" if key else ""
        super().__init__(f"策略包 {path}{where}：{problem}")


def policies_dir() -> Path:
    """The folder of the shipped policy packs."""
    return assets_dir() / "policies"


def available_policies() -> list[str]:
    """The ids of the shipped packs, in a stable order."""
    found = {p.stem for p in policies_dir().glob("*.toml") if p.name not in _SHARED}
    return [name for name in SHIPPED if name in found] + sorted(found - set(SHIPPED))


def resolve_pack_path(name_or_path: str | Path) -> Path:
    """A pack id (``jiangsu``) or a path to an office's own TOML file."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)
    return policies_dir() / f"{text}.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise PackError(path, "", "文件不存在") from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError(path, "", f"TOML 语法错误：{exc}") from None


def _shared_list(name: str) -> list[dict[str, Any]]:
    path = policies_dir() / name
    materials = _read_toml(path).get("materials")
    if not isinstance(materials, list):
        raise PackError(path, "materials", "缺少 [[materials]] 列表")
    return [dict(item) for item in materials]


def _with_shared_claim_materials(claim: dict[str, Any]) -> dict[str, Any]:
    """A pack without its own claim checklist borrows the shared one.

    Where the pack says the list is borrowed (``materials_source``), every group is marked as an
    example and notes the source, so the office sees that it must confirm it.
    """
    claim = dict(claim)
    source = claim.get("materials_source")
    groups = _shared_list(_CLAIM_MATERIALS)
    if isinstance(source, dict):
        for group in groups:
            group["example"] = True
            group["note"] = f"{source.get('citation', '')}（{group.get('note') or '示例'}）"
            # the region's own seed lists no such material: the reason must say 示例
            group["citation"] = f"示例：参照{group['citation']}"
    claim["materials"] = groups
    return claim


def _key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def parse_pack(data: dict[str, Any], path: Path) -> PolicyPack:
    """Validate a pack's parsed TOML (with the catalogue merged) into a ``PolicyPack``."""
    data = dict(data)
    labels = data.pop("material_labels", {})
    if isinstance(data.get("claim"), dict) and "materials" not in data["claim"]:
        data["claim"] = _with_shared_claim_materials(data["claim"])
    if "materials" not in data:
        catalogue = _shared_list(_CATALOGUE)
        known = {m["id"] for m in catalogue}
        for material_id in labels:
            if material_id not in known:
                raise PackError(path, f"material_labels.{material_id}", "未定义的材料 id")
        for item in catalogue:
            item["label"] = labels.get(item["id"], item["label"])
        data["materials"] = catalogue
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = first["msg"].removeprefix("Value error, ")
        raise PackError(path, _key(first["loc"]), problem) from None


def load_pack(name_or_path: str | Path) -> PolicyPack:
    """Load and validate a pack by id or path (not cached; see ``shipped_pack``)."""
    path = resolve_pack_path(name_or_path)
    return parse_pack(_read_toml(path), path)


@cache
def shipped_pack(name: str) -> PolicyPack:
    """A shipped pack, loaded once per process."""
    if name not in available_policies():
        raise PackError(policies_dir() / f"{name}.toml", "", "没有这个地区的策略包")
    return load_pack(name)
