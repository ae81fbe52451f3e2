"""Manual reimbursement claims: decided on the year-to-date figures read under the person's lock.

Two windows settling or taking claims of one person at once must not both use the same
year-to-date figures (the deductible would be paid twice, the annual cap passed): every intake
and every settlement locks the person, reads the settled claims again and asks the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from counter_app.domain.claim_lifecycle import REVIEWING, ClaimAction
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.engine import RulesEngine
from counter_app.domain.errors import InvalidInput
from counter_app.domain.requests import ClaimRequest
from counter_app.domain.results import ClaimResult
from counter_app.storage.claims import (
    ClaimCommitted,
    ClaimRefused,
    write_claim,
    write_recalculation,
    write_transition,
    year_to_date_in,
)
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.storage.models import Claim
from counter_app.storage.records import lock_person

YTD_FIELDS = ("deductible_paid", "fund_paid", "above_cap_paid")


class ClaimVerdictChanged(ClaimRefused):
    """The engine answers differently now than when the clerk saw it; nothing was written."""


class PaymentRecalculated(ClaimRefused):
    """A settlement found the year-to-date figures moved: the claim was recalculated (that is
    written and audited) and not settled; the clerk checks the new figures and settles again."""


def ytd_year(values: dict[str, Any], today: date) -> int:
    """The calendar year whose accumulators a claim uses: that of its discharge or visit."""
    end = values.get("discharge_date") or values.get("visit_date") or today.isoformat()
    try:
        return int(str(end)[:4])
    except ValueError:
        return today.year


def basic_funds(engine: RulesEngine) -> list[str]:
    """The funds the annual cap applies to (the others count as paid above the cap)."""
    return [f.name for f in engine.pack.payment.funds if f.kind == "basic"]


def year_to_date_pair(
    session: Session,
    engine: RulesEngine,
    office_id: int,
    person_id: int,
    values: dict[str, Any],
    today: date,
) -> tuple[dict[str, str], dict[str, str]]:
    """This year's and last year's accumulators from the office's settled claims."""
    year, basic = ytd_year(values, today), basic_funds(engine)
    return (
        year_to_date_in(session, office_id, person_id, year, basic),
        year_to_date_in(session, office_id, person_id, year - 1, basic),
    )


def shown_year_to_date(
    db: Database,
    engine: RulesEngine,
    office_id: int,
    person_id: int,
    values: dict[str, Any],
    today: date,
) -> tuple[dict[str, str], dict[str, str]]:
    """The accumulators the wizard shows (the commit reads them again under the lock)."""
    with db.read() as session:
        return year_to_date_pair(session, engine, office_id, person_id, values, today)


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _fresh_ytd(
    entered: dict[str, Any], shown: dict[str, str] | None, current: dict[str, str]
) -> dict[str, Any]:
    """The year-to-date figures to decide on: what the office's records say now, except where
    the clerk typed a figure of their own (an override stays, and is audited on writing)."""
    fresh: dict[str, Any] = dict(entered)
    for name in YTD_FIELDS:
        typed = _amount(entered.get(name))
        was = _amount((shown or {}).get(name))
        if typed is None or shown is None or typed == was:
            fresh[name] = current[name]
    return fresh


def claim_key(result: ClaimResult) -> dict[str, Any]:
    """What of a claim verdict the clerk relies on: eligibility, case, materials, due, money."""
    payment = result.payment
    return {
        "eligible": result.eligible,
        "complete": result.complete,
        "case": result.case,
        "errors": sorted(r.code for r in result.reasons if r.severity == "error"),
        "missing": sorted(result.missing),
        "due": result.due.date if result.due else None,
        "cost_check": result.cost_check_candidate,
        "payment": None
        if payment is None
        else (
            payment.deductible,
            payment.fund_total,
            payment.personal_cash,
            tuple((f.name, f.amount) for f in payment.funds),
        ),
    }


def _describe(seen: dict[str, Any], fresh: dict[str, Any]) -> str:
    parts = []
    if seen["payment"] != fresh["payment"] and seen["payment"] and fresh["payment"]:
        parts.append(
            f"起付线 {seen['payment'][0]} → {fresh['payment'][0]}，"
            f"基金支付 {seen['payment'][1]} → {fresh['payment'][1]}，"
            f"个人现金 {seen['payment'][2]} → {fresh['payment'][2]}"
        )
    labels = {"eligible": "是否可报销", "case": "情形", "missing": "缺少材料", "due": "办结期限"}
    parts.extend(
        f"{label} {seen[k]} → {fresh[k]}" for k, label in labels.items() if seen[k] != fresh[k]
    )
    return "；".join(parts) or "规则判断的依据已变化"


