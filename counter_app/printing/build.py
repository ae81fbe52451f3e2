"""Turning a filing or a claim (plain mappings) and its form into a ``Document``.

The filing record comes from ``sources.load_filing``; the claim is the stored claim mapping
(``number``, ``status``, ``person``, ``request``, ``result``, ``accepted_on``, ``due_date``,
``office``, optional ``hospital`` details and ``clerk_name``). Figures are the engine's, never
recomputed here. Every user string is cleaned of control characters on the way in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from counter_app.domain.claim_documents import acceptance_receipt, one_time_notice, return_notice
from counter_app.domain.idnumber import mask_id, mask_phone
from counter_app.domain.status import ENDED, FilingStatus, describe_status, filing_status
from counter_app.printing import facts as printed_facts
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

Signer = Callable[[str, str, str, Mapping[str, Any]], str]
"""(kind, number, office code, the key facts as printed) → the QR payload."""

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


def _cell(cell: Any, form: Form, ctx: _Context) -> tuple[Cell, int]:
    """A cell and the grid columns it spans (``{ text = "…", span = 3 }``; default one)."""
    if isinstance(cell, dict) and "choice" in cell:
        return _choice(cell, form, ctx), int(cell.get("span", 1))
    if isinstance(cell, dict):
        return str(cell.get("text", "")).format_map(ctx), int(cell.get("span", 1))
    return str(cell).format_map(ctx), 1


def _rows(
    block: Mapping[str, Any], form: Form, ctx: _Context, funds: list[tuple[str, str]]
) -> tuple[tuple[tuple[Cell, ...], ...], tuple[tuple[int, ...], ...]]:
    """The table's rows and each cell's span. A row may be ``{ when = "flag", cells = […] }``
    (printed only when the field ``flag`` is set) or ``{ funds = true, … }``: one row per fund
    of the payment, at least ``min`` rows (the official slip's blank fund rows), the first
    carrying the deductible; ``spans`` gives the four cells' spans."""
    rows: list[tuple[Cell, ...]] = []
    spans: list[tuple[int, ...]] = []
    for row in block["rows"]:
        if (isinstance(row, dict) and row.get("funds")) or row == ["@funds"]:
            spec = row if isinstance(row, dict) else {}
            lines = list(funds) or [("基金支付", "0.00")]
            lines += [("", "")] * (int(spec.get("min", 0)) - len(lines))
            widths = tuple(spec.get("spans", (1, 1, 1, 1)))
            for index, (name, amount) in enumerate(lines):
                extra = (ctx["deductible_label"], ctx["deductible"]) if index == 0 else ("", "")
                rows.append((name, amount, *extra))
                spans.append(widths)
            continue
        if isinstance(row, dict):
            if not ctx.get(str(row.get("when", ""))):
                continue
            row = row["cells"]
        cells = [_cell(cell, form, ctx) for cell in row]
        rows.append(tuple(c for c, _ in cells))
        spans.append(tuple(n for _, n in cells))
    return tuple(rows), tuple(spans)


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
            rows, spans = _rows(block, form, ctx, funds or [])
            width = max(sum(s) for s in spans)
            widths = tuple(block.get("widths", [1.0] * width))
            if len(widths) != width:
                raise FormError(f"文书 {form.kind} 的表格 widths 应有 {width} 项")
            spanned = any(n > 1 for s in spans for n in s)
            blocks.append(Table(rows, widths, spans if spanned else ()))
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


def _signed(document: Document, values: Mapping[str, str], sign: Signer) -> Document:
    """The document with its QR payload, which signs the key facts the document shows."""
    facts = printed_facts.collect(values, "\n".join(document.strings()))
    payload = sign(document.kind, document.number, values["office_code"], facts)
    return replace(document, qr_payload=payload, facts=facts)


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


def _as_date(value: object) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


#: The receipt's title mark and closing note by status: a paper for a filing that has ended
#: must not look like a current one.
_ENDED_MARK = {
    FilingStatus.EXPIRED: "（已过期）",
    FilingStatus.CANCELLED: "（已取消）",
    FilingStatus.SUPERSEDED: "（已失效）",
}


def _status_values(record: Mapping[str, Any]) -> dict[str, str]:
    """备案状态 as of the printing day (``domain.status``), with the marks an ended filing gets."""
    valid_from = _as_date(record.get("valid_from")) or _as_date(record.get("today"))
    today = _as_date(record.get("today")) or valid_from
    assert valid_from is not None and today is not None
    valid_until = _as_date(record.get("valid_until"))
    followup_due = _as_date(record.get("followup_due"))
    status = filing_status(
        record["status"],
        valid_from,
        valid_until,
        today,
        followup_due=followup_due,
        followup_done_on=_as_date(record.get("followup_done_on")),
    )
    text = describe_status(status, valid_from, valid_until, followup_due=followup_due)
    if status in ENDED:
        mark = _ENDED_MARK[status]
        note = (
            f"本备案{text.label}（{text.detail}），截至 {today} 已不在有效期内，"
            "本回执不能作为有效备案凭证；需要异地就医的，请重新办理备案。"
        )
        short = f"{valid_until} 到期" if status == FilingStatus.EXPIRED else text.detail
        form_mark = f"　（{text.label}：{short}）"
    else:
        mark, form_mark = "", ""
        note = "备案有效期内可在就医地联网定点医药机构直接结算。"
        if status == FilingStatus.OVERDUE:
            note = f"本备案{text}，请尽快补齐备案材料。"
            form_mark = f"　（{text.label}）"
    return {
        "status": str(status),
        "status_label": str(text) if status != FilingStatus.ACTIVE else text.label,
        "status_mark": mark,
        "status_note": note,
        "form_status_mark": form_mark,
    }


def filing_document(
    kind: str, record: Mapping[str, Any], sign: Signer, override_dir: Path | None = None
) -> Document:
    """备案表, 承诺书 or 备案回执 of a filing record (see ``sources.load_filing``); the status
    printed is the filing's on ``record["today"]`` (the printing day)."""
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
        **_status_values(record),
        "home_pool": clean(record.get("home_pool")),
        "destination": clean(record.get("destination_name")),
        "dest_province": clean(record.get("dest_province")),
        "dest_city": clean(record.get("dest_city")),
        "valid_from": _date(record.get("valid_from")),
        "valid_until": _date(record.get("valid_until")) or "长期有效",
        "fill_date": _date(record.get("handled_on")),
        "handled_date": _date(record.get("handled_on")),
    }
    return _signed(assemble(form, values["number"], values, {}, ""), values, sign)


