"""Going live on the office's own policy values instead of the packs' examples.

``example_values`` walks a loaded pack and lists every value marked ``example = true`` (and each
insurance's ``cap_example``), with its meaning and citation: computed from the pack, so a value
added to a pack later is listed too. The supervisor confirms or edits each one into the office's
own pack file (a copy of the region's pack, written with tomlkit so its comments stay), which is
validated by ``load_pack`` — the same check as ``counter-app rules check-pack`` — before it
replaces the file. Until nothing is left, the header warns and settling a claim asks the
supervisor to confirm. The demo is exempt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from counter_app.domain.policy import Cited, InsuranceParams, PolicyPack
from counter_app.packs import PackError, load_pack, resolve_pack_path

if TYPE_CHECKING:
    from counter_app.settings import Settings
    from counter_app.storage.db import Database

#: The header's mark while example values are in force.
WARNING = "⚠ 示例参数"
_META = {"citation", "example", "note"}
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ExampleValue:
    """One example value of a pack: where it is, what it is, what it says now."""

    path: Path_
    """Keys and list indexes from the pack's top (the TOML file's structure)."""
    meaning: str
    citation: str
    values: dict[str, str]
    """The editable numbers, by dotted key below ``path`` (``by_level.1`` → ``0.92``)."""
    cap: bool = False
    """An insurance's ``cap`` (its flag is ``cap_example`` beside it)."""

    @property
    def key(self) -> str:
        """The path as one dotted key (``payment.funds[0]``)."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def summary(self) -> str:
        """The values in one line."""
        return "，".join(f"{key}={value}" for key, value in self.values.items()) or "（清单）"


def _numbers(value: Any, prefix: str = "") -> dict[str, str]:
    """The numeric leaves of a dumped model (the values an office changes)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _META or key == "when":
                continue
            out |= _numbers(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        out[prefix] = str(value)
    return out


def _meaning(model: BaseModel, path: Path_) -> str:
    for name in ("label", "name", "title"):
        text = getattr(model, name, None)
        if isinstance(text, str) and text:
            return text if not model.note else f"{text}：{model.note}"  # type: ignore[attr-defined]
    note = getattr(model, "note", "")
    citation = str(getattr(model, "citation", ""))
    if not note and citation.startswith("示例："):
        return citation.removeprefix("示例：")
    return note or ".".join(str(p) for p in path)


def _walk(node: Any, path: Path_, out: list[ExampleValue]) -> None:
    if isinstance(node, Cited) and node.example:
        out.append(
            ExampleValue(
                path=path,
                meaning=_meaning(node, path),
                citation=node.citation,
                values=_numbers(node.model_dump(exclude_unset=True)),
            )
        )
    if isinstance(node, InsuranceParams) and node.cap_example:
        out.append(
            ExampleValue(
                path=(*path, "cap"),
                meaning="年度最高支付限额",
                citation=node.cap_citation,
                values={"cap": str(node.cap)},
                cap=True,
            )
        )
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _walk(getattr(node, name), (*path, name), out)
    elif isinstance(node, dict):
        for key, item in node.items():
            _walk(item, (*path, str(key)), out)
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            _walk(item, (*path, index), out)


def example_values(pack: PolicyPack) -> list[ExampleValue]:
    """Every value of ``pack`` still marked as an example, in the file's order."""
    out: list[ExampleValue] = []
    _walk(pack, (), out)
    return out


def pending(pack: PolicyPack, demo: bool) -> bool:
    """Whether the header warns (the demo never does)."""
    return not demo and bool(example_values(pack))


# -- the office's own pack file -------------------------------------------------------------------


def office_pack_path(db_path: Path) -> Path:
    """Where the set-up keeps the office's own pack: beside its database."""
    return db_path.with_name(f"{db_path.stem}-policy.toml")


def start_office_pack(policy: str, target: Path, pool_code: str, pool_name: str) -> Path:
    """Copy the region's pack to ``target`` (kept if it exists) with the office's home pool."""
    import tomlkit

    if target.exists():
        return target
    document = tomlkit.parse(resolve_pack_path(policy).read_text(encoding="utf-8"))
    document["pack"]["home_pool_code"] = pool_code
    document["pack"]["home_pool_name"] = pool_name
    _write_checked(target, tomlkit.dumps(document))
    return target


def ensure_office_pack(db: Database, settings: Settings, settings_path: Path | None = None) -> Path:
    """The office's own pack file: created from the region's (home pool filled in) beside the
    database on first use, and named in the settings file as ``pack_file``."""
    from sqlmodel import select

    from counter_app.office_setup import write_settings
    from counter_app.regions_data import load_region_table
    from counter_app.storage.models import Office

    if settings.pack_file is not None and Path(settings.pack_file).exists():
        return Path(settings.pack_file)
    with db.read() as session:
        office = session.exec(select(Office)).first()
    if office is None:
        raise PackError(Path(), "", "请先登记本机构")
    region = load_region_table().get(office.pool_code)
    target = office_pack_path(settings.database_path())
    start_office_pack(
        office.policy, target, office.pool_code, region.name if region else office.pool_code
    )
    write_settings({"pack_file": str(target)}, settings_path)
    settings.pack_file = target
    return target


def _write_checked(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` only if it loads as a pack (the check-pack check)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        load_pack(temporary)
    except PackError as exc:
        temporary.unlink()
        raise PackError(target, exc.key, exc.problem) from None
    os.replace(temporary, target)


def _node(document: Any, path: Path_) -> Any:
    node = document
    for part in path:
        node = node[part]
    return node


def _materialise_claim_materials(document: Any) -> None:
    """Borrowed claim materials become the office's own list, so each can be confirmed."""
    import tomlkit

    from counter_app.packs import _with_shared_claim_materials

    claim = document["claim"]
    if "materials" in claim:
        return
    groups = _with_shared_claim_materials(claim.unwrap())["materials"]
    array = tomlkit.aot()
    for group in groups:
        array.append(tomlkit.item(group))
    claim["materials"] = array


def _parse_like(old: Any, text: str, key: str) -> Any:
    text = text.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PackError(Path(), key, f"“{text}”不是数字") from None
    if isinstance(old, int) and not isinstance(old, bool):
        if number != number.to_integral_value():
            raise PackError(Path(), key, f"“{text}”应为整数")
        return int(number)
    return format(number, "f")


def confirm_value(
    pack_file: Path, item: ExampleValue, values: dict[str, str] | None = None
) -> None:
    """Write the office's value(s) of ``item`` (unchanged when ``values`` is None) and clear its
    example mark; the file is replaced only if the whole pack still validates."""
    import tomlkit

    document = tomlkit.parse(pack_file.read_text(encoding="utf-8"))
    if item.path[:2] == ("claim", "materials"):
        _materialise_claim_materials(document)
    if item.cap:
        table = _node(document, item.path[:-1])
        if values and "cap" in values:
            table["cap"] = _parse_like(table["cap"], values["cap"], item.key)
        table["cap_example"] = False
    else:
        table = _node(document, item.path)
        for key, text in (values or {}).items():
            *parents, leaf = key.split(".")
            holder = _node(table, tuple(parents))
            holder[leaf] = _parse_like(holder[leaf], text, f"{item.key}.{key}")
        table["example"] = False
    _write_checked(pack_file, tomlkit.dumps(document))
