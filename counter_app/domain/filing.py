"""Filing rules (备案): new, change and cancel, decided from a region's policy pack.

``decide_filing`` first checks the request's values (every bad field at once, ``InvalidInput``),
then decides: whether a filing is needed and allowed today, the material checklist and what is
missing, the validity, the change/cancel lock, the follow-up due date of a 承诺书 filing and the
normalised destination — each reason with the article it rests on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from counter_app.domain.checklist import applicable, describe_missing, evaluate
from counter_app.domain.conditions import matches
from counter_app.domain.dates import after_term, term_end
from counter_app.domain.errors import FieldError, InvalidInput
from counter_app.domain.existing import check_target, existing_status, stands
from counter_app.domain.filing_checks import (
    changed_fields,
    continued_treatment_reasons,
    refile_reasons,
    requirement_reasons,
    retroactive_reasons,
    special_disease_reasons,
    special_disease_start,
)
from counter_app.domain.idnumber import check_id_number, mask_id
from counter_app.domain.policy import CategoryRules, MaterialGroup, PolicyPack
from counter_app.domain.regions import Region, RegionError, RegionTable
from counter_app.domain.requests import ExistingFiling, FilingRequest
from counter_app.domain.results import (
    Catalogue,
    Destination,
    FilingResult,
    Reason,
)
from counter_app.domain.status import FilingAction, FilingStatus


@dataclass(frozen=True)
class _Checked:
    """What validation learnt on the way: the normalised ID, destination and target."""

    id_number: str
    id_warnings: list[str]
    destination: Region | None
    home: Region
    target: ExistingFiling | None


def _validate(request: FilingRequest, pack: PolicyPack, regions: RegionTable) -> _Checked:
    errors: list[FieldError] = []
    id_check = check_id_number(request.person.id_number, today=request.today)
    errors.extend(FieldError("person.id_number", message) for message in id_check.errors)

    known = {m.id for m in pack.materials}
    for index, material in enumerate(request.materials):
        if material not in known:
            errors.append(FieldError(f"materials[{index}]", f"未知的材料代码“{material}”"))

    home_code = request.home_pool or pack.pack.home_pool_code
    home: Region | None = None
    try:
        home = regions.normalise(home_code, "参保统筹区代码")
    except RegionError as exc:
        errors.append(FieldError("home_pool", str(exc)))

    category = pack.filing.categories[request.category]
    destination: Region | None = None
    if request.destination:
        try:
            destination = regions.normalise(request.destination)
        except RegionError as exc:
            errors.append(FieldError("destination", str(exc)))
    elif request.action != "cancel" and category.needs_filing:
        errors.append(FieldError("destination", "缺少就医地代码（6位行政区划代码）"))

    if request.start_date and request.end_date and request.end_date < request.start_date:
        errors.append(FieldError("end_date", "备案结束日期早于开始日期"))
    validity = category.validity
    if (
        request.action != "cancel"  # a change re-states the validity too (京细则 第十条)
        and validity is not None
        and validity.end_required
        and request.end_date is None
    ):
        errors.append(
            FieldError("end_date", f"{pack.pack.name}{category.label}须由本人选定备案结束日期")
        )

    target: ExistingFiling | None = None
    if request.action in ("change", "cancel"):
        if not request.target:
            errors.append(FieldError("target", "变更或取消须指明原备案编号"))
        else:
            target = next((e for e in request.existing if e.id == request.target), None)
            if target is None:
                errors.append(
                    FieldError("target", f"existing 中没有编号为 {request.target} 的备案")
                )
    for index, existing in enumerate(request.existing):
        if existing.valid_until and existing.valid_until < existing.valid_from:
            errors.append(FieldError(f"existing[{index}].valid_until", "结束日期早于开始日期"))

    if request.special_disease is not None and pack.filing.special_disease is None:
        errors.append(
            FieldError(
                "special_disease",
                f"{pack.pack.name}的政策文件未单独规定特殊病备案，请按人员类别办理",
            )
        )

    if errors:
        raise InvalidInput(errors)
    assert home is not None
    return _Checked(id_check.normalised, id_check.warnings, destination, home, target)


def _destination(region: Region | None) -> Destination | None:
    if region is None:
        return None
    return Destination(
        code=region.code,
        name=region.name,
        level=region.level,
        province_code=region.province_code,
        full_name=region.full_name,
    )


def _same_destination(regions: RegionTable, code: str, region: Region | None) -> bool:
    if region is None:
        return False
    try:
        return regions.normalise(code).code == region.code
    except RegionError:
        return code == region.code


class _Decision:
    """Collects reasons while a request is decided."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []

    def add(self, code: str, message: str, citation: str, severity: str = "error") -> None:
        self.reasons.append(
            Reason(code=code, message=message, citation=citation, severity=severity)
        )

    @property
    def blocked(self) -> bool:
        return any(r.severity == "error" for r in self.reasons)


