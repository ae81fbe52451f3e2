"""Turning a filing or a claim (plain mappings) and its form into a ``Document``.

The filing record comes from ``sources.load_filing``; the claim is the stored claim mapping
(``number``, ``status``, ``person``, ``request``, ``result``, ``accepted_on``, ``due_date``,
``office``, optional ``hospital`` details and ``clerk_name``). Figures are the engine's, never
recomputed here. Every user string is cleaned of control characters on the way in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from counter_app.domain.claim_documents import acceptance_receipt, one_time_notice
from counter_app.domain.idnumber import mask_id, mask_phone
from counter_app.printing.document import (
    Block,
    Cell,
    Choice,
    Document,
    Line,
    Note,
    Paragraphs,
    Signature,
    Table,
    Title,
)
from counter_app.printing.forms import CLAIM_KINDS, Form, FormError, load_form
from counter_app.printing.text import clean

Signer = Callable[[str, str, str], str]
"""(kind, number, office code) → the QR payload."""

_CENT = Decimal("0.01")


def money(value: object) -> str:
    """An amount in 元 with two decimals, as the slip prints it."""
    if value in (None, ""):
        return ""
    return str(Decimal(str(value)).quantize(_CENT))


def _date(value: object) -> str:
    return str(value) if value else ""


class _Context(dict[str, str]):
    """Field values first, then the form's own text; an unknown name is a form error."""

    def __init__(self, values: dict[str, str], form: Form) -> None:
        super().__init__(values)
        self.form = form

    def __missing__(self, key: str) -> str:
        if key in self.form.text:
            return self.form.text[key].format_map(self)
        raise FormError(f"文书 {self.form.kind} 引用了未知的字段 {{{key}}}")


def _choice(spec: Mapping[str, Any], form: Form, values: Mapping[str, str]) -> Choice:
    options = form.choices.get(spec["choice"])
    if options is None:
        raise FormError(f"文书 {form.kind} 的勾选项 {spec['choice']} 没有定义")
    value = values.get(spec.get("field", spec["choice"]), "")
    return Choice(
        tuple(
            (str(option[1]), value == option[0] or value in (option[2] if len(option) > 2 else ()))
            for option in options
        )
    )


def _rows(
    block: Mapping[str, Any], form: Form, ctx: _Context, funds: list[tuple[str, str]]
) -> tuple[tuple[Cell, ...], ...]:
    rows: list[tuple[Cell, ...]] = []
    for row in block["rows"]:
        if row == ["@funds"]:
            lines = funds or [("基金支付", "0.00")]
            for index, (name, amount) in enumerate(lines):
                extra = (ctx["deductible_label"], ctx["deductible"]) if index == 0 else ("", "")
                rows.append((name, amount, *extra))
            continue
        rows.append(
            tuple(
                _choice(cell, form, ctx) if isinstance(cell, dict) else str(cell).format_map(ctx)
                for cell in row
            )
        )
    return tuple(rows)


def _items(block: Mapping[str, Any], form: Form, ctx: _Context, lists: dict[str, list[str]]):
    source = block.get("items_from")
    if source is None:
        raw = block.get("items", [])
    elif source in lists:
        return tuple(lists[source])  # user data: not a template
    elif source in form.lists:
        raw = form.lists[source]
    else:
        raise FormError(f"文书 {form.kind} 的段落引用了未知的列表 {source}")
    return tuple(str(item).format_map(ctx) for item in raw)


def assemble(
    form: Form,
    number: str,
    values: dict[str, str],
    lists: dict[str, list[str]],
    qr_payload: str,
    funds: list[tuple[str, str]] | None = None,
) -> Document:
    """Fill a form's blocks with the field values."""
    ctx = _Context({**values, **{f"office_{k}": v for k, v in form.office.items()}}, form)
    blocks: list[Block] = []
    for block in form.blocks:
        kind = block.get("type")
        if kind == "title":
            blocks.append(Title(block["text"].format_map(ctx)))
        elif kind == "line":
            blocks.append(Line(block["text"].format_map(ctx), block.get("align", "left")))
        elif kind == "table":
            rows = _rows(block, form, ctx, funds or [])
            width = max(len(r) for r in rows)
            widths = tuple(block.get("widths", [1.0] * width))
            if len(widths) != width:
                raise FormError(f"文书 {form.kind} 的表格 widths 应有 {width} 项")
            blocks.append(Table(rows, widths))
        elif kind == "paragraphs":
            items = _items(block, form, ctx, lists)
            heading = block.get("heading", "").format_map(ctx)
            blocks.append(Paragraphs(heading, items, bool(block.get("numbered"))))
        elif kind == "signature":
            blocks.append(Signature(block["text"].format_map(ctx)))
        elif kind == "note":
            blocks.append(Note(block["text"].format_map(ctx)))
        else:
            raise FormError(f"文书 {form.kind} 有未知的版式块 {kind}")
    return Document(
        kind=form.kind,
        name=form.name,
        number=number,
        blocks=tuple(blocks),
        qr_payload=qr_payload,
        copies=form.copies,
        copy_labels=tuple(form.copy_labels),
    )


def _person_values(person: Mapping[str, Any]) -> dict[str, str]:
    id_number = clean(person.get("id_number"))
    phone = clean(person.get("phone"))
    return {
        "name": clean(person.get("name")),
        "sex": clean(person.get("sex")),
        "id_number": id_number,
        "id_masked": mask_id(id_number) if id_number else "",
        "phone": phone,
        "phone_masked": mask_phone(phone) if phone else "",
        "phone2": clean(person.get("phone2")),
        "address": clean(person.get("address")),
        "remote_address": clean(person.get("remote_address")),
        "card_number": clean(person.get("card_number")),
    }


