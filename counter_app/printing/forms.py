"""The printed documents' wording and layout, read from ``forms/`` (data, not code).

Each document is a TOML file; ``[regions.<policy>]`` overrides any key for a region, and an
office's own folder (settings ``forms_dir``) holds files of the same names whose keys are merged
on top, so wording, phone numbers and the office name change without touching code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from counter_app.domain.errors import CounterError
from counter_app.resources import forms_dir

DOCUMENT_KINDS: dict[str, str] = {
    "filing_form": "登记备案表",
    "commitment": "个人承诺书",
    "filing_receipt": "备案回执",
    "injury_commitment": "外伤无第三方责任承诺书",
    "settlement_slip": "零星报销结算单",
    "missing_notice": "一次性告知书",
    "claim_receipt": "受理回执",
    "return_notice": "退回通知书",
}
FILING_KINDS = ("filing_form", "commitment", "filing_receipt")
#: In the order a claim's life calls for them (the gate offers its state's document first).
CLAIM_KINDS = (
    "missing_notice",
    "claim_receipt",
    "settlement_slip",
    "return_notice",
    "injury_commitment",
)


class FormError(CounterError, ValueError):
    """A form file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Form:
    """One document's layout and wording for one region, with the shared options merged in."""

    kind: str
    name: str
    copies: int
    copy_labels: list[str]
    blocks: list[dict[str, Any]]
    text: dict[str, str]
    lists: dict[str, list[str]]
    choices: dict[str, list[list[Any]]]
    labels: dict[str, dict[str, str]]
    office: dict[str, str]


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; everything else (arrays included) is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fp:
            return tomllib.load(fp)
    except tomllib.TOMLDecodeError as exc:
        raise FormError(f"文书文件 {path} 格式错误：{exc}") from None


def _layered(name: str, region: str, override_dir: Path | None) -> dict[str, Any]:
    """The shipped file, then the office's file; each with its region's section applied."""
    data: dict[str, Any] = {}
    for folder in (forms_dir(), override_dir):
        if folder is None or not (folder / name).is_file():
            continue
        raw = _read(folder / name)
        regions = raw.pop("regions", {})
        data = merge(merge(data, raw), regions.get(region, {}))
    return data


@cache
def load_form(kind: str, region: str, override_dir: Path | None = None) -> Form:
    """The form of ``kind`` for ``region`` (read once per process and override folder)."""
    if kind not in DOCUMENT_KINDS:
        raise FormError(f"没有这种文书：{kind}（可选：{'、'.join(DOCUMENT_KINDS)}）")
    common = _layered("common.toml", region, override_dir)
    data = _layered(f"{kind}.toml", region, override_dir)
    if not data.get("blocks"):
        raise FormError(f"文书文件 {kind}.toml 缺少 blocks（版式）")
    return Form(
        kind=kind,
        name=str(data.get("name", DOCUMENT_KINDS[kind])),
        copies=int(data.get("copies", 1)),
        copy_labels=list(data.get("copy_labels", [])),
        blocks=list(data["blocks"]),
        text={**common.get("text", {}), **data.get("text", {})},
        lists=dict(data.get("lists", {})),
        choices={**common.get("choices", {}), **data.get("choices", {})},
        labels={k: {str(kk): vv for kk, vv in v.items()} for k, v in common["labels"].items()},
        office={k: v for k, v in common.get("office", {}).items() if v},
    )