def _facts(request: FilingRequest, category: CategoryRules) -> dict[str, Any]:
    return {
        "action": request.action,
        "insurance": request.insurance,
        "category": request.category,
        "term": category.term,
        "scope": request.scope,
        "basis": request.basis,
        "by_agent": request.by_agent,
        "multi_place": request.multi_place,
        "has_employer": request.has_employer,
        "retired": request.retired,
        "referral_one_stop": request.referral_one_stop,
        "continued_treatment": request.continued_treatment,
        "purpose": request.purpose or "",
        "channel": request.channel,
        "special_disease": request.special_disease is not None,
    }


def _check_scope(
    request: FilingRequest, pack: PolicyPack, checked: _Checked, decision: _Decision
) -> None:
    rules = pack.filing
    if request.scope == "in_province" and rules.in_province_not_applicable:
        decision.add(
            "scope_not_applicable",
            rules.in_province_not_applicable.note or "本地区不办理省内异地就医备案",
            rules.in_province_not_applicable.citation,
        )
    region = checked.destination
    if region is None:
        return
    home = checked.home
    if region.code == home.code:
        decision.add(
            "destination_is_home",
            f"就医地“{region.full_name}”即参保统筹区，不属于异地就医，无需备案",
            rules.scope_definition.citation,
        )
        return
    in_province = region.province_code == home.province_code
    if in_province and request.scope == "cross_province":
        decision.add(
            "scope_mismatch",
            f"就医地“{region.full_name}”在参保省内，应按省内异地就医办理",
            rules.scope_definition.citation,
        )
    elif not in_province and request.scope == "in_province":
        decision.add(
            "scope_mismatch",
            f"就医地“{region.full_name}”在参保省外，应按跨省异地就医办理",
            rules.scope_definition.citation,
        )
    if region.level != "city":
        decision.add(
            "province_level_destination",
            f"就医地“{region.name}”按省级统筹地区（或直辖市）备案",
            rules.province_level_destination.citation,
            "info",
        )


def _check_eligibility(
    request: FilingRequest,
    pack: PolicyPack,
    category: CategoryRules,
    facts: dict[str, Any],
    decision: _Decision,
) -> bool:
    """Restrictions and the commitment rules; returns whether the 承诺书 option is open."""
    for restriction in category.restrictions:
        if matches(restriction.when, facts) and not matches(restriction.require, facts):
            decision.add(restriction.code, restriction.message, restriction.citation)
    if request.basis != "commitment":
        return False
    group_citation = next((g.citation for g in category.materials), pack.filing.identity.citation)
    if not category.commitment_allowed:
        decision.add(
            "commitment_not_allowed",
            f"{category.label}不能以个人承诺方式办理备案",
            group_citation,
        )
        return False
    multi = pack.filing.multi_place_commitment
    if request.multi_place and multi is not None:
        decision.add(
            "multi_place_no_commitment",
            multi.note or "多地备案不可使用承诺制",
            multi.citation,
        )
        return False
    followup = pack.filing.followup
    if followup and followup.per_year_limit and request.action == "new":
        # a commitment filing counts while the year that began with it lasts
        used = [
            e
            for e in request.existing
            if e.basis == "commitment" and request.today <= term_end(e.valid_from, 12)
        ]
        if len(used) >= followup.per_year_limit:
            decision.add(
                "commitment_yearly_limit",
                f"一年内已以个人承诺方式备案（{used[0].id}，{used[0].valid_from}），"
                f"原则上一年只能承诺备案 {followup.per_year_limit} 次，请提供认定材料",
                followup.citation,
            )
    return True


@dataclass(frozen=True)
class Conflict:
    """An active filing that a new one would duplicate or, where the region says so, replace."""

    existing: str
    code: str
    message: str
    citation: str
    #: The region's rule ends the old filing instead of refusing the new one (京细则 第十条).
    replaces: bool


