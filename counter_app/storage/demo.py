"""A realistic demo office: persons with valid 身份证号, filings of every category, two clerks,
and 零星报销 claims in every status.

Every demo filing and claim goes through the same use cases as at the counter
(``counter_app.workflows``: decided in the write transaction), dated in the past where a queue
needs it (承诺书 follow-ups due, temporary filings about to expire).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import func, select

from counter_app.domain.engine import RulesEngine
from counter_app.domain.idnumber import check_digit, check_id_number
from counter_app.storage.clerks import (
    SignedIn,
    add_clerk,
    ensure_office,
    set_office_details,
    sign_in,
)
from counter_app.storage.db import Database
from counter_app.storage.models import Clerk
from counter_app.storage.persons import save_person

DEMO_USER, DEMO_PASSWORD = "demo", "demo1234"
SUPERVISOR_USER, SUPERVISOR_PASSWORD = "admin", "admin1234"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_MALE = [
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "刚",
    "建华",
    "志强",
    "国平",
]
GIVEN_FEMALE = [
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "秀兰",
    "霞",
    "桂英",
    "玉兰",
    "海燕",
]
DESTINATIONS = [
    "460100",
    "440300",
    "310101",
    "530100",
    "210200",
    "350200",
    "510100",
    "540100",
    "660000",
    "320500",
    "340100",
    "430200",
]


@dataclass(frozen=True)
class DemoFiling:
    """One demo filing: who, what, and how many days ago it was made."""

    category: str
    basis: str
    days_ago: int
    materials: tuple[str, ...]


@dataclass(frozen=True)
class _DemoPerson:
    id: int
    name: str
    number: str
    insurance: str
    has_employer: bool
    retired: bool


def _fits(person: _DemoPerson, category: str) -> bool:
    """Give each category a person it suits, so the demo shows no odd filings."""
    employee = person.insurance == "employee"
    if category == "retired_resettled":
        return employee and person.retired
    if category == "posted_worker":
        return employee and person.has_employer
    if category == "long_term_resident":
        return not person.has_employer
    return True


def _id_number(county: str, birth: date, serial: int) -> str:
    first17 = f"{county}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def _plan(engine: RulesEngine) -> list[DemoFiling]:
    """Filings of every category this region files, on materials and on commitment."""
    plans: list[DemoFiling] = []
    for key, rules in engine.pack.filing.categories.items():
        if not rules.needs_filing:
            continue
        plans.append(DemoFiling(key, "materials", 400 if rules.term == "long" else 20, ()))
        if rules.commitment_allowed:
            # 25 days ago: a 芜湖 follow-up (one month) falls due this week, on the dashboard.
            plans.append(DemoFiling(key, "commitment", 25, ()))
        months = rules.validity.months if rules.validity else None
        if rules.term == "temporary":
            # About to expire, so the dashboard's "expiring soon" queue has something in it.
            plans.append(DemoFiling(key, "materials", (months or 6) * 30 - 10, ()))
    return plans


def _complete_materials(engine: RulesEngine, request: dict) -> list[str]:
    """Ask the engine what is missing and present it, as a clerk completing a checklist would."""
    for _ in range(4):
        result = engine.filing(request)
        if not result.missing:
            break
        request["materials"] = [*request["materials"], *result.missing]
    return request["materials"]


def seed_demo(db: Database, engine: RulesEngine, today: date, persons: int = 40) -> SignedIn:
    """Fill an empty database with the demo office; returns the demo clerk signed in."""
    # The demo seeds the office through the use cases a clerk's work goes through (the one
    # storage module allowed to call up into workflows; see pyproject's import contracts).
    from counter_app.workflows.filings import commit_filing

    with db.read() as session:
        has_clerks = session.exec(select(func.count()).select_from(Clerk)).one() > 0
    pack = engine.pack.pack
    counties = [
        code
        for code in engine.regions.counties_of(pack.home_pool_code)
        if (engine.regions.county_name(code) or "市辖区") != "市辖区"
    ] or [pack.home_pool_code]
    office_code = counties[0]
    office_name = (
        f"{engine.regions.county_name(office_code) or pack.home_pool_name}医疗保障服务中心（演示）"
    )
    if not has_clerks:
        ensure_office(db, office_code, office_name, pack.id, pack.home_pool_code)
        set_office_details(  # a demo office prints complete forms
            db,
            office_code,
            phone="0000-12345678（演示）",
            address=f"{office_name.removesuffix('（演示）')}一楼服务大厅（演示地址）",
            hours="周一至周五 8:30-12:00，14:00-17:30（法定节假日除外）",
        )
        add_clerk(db, office_code, DEMO_USER, "演示经办人", DEMO_PASSWORD)
        add_clerk(db, office_code, SUPERVISOR_USER, "演示科长", SUPERVISOR_PASSWORD, "supervisor")
    signed = sign_in(db, DEMO_USER, DEMO_PASSWORD)
    assert signed is not None
    if has_clerks:
        return signed

    rng = random.Random(20261123)
    extra = random.Random(20261202)
    people: list[_DemoPerson] = []
    used: set[str] = set()
    for index in range(persons):
        female = rng.random() < 0.5
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        while True:
            birth = date(rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28))
            serial = rng.randint(0, 49) * 20 + rng.randrange(0 if female else 1, 10, 2)
            number = _id_number(rng.choice(counties), birth, serial)
            check = check_id_number(number, today=today)
            # stdnum's region-by-year data misses many older codes (a warning, not an error);
            # keep such numbers only for the elderly, who need them for the retiree filings.
            if check.ok and (not check.warnings or birth.year < 1964) and number not in used:
                break
        used.add(number)
        retired = birth.year < 1964
        person_id = save_person(
            db,
            signed.clerk_id,
            name=name,
            id_number=number,
            phone=f"13{rng.randint(100000000, 999999999)}",
            address=f"{pack.home_pool_name}{engine.regions.county_name(office_code) or ''}"
            f"人民路{rng.randint(1, 300)}号",
            # every optional field of the forms filled, so each printed demo form is complete
            # (their own random stream: the names and numbers above stay as they were)
            phone2=f"0{extra.randint(10, 99)}-{extra.randint(2000000, 8999999)}",
            remote_address=f"{extra.choice(REMOTE_STREETS)}{extra.randint(1, 120)}号"
            f"{extra.randint(1, 20)}栋{extra.randint(101, 2402)}室",
            card_number=f"{'ABCDEFGH'[index % 8]}{extra.randint(10000000, 99999999)}",
            insurance="employee" if index % 3 else "resident",
            has_employer=not retired and index % 3 != 0,
            retired=retired,
            today=today,
        )
        employee = index % 3 != 0
        people.append(
            _DemoPerson(
                person_id,
                name,
                number,
                "employee" if employee else "resident",
                employee and not retired,
                retired,
            )
        )

    plans = _plan(engine)
    free = list(people)
    for plan in plans * 2:
        person = next((p for p in free if _fits(p, plan.category)), None)
        if person is None:
            continue
        free.remove(person)
        day = today - timedelta(days=plan.days_ago)
        destination = rng.choice(DESTINATIONS)
        in_province = engine.regions.same_province(destination, pack.home_pool_code)
        if in_province and not pack.in_province_filing:
            destination = "460100"
            in_province = False
        scope = "in_province" if in_province else "cross_province"
        request: dict = {
            "policy": pack.id,
            "action": "new",
            "today": day.isoformat(),
            "person": {"name": person.name, "id_number": person.number},
            "insurance": person.insurance,
            "category": plan.category,
            "scope": scope,
            "destination": destination,
            "basis": plan.basis,
            "materials": ["id_card"],
            "has_employer": person.has_employer,
            "retired": person.retired,
        }
        validity = engine.pack.filing.categories[plan.category].validity  # type: ignore[index]
        if validity is not None and validity.kind == "chosen":
            request["end_date"] = (day + timedelta(days=180)).isoformat()
        request["materials"] = _complete_materials(engine, request)
        if engine.filing(request).allowed:
            # Written as at the counter: decided again in the transaction, under the lock.
            commit_filing(db, engine, signed, person.id, request, seen=None)
    _seed_claims(db, engine, signed, free, today)
    return signed


@dataclass(frozen=True)
class DemoClaim:
    """One demo claim: taken in ``days_ago``, moved on by ``steps``, treated as ``fields``."""

    days_ago: int
    steps: tuple[str, ...]
    fields: dict
    complete: bool = True


DEMO_CLAIMS = [
    # 待补材料: the 诊断证明/出院小结 still to come.
    DemoClaim(3, (), {"treatment": "inpatient", "total": "8650.40", "self_pay": "650.40"}, False),
    # 受理, on time; and one long overdue.
    DemoClaim(2, (), {"treatment": "outpatient", "total": "860.00", "self_pay": "60.00"}),
    DemoClaim(30, (), {"treatment": "emergency", "total": "4200.00", "self_pay": "200.00"}),
    # 受理, a stay of 30,000元 or more (费用协查 where the region has it).
    # ... an injury with no third party (the 外伤无第三方责任承诺书 prints for it).
    DemoClaim(
        1,
        (),
        {"treatment": "inpatient", "total": "46800.00", "self_pay": "3800.00", "injury": True},
    ),
    DemoClaim(6, ("review",), {"treatment": "maternity", "total": "7600.00", "self_pay": "600.00"}),
    DemoClaim(
        40,
        ("review", "settle"),
        {"treatment": "inpatient", "total": "15300.00", "self_pay": "1300.00"},
    ),
    DemoClaim(9, ("return",), {"treatment": "outpatient", "total": "420.00", "self_pay": "20.00"}),
]


DEMO_HOSPITAL = {"name": "上海交通大学医学院附属瑞金医院", "place": "上海市"}
#: The slip's details of each demo claim by treatment (every field of the official slip).
DEMO_TREATMENT_DETAILS = {
    "inpatient": {
        "admission_mode": "门诊",
        "department": "心血管内科",
        "diagnosis_main": "冠状动脉粥样硬化性心脏病",
        "diagnosis_main_icd": "I25.1",
        "diagnosis_other": "原发性高血压",
        "diagnosis_other_icd": "I10",
    },
    "maternity": {
        "admission_mode": "门诊",
        "department": "产科",
        "diagnosis_main": "单胎顺产",
        "diagnosis_main_icd": "O80",
        "diagnosis_other": "妊娠期贫血",
        "diagnosis_other_icd": "O99.0",
    },
    "outpatient": {
        "department": "呼吸内科",
        "diagnosis_main": "急性支气管炎",
        "diagnosis_main_icd": "J20.9",
        "diagnosis_other": "过敏性鼻炎",
        "diagnosis_other_icd": "J30.4",
    },
    "emergency": {
        "department": "急诊科",
        "diagnosis_main": "急性胃肠炎",
        "diagnosis_main_icd": "K52.9",
        "diagnosis_other": "脱水",
        "diagnosis_other_icd": "E86",
    },
}
#: Streets of the demo persons' 异地联系地址 (where they stay out of the pool).
REMOTE_STREETS = ("海口市美兰区海甸五西路", "上海市浦东新区张杨路", "广州市天河区体育西路")


def _seed_claims(
    db: Database, engine: RulesEngine, signed: SignedIn, people: list[_DemoPerson], today: date
) -> None:
    """Claims in every status, each decided by the engine and written like a real one."""
    from counter_app.workflows.claims import advance_claim, take_claim

    for plan, person in zip(DEMO_CLAIMS, people, strict=False):
        day = today - timedelta(days=plan.days_ago)
        fields = dict(plan.fields)
        treatment = fields.pop("treatment")
        total, self_pay = Decimal(fields.pop("total")), Decimal(fields.pop("self_pay"))
        injury = bool(fields.pop("injury", False))
        stay = treatment in ("inpatient", "maternity")
        request: dict = {
            "policy": engine.pack.pack.id,
            "today": day.isoformat(),
            "insurance": person.insurance,
            "scope": "cross_province",
            "filing": "none",  # the demo persons without a filing
            "treatment": treatment,
            "hospital_level": 3 if stay else 2,
            "flags": {"rescue": treatment == "emergency", "injury_no_third_party": injury},
            "materials": ["id_card"],
            "amounts": {
                "total": str(total),
                "in_scope": str(total - self_pay),
                "self_pay": str(self_pay),
            },
        }
        if stay:
            request["admission_date"] = (day - timedelta(days=20)).isoformat()
            request["discharge_date"] = (day - timedelta(days=8)).isoformat()
        else:
            request["visit_date"] = (day - timedelta(days=5)).isoformat()
        result = engine.claim(request)
        for _ in range(4):
            missing = result.missing[:-1] if not plan.complete else result.missing
            if not missing:
                break
            request["materials"] = [*request["materials"], *missing]
            result = engine.claim(request)
        committed = take_claim(
            db,
            engine,
            signed,
            person.id,
            request,
            seen=None,
            hospital={
                **DEMO_HOSPITAL,
                **DEMO_TREATMENT_DETAILS[treatment],
                **({"inpatient_no": f"ZY{day:%Y%m%d}{len(plan.steps):03d}"} if stay else {}),
            },
        )
        for step in plan.steps:
            reason = "票据为复印件，请提供原件" if step == "return" else ""
            advance_claim(db, engine, signed, committed.number, step, reason=reason, today=day)
