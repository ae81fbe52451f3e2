"""Filing new, change and cancel: the engine decides on the filings read under the lock."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import InvalidInput
from counter_app.domain.requests import FilingRequest
from counter_app.domain.results import FilingResult
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.filings import (
    Committed,
    FilingRefused,
    StaleFiling,
    as_existing,
    filings_of,
    write_filing,
)
from counter_app.storage.records import lock_person


class VerdictChanged(FilingRefused):
    """The rules answer differently now than when the clerk saw the verdict; nothing written."""


def verdict_key(result: FilingResult) -> dict[str, Any]:
    """What of a verdict the clerk relies on: allowed or not, why not, the dates, what it ends."""
    return {
        "allowed": result.allowed,
        "errors": sorted(r.code for r in result.reasons if r.severity == "error"),
        "valid_from": result.valid_from,
        "valid_until": result.valid_until,
        "locked_until": result.locked_until,
        "followup_due": result.followup_due,
        "destination": result.destination.code if result.destination else None,
        "change_mode": result.change_mode,
        "supersedes": sorted(result.supersedes),
    }


_KEY_LABELS = {
    "valid_from": "开始日期",
    "valid_until": "有效期至",
    "locked_until": "锁定期至",
    "followup_due": "补交材料期限",
    "destination": "就医地",
    "change_mode": "变更方式",
    "supersedes": "将失效的原备案",
}


def _errors(result: FilingResult) -> str:
    return "；".join(r.message for r in result.reasons if r.severity == "error")


def _changes(seen: dict[str, Any], fresh: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        if isinstance(value, list):
            return "、".join(value) or "无"
        return "长期" if value is None else str(value)

    return "；".join(
        f"{label} {shown(seen[key])} → {shown(fresh[key])}"
        for key, label in _KEY_LABELS.items()
        if seen[key] != fresh[key]
    )


def decide(
    session: Session,
    engine: RulesEngine,
    person_id: int,
    request: dict[str, Any],
    expected_version: int | None = None,
) -> tuple[dict[str, Any], FilingResult]:
    """Lock the person, complete the request from the database (the person, their filings) and
    ask the engine; ``StaleFiling`` if the filing changed or cancelled is no longer at
    ``expected_version``.

    Call inside a write transaction: what is read here is what the verdict rests on, and nobody
    can change it before the transaction ends.
    """
    person = lock_person(session, person_id)
    if person is None:
        raise FilingRefused("没有该参保人，未保存")
    filings = filings_of(session, person_id)
    target = request.get("target")
    if target:
        current = next((f for f in filings if f.number == target), None)
        if current is None:
            raise FilingRefused(f"备案 {target} 不属于该参保人，未保存")
        if expected_version is not None and current.version != expected_version:
            raise StaleFiling(f"备案 {target} 已被其他经办人修改，请重新打开后再办理")
    fresh = {
        **request,
        "person": {"name": person.name, "id_number": person.id_number},
        "existing": as_existing(filings),
    }
    try:
        return fresh, engine.filing(fresh)
    except InvalidInput as exc:
        raise FilingRefused(
            "办理内容有误，未保存：" + "；".join(e.message for e in exc.errors)
        ) from None


def check_unchanged(seen: FilingResult | None, result: FilingResult) -> None:
    """Refuse when the fresh verdict is not the one the clerk saw (or does not allow the step)."""
    if seen is not None and seen.allowed and not result.allowed:
        raise VerdictChanged(
            "提交时重新核对，规则判断已变为不允许办理（其他窗口可能刚为该参保人办理了备案），"
            f"未保存：{_errors(result)}。请返回参保人页面查看后再办理"
        )
    if not result.allowed:
        raise FilingRefused(f"规则判断不允许办理，未保存：{_errors(result)}")
    if seen is not None and verdict_key(seen) != verdict_key(result):
        raise VerdictChanged(
            "提交时重新核对，规则判断已变化（其他窗口可能刚为该参保人办理了备案），未保存："
            f"{_changes(verdict_key(seen), verdict_key(result))}。请返回核对后再提交"
        )


def commit_filing(
    db: Database,
    engine: RulesEngine,
    signed: SignedIn,
    person_id: int,
    request: dict[str, Any],
    *,
    seen: FilingResult | None,
    expected_version: int | None = None,
    draft_id: int | None = None,
) -> Committed:
    """New, change or cancel as the clerk chose it, decided and written in one transaction.

    ``request`` is the engine request as the clerk filled it in (its ``existing`` and ``person``
    are replaced by what the database holds now); ``seen`` is the verdict the clerk was shown
    (``None`` only where nobody was shown one, such as the demo data). Raises ``FilingRefused``
    (``VerdictChanged`` when the verdict moved since it was shown) or ``StaleFiling``.
    """
    with db.write() as session:
        fresh, result = decide(session, engine, person_id, request, expected_version)
        check_unchanged(seen, result)
        return write_filing(
            session,
            signed,
            person_id,
            FilingRequest.model_validate(fresh),
            result,
            engine.pack.material_labels,
            expected_version=expected_version,
            draft_id=draft_id,
        )