def filing_conflicts(
    pack: PolicyPack,
    regions: RegionTable,
    category: str,
    destination: Region | None,
    multi_place: bool,
    existing: Iterable[ExistingFiling],
    today: date,
) -> list[Conflict]:
    """The person's filings, active on ``today``, that a filing of ``category`` meets.

    One rule for the counter's engine and the provincial store: a long-term filing meets any other
    active long-term filing unless both are 多地备案 to different places; a temporary filing meets
    an active temporary one to the same destination. Expired filings (by date) meet nothing.
    """
    rules = pack.filing
    term = rules.categories[category].term  # type: ignore[index]
    found: list[Conflict] = []
    for other in existing:
        # 特殊病 filings are checked per disease (_check_special_disease)
        if not stands(other, pack, today) or other.special_disease:
            continue
        overdue = existing_status(other, today) == FilingStatus.OVERDUE
        other_term = rules.categories[other.category].term
        if term == "long" and other_term == "long":
            if multi_place and not _same_destination(regions, other.destination, destination):
                continue
            if rules.supersede:
                found.append(
                    Conflict(
                        other.id,
                        "supersedes",
                        f"重新备案后，原备案 {other.id} 自动失效",
                        rules.supersede.citation,
                        replaces=True,
                    )
                )
                continue
            if overdue and rules.followup is not None:
                found.append(
                    Conflict(
                        other.id,
                        "active_long_term",
                        f"已有长期异地居住备案 {other.id}（逾期未补，补齐材料期限 "
                        f"{other.followup_due}），请先补齐承诺的备案材料；"
                        f"{rules.followup.consequence}",
                        rules.followup.citation,
                        replaces=False,
                    )
                )
                continue
            found.append(
                Conflict(
                    other.id,
                    "active_long_term",
                    f"已有有效的长期异地居住备案 {other.id}，请办理变更；"
                    "因工作生活需要多地居住的，请选择多地备案",
                    rules.active_conflict.citation,
                    replaces=False,
                )
            )
        elif (
            term == "temporary"
            and other_term == "temporary"
            and _same_destination(regions, other.destination, destination)
        ):
            found.append(
                Conflict(
                    other.id,
                    "active_temporary",
                    f"已有该就医地有效期内的临时备案 {other.id}（至 {other.valid_until}），"
                    "有效期内可多次就诊，无需重复备案",
                    rules.active_conflict.citation,
                    replaces=False,
                )
            )
    return found


def _check_conflicts(
    request: FilingRequest,
    pack: PolicyPack,
    regions: RegionTable,
    checked: _Checked,
    decision: _Decision,
) -> list[str]:
    """Active filings that a new one would duplicate or replace; returns those it supersedes."""
    superseded: list[str] = []
    if request.special_disease is not None:
        return superseded  # 特殊病 filings are checked per disease (_check_special_disease)
    for conflict in filing_conflicts(
        pack,
        regions,
        request.category,
        checked.destination,
        request.multi_place,
        request.existing,
        request.today,
    ):
        if conflict.replaces:
            superseded.append(conflict.existing)
        decision.add(
            conflict.code,
            conflict.message,
            conflict.citation,
            "info" if conflict.replaces else "error",
        )
    return superseded


def _lock_until(
    pack: PolicyPack, category: str, basis: str, valid_from: date
) -> tuple[date | None, str]:
    term = pack.filing.categories[category].term  # type: ignore[index]
    facts = {"term": term, "basis": basis, "category": category}
    for lock in pack.filing.locks:
        if matches(lock.when, facts):
            return after_term(valid_from, lock.months), lock.citation
    return None, ""


def _checklist_groups(
    request: FilingRequest,
    pack: PolicyPack,
    category: CategoryRules,
    target: ExistingFiling | None,
    region: Region | None,
    regions: RegionTable,
) -> list[MaterialGroup]:
    groups: list[MaterialGroup] = [pack.filing.identity, *pack.filing.common]
    special = pack.filing.special_disease
    if special is not None and request.special_disease is not None:
        if request.action != "cancel":
            groups.extend(special.materials)  # 京细则 第八条, instead of the 承诺书
        return groups
    if request.action == "new":
        groups.extend(category.materials)
    elif request.action == "change" and target is not None:
        moved = region is not None and not _same_destination(regions, target.destination, region)
        if moved or target.category != request.category:
            groups.extend(category.materials)
    return groups


def _validity(
    request: FilingRequest, category: CategoryRules, decision: _Decision
) -> tuple[date, date | None]:
    valid_from = request.start_date or request.today
    validity = category.validity
    assert validity is not None
    if validity.kind == "long_term":
        return valid_from, None
    if validity.kind == "chosen":
        return valid_from, request.end_date
    assert validity.months is not None
    end = term_end(valid_from, validity.months)
    if validity.kind == "fixed_months":
        if request.end_date and request.end_date != end:
            decision.add(
                "fixed_term",
                f"{category.label}备案有效期为{validity.months}个月，结束日期定为 {end}，"
                "所选结束日期不予采用",
                validity.citation,
                "warning",
            )
        return valid_from, end
    if request.end_date and request.end_date < end:
        decision.add(
            "minimum_term",
            f"{category.label}备案有效期不少于{validity.months}个月，结束日期顺延至 {end}",
            validity.citation,
            "warning",
        )
        return valid_from, end
    return valid_from, request.end_date or end


