"""The content of the claim documents: 一次性告知书 (every missing item at once), 受理回执 and
退回通知书 (the reason, the materials handed back, where to come back).

Pure functions over the stored claim as plain data (keys ``number``, ``status``, ``person`` with
the masked 身份证号, ``request``, ``result`` — the engine's ``ClaimResult`` as JSON —,
``accepted_on``, ``due_date``, ``office``); they return the content as plain data, which the
printed forms (``printing/build.py``) fill in; the screens show that printed ``Document``
(``printing.sources.preview``), so screen and paper show the same items, citations, due date
and office. Nothing here decides a rule: the missing items, the due date and its citation are
the engine's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from counter_app.domain.text_fields import FIELDS, HOSPITAL_FIELDS

NOTICE_TITLE = "零星报销材料一次性告知书"
RECEIPT_TITLE = "零星报销受理回执"
RETURN_TITLE = "零星报销退回通知书"
TREATMENT_LABELS = {
    "inpatient": "住院",
    "outpatient": "门诊",
    "emergency": "急诊",
    "maternity": "生育",
}


#: 入院方式 as the national 住院病案首页 lists 入院途径 (the slip's 入院方式 cell).
ADMISSION_MODES = ("急诊", "门诊", "其他医疗机构转入", "其他")
#: The slip's hospital details (stored with the claim, not part of the engine request):
#: key → (label, hint, maximum length).
HOSPITAL_DETAILS: dict[str, tuple[str, str, int]] = {
    key: (label, hint, FIELDS[HOSPITAL_FIELDS[key]].max_length)
    for key, label, hint in (
        ("name", "医院名称", "可空"),
        ("place", "就医地", "如 上海市，可空"),
        ("inpatient_no", "住院号", "字母、数字，可空"),
        ("department", "出院科室", "如 心血管内科，可空"),
        ("diagnosis_main", "主要诊断", "诊断名称，可空"),
        ("diagnosis_main_icd", "ICD-10", "如 I25.1，可空"),
        ("diagnosis_other", "次要诊断", "可空"),
        ("diagnosis_other_icd", "ICD-10", "可空"),
    )
}
_INPATIENT_NO = re.compile(r"^[0-9A-Za-z\-]{1,30}$")
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


def normalise_hospital(hospital: Mapping[str, Any]) -> dict[str, str]:
    """The details as stored: full-width forms folded, spaces trimmed, ICD codes upper-case."""
    out: dict[str, str] = {}
    for key, value in hospital.items():
        text = str(value or "").strip()
        if key.endswith("_icd") or key == "inpatient_no":
            text = unicodedata.normalize("NFKC", text).upper().replace(" ", "")
        if text:
            out[key] = text
    return out


def hospital_errors(hospital: Mapping[str, Any]) -> dict[str, str]:
    """A Chinese message per bad detail (empty when all are right); blanks are allowed."""
    values = normalise_hospital(hospital)
    errors: dict[str, str] = {}
    for key, (label, _, limit) in HOSPITAL_DETAILS.items():
        if len(values.get(key, "")) > limit:
            errors[key] = f"{label}：最多 {limit} 个字"
    mode = values.get("admission_mode")
    if mode and mode not in ADMISSION_MODES:
        errors["admission_mode"] = "入院方式：请从列表中选择（" + "、".join(ADMISSION_MODES) + "）"
    number = values.get("inpatient_no")
    if number and not _INPATIENT_NO.match(number):
        errors["inpatient_no"] = f"住院号：“{number}”只能含字母、数字和连字符"
    for key in ("diagnosis_main_icd", "diagnosis_other_icd"):
        code = values.get(key)
        if code and not _ICD10.match(code):
            errors[key] = f"ICD-10：“{code}”不是 ICD-10 编码（如 I25.1、J18.9）"
        if code and not values.get(key.removesuffix("_icd")):
            errors.setdefault(key, "ICD-10：请先填写诊断名称")
    return errors


def deadline_warning(example: bool, citation: str) -> str | None:
    """The supervisor's warning while the claim deadline is the pack's example value (the
    region's documents set none): receipts then print no article and no number of days."""
    if not example:
        return None
    return (
        f"零星报销办结时限为示例值（{citation}）：受理回执打印“办结时限以本经办机构公布为准”。"
        "请在本机构策略包 [claim.deadline] 中设定本机构的时限并写明依据。"
    )


def _missing_items(result: Mapping[str, Any], presented: set[str]) -> list[dict[str, Any]]:
    """Every unsatisfied checklist group: its label, what would satisfy it, and its article."""
    items: list[dict[str, Any]] = []
    for group in result.get("checklist", []):
        if group["satisfied"]:
            continue
        labels = group.get("labels", {})
        options = [
            [labels.get(m, m) for m in option if m not in presented] for option in group["any_of"]
        ]
        text = (
            "、".join(options[0])
            if len(options) == 1
            else " 或 ".join("＋".join(o) for o in options) + "（任选其一）"
        )
        items.append(
            {
                "label": group["label"],
                "options": options,
                "text": text,
                "citation": group["citation"],
            }
        )
    return items


def _office(source: Mapping[str, Any]) -> dict[str, str]:
    office = source["office"]
    return {
        "name": office["name"],
        "code": office["code"],
        "phone": office.get("phone") or "",
        "address": office.get("address") or "",
        "hours": office.get("hours") or "",
    }


def _header(source: Mapping[str, Any]) -> dict[str, Any]:
    request, result = source["request"], source["result"]
    return {
        "number": source["number"],
        "person": {"name": source["person"]["name"], "id_masked": source["person"]["id_masked"]},
        "case": result.get("case_label") or "",
        "treatment": TREATMENT_LABELS.get(request["treatment"], request["treatment"]),
        "office": _office(source),
        "date": request["today"],
    }


def labels_of(result: Mapping[str, Any], material: str) -> str:
    """A material's label as the checklist of ``result`` names it."""
    for group in result.get("checklist", []):
        label = group.get("labels", {}).get(material)
        if label:
            return str(label)
    return material


def _presented(source: Mapping[str, Any]) -> list[str]:
    """The labels of the materials handed in, each once, in the order they were ticked."""
    result, request = source["result"], source["request"]
    return [labels_of(result, m) for m in dict.fromkeys(request.get("materials", []))]


def one_time_notice(source: Mapping[str, Any]) -> dict[str, Any]:
    """The 一次性告知书 of a claim saved as 待补材料: every missing item, where and when to come."""
    result = source["result"]
    office = _office(source)
    presented = set(source["request"].get("materials", []))
    return {
        "kind": "one_time_notice",
        "title": NOTICE_TITLE,
        **_header(source),
        "items": _missing_items(result, presented),
        "presented": _presented(source),
        "come_back": {
            "where": _come_back_where(office),
            "when": "材料补齐后任一工作日，携带本告知书和所补材料到窗口办理；"
            "自材料补齐之日起计算办结时限",
        },
        "notes": [r["message"] for r in result.get("reasons", []) if r["severity"] == "info"],
    }


def _come_back_where(office: Mapping[str, str]) -> str:
    where = office["name"] + (f"（电话 {office['phone']}）" if office["phone"] else "")
    return f"{where}零星报销窗口"


def return_notice(source: Mapping[str, Any]) -> dict[str, Any]:
    """The 退回通知书 of a returned claim: the reason, the materials handed back, where to come."""
    return {
        "kind": "return_notice",
        "title": RETURN_TITLE,
        **_header(source),
        "reason": source.get("return_reason") or "",
        "returned": _presented(source),
        "come_back": {
            "where": _come_back_where(_office(source)),
            "when": "按退回原因补正后任一工作日，携带本通知书和退回的材料到窗口重新申请；"
            "自材料齐全之日起重新计算办结时限",
        },
    }


def acceptance_receipt(source: Mapping[str, Any]) -> dict[str, Any]:
    """The 受理回执 of an accepted claim: number, due date in working days and its article."""
    result = source["result"]
    due = result.get("due") or {}
    payment = result.get("payment") or {}
    request = source["request"]
    amounts = request.get("amounts") or {}
    return {
        "kind": "acceptance_receipt",
        "title": RECEIPT_TITLE,
        **_header(source),
        "accepted_on": source.get("accepted_on"),
        "due": {
            "date": source.get("due_date") or due.get("date"),
            "working_days": due.get("working_days"),
            "provisional": bool(due.get("provisional")),
            "calendar_version": due.get("calendar_version"),
            "citation": due.get("citation"),
        },
        "materials": _presented(source),
        "total": amounts.get("total"),
        "fund_total": payment.get("fund_total"),
        "cost_check_candidate": bool(result.get("cost_check_candidate")),
    }