def _office_values(office: Mapping[str, Any], clerk: object, today: object) -> dict[str, str]:
    return {
        "office_code": clean(office.get("code")),
        "office_name": clean(office.get("name")),
        "office_phone": clean(office.get("phone")),
        "office_address": clean(office.get("address")),
        "office_hours": clean(office.get("hours")),
        "clerk_name": clean(clerk),
        "today": _date(today),
    }


def filing_document(
    kind: str, record: Mapping[str, Any], sign: Signer, override_dir: Path | None = None
) -> Document:
    """备案表, 承诺书 or 备案回执 of a filing record (see ``sources.load_filing``)."""
    form = load_form(kind, record["policy"], override_dir)
    labels = form.labels
    values = {
        **_person_values(record["person"]),
        **_office_values(record["office"], record.get("clerk_name"), record.get("today")),
        "number": clean(record["number"]),
        "insurance": record["insurance"],
        "insurance_label": labels["insurance"].get(record["insurance"], record["insurance"]),
        "category": record["category"],
        "category_label": clean(record.get("category_label") or record["category"]),
        "action": record["action"],
        "action_label": labels["action"].get(record["action"], record["action"]),
        "status_label": labels["status"].get(record["status"], record["status"]),
        "home_pool": clean(record.get("home_pool")),
        "destination": clean(record.get("destination_name")),
        "dest_province": clean(record.get("dest_province")),
        "dest_city": clean(record.get("dest_city")),
        "valid_from": _date(record.get("valid_from")),
        "valid_until": _date(record.get("valid_until")) or "长期有效",
        "fill_date": _date(record.get("handled_on")),
        "handled_date": _date(record.get("handled_on")),
    }
    payload = sign(kind, values["number"], values["office_code"])
    return assemble(form, values["number"], values, {}, payload)


def _age(id_number: str, on: dt.date) -> str:
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return ""
    return str(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))


def claim_document(
    kind: str, claim: Mapping[str, Any], sign: Signer, override_dir: Path | None = None
) -> Document:
    """结算单, 一次性告知书, 受理回执 or 外伤承诺书 of a stored claim mapping.

    The missing items (with their citations), the materials handed in, the due date and the
    office come from ``domain.claim_documents``, the content the claim screens show.
    """
    if kind not in CLAIM_KINDS:
        raise FormError(f"{kind} 不是报销文书")
    request, result = claim["request"], claim.get("result") or {}
    form = load_form(kind, request["policy"], override_dir)
    labels = form.labels
    hospital = claim.get("hospital") or {}
    amounts = request.get("amounts") or {}
    payment = result.get("payment") or {}
    notice, receipt = one_time_notice(claim), acceptance_receipt(claim)
    due = receipt["due"]
    person = _person_values(claim["person"])
    admission, discharge = request.get("admission_date"), request.get("discharge_date")
    days = ""
    if admission and discharge:
        days = str((dt.date.fromisoformat(discharge) - dt.date.fromisoformat(admission)).days)
    on = dt.date.fromisoformat(str(discharge or request.get("visit_date") or request["today"]))
    level = str(request.get("hospital_level", ""))
    values = {
        **person,
        **_office_values(receipt["office"], claim.get("clerk_name"), request.get("today")),
        "number": clean(claim["number"]),
        "age": _age(person["id_number"], on),
        "home_pool": clean(claim.get("home_pool") or claim["office"].get("pool_name", "")),
        "insurance_label": labels["insurance"].get(request["insurance"], request["insurance"]),
        "treatment_label": labels["treatment"].get(request["treatment"], request["treatment"]),
        "status_label": labels["claim_status"].get(claim["status"], claim["status"]),
        "treatment_place": clean(hospital.get("place")),
        "hospital_name": clean(hospital.get("name")),
        "hospital_level": labels["hospital_level"].get(level, level),
        "admission_mode": clean(hospital.get("admission_mode")),
        "inpatient_no": clean(hospital.get("inpatient_no")),
        "department": clean(hospital.get("department")),
        "diagnosis_main": clean(hospital.get("diagnosis_main")),
        "diagnosis_other": clean(hospital.get("diagnosis_other")),
        "admission_date": _date(admission or request.get("visit_date")),
        "discharge_date": _date(discharge),
        "stay_days": days,
        "total": money(amounts.get("total")),
        "in_scope": money(amounts.get("in_scope")),
        "class_b_self": money(amounts.get("class_b_self", "0")),
        "over_limit_self": money(amounts.get("over_limit_self", "0")),
        "self_pay": money(amounts.get("self_pay", "0")),
        "fund_total": money(payment.get("fund_total")),
        "personal_cash": money(payment.get("personal_cash")),
        "deductible": money(payment.get("deductible")),
        "accepted_on": _date(receipt["accepted_on"]),
        "due_date": _date(due["date"]),
        "due_working_days": str(due["working_days"] or ""),
        "due_provisional": "，暂定" if due["provisional"] else "",
        "due_citation": clean(due["citation"]),
        "come_back_where": clean(notice["come_back"]["where"]),
        "come_back_when": clean(notice["come_back"]["when"]),
    }
    lists = {
        "missing_items": [
            clean(f"{item['text']}（{item['citation']}）") for item in notice["items"]
        ]
        or ["（无）"],
        "present_items": [clean(label) for label in notice["presented"]] or ["（无）"],
    }
    funds = [(clean(f["name"]), money(f["amount"])) for f in payment.get("funds", [])]
    payload = sign(kind, values["number"], values["office_code"])
    return assemble(form, values["number"], values, lists, payload, funds)
