"""Free-text fields at the storage boundary: names, addresses, hospital names, reasons.

One check for every entry (the UI forms, the command line, JSON requests, data pulled from the
provincial store): no control characters (a newline in a name starts a new receipt line that can
look like a field; ESC and friends are printer commands), no bidirectional overrides, no lone
surrogates, and no more characters than the printed forms have room for. Each refusal is a
Chinese message naming the field. ``strip_controls`` is what the clean-up of values stored
before this check applies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from counter_app.domain.errors import CounterError


@dataclass(frozen=True)
class TextField:
    """A free-text field: its Chinese label and the most characters the forms print of it."""

    label: str
    max_length: int


#: Every free-text field checked at entry. Lengths are what the forms' cells print at the normal
#: size (the PDF shrinks anything longer, and only cuts what still does not fit).
FIELDS: dict[str, TextField] = {
    "name": TextField("姓名", 50),
    "address": TextField("住址", 120),
    "remote_address": TextField("异地居住地址", 120),
    "employer": TextField("工作单位", 60),
    "hospital_name": TextField("医院名称", 60),
    "hospital_place": TextField("就医地", 30),
    "department": TextField("科室", 20),
    "diagnosis_main": TextField("主要诊断", 60),
    "diagnosis_other": TextField("次要诊断", 60),
    "icd": TextField("ICD-10", 10),
    "admission_mode": TextField("入院方式", 20),
    "inpatient_no": TextField("住院号", 30),
    "item": TextField("费用项目", 60),
    "reason": TextField("原因", 200),
    "office_name": TextField("经办机构名称", 40),
}

#: The keys of a claim's hospital details and the field each one is checked as.
HOSPITAL_FIELDS: dict[str, str] = {
    "name": "hospital_name",
    "place": "hospital_place",
    "department": "department",
    "diagnosis_main": "diagnosis_main",
    "diagnosis_other": "diagnosis_other",
    "diagnosis_main_icd": "icd",
    "diagnosis_other_icd": "icd",
    "admission_mode": "admission_mode",
    "inpatient_no": "inpatient_no",
}

# Format characters that reorder or hide text (bidirectional overrides and isolates, line and
# paragraph separators): a printed line must read as it was typed.
_FORMAT_CONTROLS = frozenset(
    "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_NAMES = {"\n": "换行", "\r": "回车", "\t": "制表符", "\x00": "空字符", "\x1b": "ESC"}


class TextFieldError(CounterError, ValueError):
    """A free-text value refused at entry; ``field`` names it, the message is Chinese."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def is_control(char: str) -> bool:
    """Whether a character may not be stored in a free-text field."""
    category = unicodedata.category(char)
    return category in ("Cc", "Cs") or char in _FORMAT_CONTROLS


def control_characters(value: str) -> list[str]:
    """The control characters in ``value``, each named once (换行, ESC, U+202E …)."""
    found: list[str] = []
    for char in value:
        if is_control(char):
            name = _NAMES.get(char, f"U+{ord(char):04X}")
            if name not in found:
                found.append(name)
    return found


def check_text(field: str, value: object, *, required: bool = False) -> str:
    """The value, trimmed, if it may be stored in ``field``; else ``TextFieldError``."""
    spec = FIELDS[field]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TextFieldError(field, f"{spec.label}：应为文字")
    controls = control_characters(value)
    if controls:
        raise TextFieldError(
            field,
            f"{spec.label}：不能含控制字符（{'、'.join(controls)}），请删去后重新输入",
        )
    text = value.strip()
    if required and not text:
        raise TextFieldError(field, f"{spec.label}：请填写")
    if len(text) > spec.max_length:
        raise TextFieldError(
            field,
            f"{spec.label}：最多 {spec.max_length} 个字，现有 {len(text)} 个（表格印不下），请简写",
        )
    return text


def check_hospital(details: Mapping[str, object] | None) -> dict[str, str]:
    """A claim's hospital details checked field by field; empty values are dropped."""
    out: dict[str, str] = {}
    for key, value in (details or {}).items():
        field = HOSPITAL_FIELDS.get(key)
        if field is None:
            raise TextFieldError(key, f"医院信息中有不认识的项目：{key}")
        text = check_text(field, value)
        if text:
            out[key] = text
    return out


def strip_controls(value: str) -> str:
    """A stored value made storable: line breaks and tabs become spaces, other controls go."""
    out = []
    for char in value:
        if char in "\n\r\t\u2028\u2029":
            out.append(" ")
        elif not is_control(char):
            out.append(char)
    return re.sub(" {2,}", " ", "".join(out)).strip()


def input_problem(field: str, value: str) -> str | None:
    """The message for a value being typed (for input validators), or ``None`` when it is fine."""
    try:
        check_text(field, value)
    except TextFieldError as exc:
        return str(exc)
    return None