def decide_filing(request: FilingRequest, pack: PolicyPack, regions: RegionTable) -> FilingResult:
    """Decide a filing request under ``pack``; raises ``InvalidInput`` for bad values."""
    checked = _validate(request, pack, regions)
    rules = pack.filing
    category = rules.categories[request.category]
    facts = _facts(request, category)
    decision = _Decision()
    for warning in checked.id_warnings:
        decision.add("id_region_unknown", warning, "GB 11643 公民身份号码", "warning")

    common = {
        "id_masked": mask_id(checked.id_number),
        "destination": _destination(checked.destination),
        "term": category.term,
        "catalogue": Catalogue(
            note=pack.payment.catalogue[request.scope].note,
            citation=pack.payment.catalogue[request.scope].citation,
        ),
    }

    if not category.needs_filing:
        assert category.no_filing is not None
        decision.add(
            "no_filing_needed",
            f"{category.label}视同已备案，无需办理备案；可按急诊抢救待遇直接结算或回参保地零星报销",
            category.no_filing.citation,
            "info",
        )
        return FilingResult(
            allowed=False,
            needs_filing=False,
            complete=True,
            reasons=decision.reasons,
            checklist=[],
            missing=[],
            missing_labels=[],
            valid_from=None,
            valid_until=None,
            locked_until=None,
            followup_due=None,
            **common,
        )

    _check_scope(request, pack, checked, decision)
    decision.reasons.extend(requirement_reasons(pack, facts))
    decision.reasons.extend(continued_treatment_reasons(request, pack))
    commitment_open = _check_eligibility(request, pack, category, facts, decision)
    if request.special_disease is not None:
        commitment_open = False  # 京细则 附件2 说明1: the 承诺书 does not cover 特殊病
    decision.reasons.extend(special_disease_reasons(request, pack, checked.target))

    target = checked.target
    valid_from: date | None
    valid_until: date | None
    locked_until: date | None = None
    followup_due: date | None = None
    superseded: list[str] = []
    change_mode = None
    if request.action == "new":
        superseded = _check_conflicts(request, pack, regions, checked, decision)
        valid_from, valid_until = _validity(request, category, decision)
        valid_from, started = special_disease_start(request, pack, valid_from)
        decision.reasons.extend(started)
        decision.reasons.extend(retroactive_reasons(request, pack, valid_from))
        locked_until, _ = _lock_until(pack, request.category, request.basis, valid_from)
        followup = rules.followup
        if commitment_open and followup and category.term == "long":
            # counted from the day the 承诺书 is signed (芜细则 三（二）“承诺之日起”), not from a
            # retroactive or later start date
            followup_due = term_end(request.today, followup.months)
            decision.add(
                "followup_due",
                f"须于 {followup_due} 前补齐备案材料；{followup.consequence}",
                followup.citation,
                "info",
            )
        elif commitment_open and rules.commitment_terms and category.term == "long":
            decision.add(
                "commitment_terms",
                rules.commitment_terms.note or "以个人承诺书办理备案",
                rules.commitment_terms.citation,
                "info",
            )
    else:
        assert target is not None
        action = FilingAction(request.action).label
        check_target(request, pack, target, decision.add)
        locked_until, citation = _lock_until(pack, target.category, target.basis, target.valid_from)
        if locked_until and request.today < locked_until:
            decision.add(
                "locked",
                f"原备案 {target.id} 自 {target.valid_from} 起生效，{locked_until} 起方可{action}",
                citation,
            )
        if request.action == "cancel":
            valid_from, valid_until = target.valid_from, request.today
        else:
            valid_from, valid_until = _validity(request, category, decision)
            valid_from, started = special_disease_start(request, pack, valid_from)
            decision.reasons.extend(started)
            moved = not _same_destination(regions, target.destination, checked.destination)
            refile = refile_reasons(pack, target, changed_fields(request, target, moved))
            change_mode = "refile" if refile else "amend"
            if refile:
                superseded = [target.id]
                decision.reasons.extend(refile)

    groups = applicable(
        _checklist_groups(request, pack, category, target, checked.destination, regions), facts
    )
    checklist, missing = evaluate(
        groups, request.materials, pack.material_labels, commitment_open=commitment_open
    )
    labels = pack.material_labels
    if missing:
        cited = next(item.citation for item in checklist if not item.satisfied)
        decision.add(
            "materials_missing",
            "材料不全，还需：" + describe_missing(checklist, request.materials, labels),
            cited,
        )

    return FilingResult(
        allowed=not decision.blocked,
        needs_filing=True,
        complete=not missing,
        reasons=decision.reasons,
        checklist=checklist,
        missing=missing,
        missing_labels=[labels[m] for m in missing],
        valid_from=valid_from,
        valid_until=valid_until,
        locked_until=locked_until,
        followup_due=followup_due,
        change_mode=change_mode,
        supersedes=superseded,
        special_disease=request.special_disease.disease if request.special_disease else None,
        **common,
    )