def _age(id_number: str, on: dt.date) -> str:
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return ""
    return str(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))


def cited(citation: str, own: tuple[str, ...] | None) -> str:
    """`（citation）` when it is the region's own article (``own``: its documents' short
    names; ``None`` when unknown); nothing when it names another region's document or an
    example value — paper handed to a citizen cites only the rules that bind the office."""
    citation = clean(citation)
    if not citation or "示例" in citation:
        return ""
    if own is not None and not any(citation.startswith(name) for name in own):
        return ""
    return f"（{citation}）"


def _diagnosis(hospital: Mapping[str, Any], key: str) -> str:
    """A diagnosis as typed, with its ICD-10 code when one was given: ``冠心病（I25.1）``."""
    text, code = clean(hospital.get(key)), clean(hospital.get(f"{key}_icd"))
    return f"{text}（{code}）" if text and code else text or code


def claim_document(
    kind: str, claim: Mapping[str, Any], sign: Signer, override_dir: Path | None = None
) -> Document:
    """结算单, 一次性告知书, 受理回执, 退回通知书 or 外伤承诺书 of a stored claim mapping.

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
    returned = return_notice(claim)
    due = receipt["due"]
    person = _person_values(claim["person"])
    admission, discharge = request.get("admission_date"), request.get("discharge_date")
    stay = bool(admission and discharge)
    days = ""
    if stay:
        days = str((dt.date.fromisoformat(discharge) - dt.date.fromisoformat(admission)).days)
    on = dt.date.fromisoformat(str(discharge or request.get("visit_date") or request["today"]))
    level = str(request.get("hospital_level", ""))
    values = {
        **person,
        **_office_values(claim["office"], claim.get("clerk_name"), request.get("today")),
        "number": clean(claim["number"]),
        "age": _age(person["id_number"], on),
        "home_pool": clean(claim.get("home_pool") or claim["office"].get("pool_name", "")),
        "insurance_label": labels["insurance"].get(request["insurance"], request["insurance"]),
        "treatment_label": labels["treatment"].get(request["treatment"], request["treatment"]),
        "status_label": labels["claim_status"].get(claim["status"], claim["status"]),
        "stay": "1" if stay else "",
        "visit": "" if stay else "1",
        "stay_word": "住院" if stay else "门诊",
        "treatment_place": clean(hospital.get("place")),
        "hospital_name": clean(hospital.get("name")),
        "hospital_level": labels["hospital_level"].get(level, level),
        "admission_mode": clean(hospital.get("admission_mode")),
        "inpatient_no": clean(hospital.get("inpatient_no")),
        "department": clean(hospital.get("department")),
        "diagnosis_main": _diagnosis(hospital, "diagnosis_main"),
        "diagnosis_other": _diagnosis(hospital, "diagnosis_other"),
        "admission_date": _date(admission),
        "discharge_date": _date(discharge),
        "visit_date": _date(request.get("visit_date") or admission),
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
        "settled_on": _date(claim.get("settled_on")),
        "returned_on": _date(claim.get("returned_on")),
        "return_reason": clean(returned["reason"]),
        "due_date": _date(due["date"]),
        "due_working_days": str(due["working_days"] or ""),
        "due_provisional": "，暂定" if due["provisional"] else "",
        "due_citation": clean(due["citation"]),
        "come_back_where": clean(notice["come_back"]["where"]),
        "come_back_when": clean(
            (returned if claim["status"] == "returned" else notice)["come_back"]["when"]
        ),
    }
    # A deadline the region's seed does not set (an example value in the pack) is printed
    # without any article: the office publishes its own (issue 15).
    set_by_seed = bool(due["citation"]) and not claim.get("due_example")
    for key in ("due_text", "due_basis"):
        template = form.text.get(f"{key}_{'cited' if set_by_seed else 'unset'}", "")
        values[key] = template.format_map(_Context(values, form))
    lists = {
        "missing_items": [
            clean(item["text"] + cited(item["citation"], claim.get("own_articles")))
            for item in notice["items"]
        ]
        or ["（无）"],
        "present_items": [clean(label) for label in notice["presented"]] or ["（无）"],
        "returned_items": [clean(label) for label in returned["returned"]] or ["（无）"],
    }
    funds = [(clean(f["name"]), money(f["amount"])) for f in payment.get("funds", [])]
    return _signed(assemble(form, values["number"], values, lists, "", funds), values, sign)