def _decide(engine: RulesEngine, request: dict[str, Any]) -> ClaimResult:
    try:
        return engine.claim(request)
    except InvalidInput as exc:
        raise ClaimRefused(
            "报销内容有误，未保存：" + "；".join(e.message for e in exc.errors)
        ) from None


def take_claim(
    db: Database,
    engine: RulesEngine,
    signed: SignedIn,
    person_id: int,
    request: dict[str, Any],
    *,
    seen: ClaimResult | None,
    ytd_shown: dict[str, str] | None = None,
    lines: Sequence[ItemLine] = (),
    number: str | None = None,
    expected_version: int | None = None,
    draft_id: int | None = None,
    hospital: dict[str, str] | None = None,
) -> ClaimCommitted:
    """Save as 待补材料 or accept, decided on fresh year-to-date figures in one transaction.

    ``request`` is the claim as the clerk filled it in; ``ytd_shown`` the accumulators the wizard
    showed (a figure the clerk changed from it is an override and is kept); ``seen`` the verdict
    the clerk was shown. When the fresh verdict differs (another window settled a claim of the
    person meanwhile), ``ClaimVerdictChanged`` says what moved and nothing is written.
    """
    with db.write() as session:
        if lock_person(session, person_id) is None:
            raise ClaimRefused("没有该参保人，未保存")
        today = date.fromisoformat(str(request["today"]))
        current, previous = year_to_date_pair(
            session, engine, signed.office_id, person_id, request, today
        )
        fresh = {**request, "ytd": _fresh_ytd(request.get("ytd") or {}, ytd_shown, current)}
        if "ytd_previous" in request or ytd_shown is not None:
            fresh["ytd_previous"] = previous
        result = _decide(engine, fresh)
        if not result.eligible:
            raise ClaimRefused(
                "规则判断不予报销，未保存："
                + "；".join(r.message for r in result.reasons if r.severity == "error")
            )
        if seen is not None and claim_key(seen) != claim_key(result):
            raise ClaimVerdictChanged(
                "提交时按最新的本年度累计重新计算，结果已变化（其他窗口可能刚结算了该参保人的报销），"
                f"未保存：{_describe(claim_key(seen), claim_key(result))}。请返回核对后再提交"
            )
        return write_claim(
            session,
            signed,
            person_id,
            ClaimRequest.model_validate(fresh),
            result,
            lines=lines,
            ytd_computed=current,
            number=number,
            expected_version=expected_version,
            draft_id=draft_id,
            hospital=hospital,
        )


def advance_claim(
    db: Database,
    engine: RulesEngine,
    signed: SignedIn,
    number: str,
    action: str,
    *,
    expected_version: int | None = None,
    reason: str = "",
    today: date | None = None,
) -> ClaimCommitted:
    """审核, 结算 or 退回 under the person's lock; a settlement is decided again first.

    Settling re-reads the year-to-date figures: if the payment they give differs from the
    stored one, the claim is recalculated (written, audited, version moved) and
    ``PaymentRecalculated`` tells the clerk to check the new figures and settle again.
    """
    recalculated = ""
    with db.write() as session:
        person_id = session.exec(select(Claim.person_id).where(Claim.number == number)).first()
        if person_id is None:
            raise ClaimRefused(f"没有编号为 {number} 的报销")
        lock_person(session, person_id)
        claim = session.exec(
            select(Claim).where(Claim.number == number).execution_options(populate_existing=True)
        ).one()
        if (
            action == ClaimAction.SETTLE
            and claim.status == REVIEWING
            and claim.result.get("payment")
        ):
            stored = ClaimResult.model_validate(claim.result)
            request = dict(claim.request)
            current, previous = year_to_date_pair(
                session,
                engine,
                signed.office_id,
                person_id,
                request,
                date.fromisoformat(str(request["today"])),
            )
            entered = (claim.ytd_override or {}).get("entered") or {}
            request["ytd"] = {**current, **entered}
            request["ytd_previous"] = previous
            fresh = _decide(engine, request)
            if claim_key(fresh)["payment"] != claim_key(stored)["payment"] and (
                expected_version is None or expected_version == claim.version
            ):
                write_recalculation(
                    session, signed, claim, ClaimRequest.model_validate(request), fresh, current
                )
                recalculated = _describe(claim_key(stored), claim_key(fresh))
        if not recalculated:
            return write_transition(
                session,
                signed,
                number,
                action,
                expected_version=expected_version,
                reason=reason,
                today=today,
            )
    raise PaymentRecalculated(
        f"结算前按最新的本年度累计重新计算，待遇已变化（其他窗口刚结算了该参保人的报销）：{recalculated}。"
        "已更新本报销的计算结果，请核对后再结算"
    )
