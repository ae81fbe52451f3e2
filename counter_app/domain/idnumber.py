"""身份证号 (Resident Identity Card number) checks and masking.

``check_id_number`` normalises what the clerk typed (inner spaces, full-width digits, lower-case
``x``, 15-digit first-generation numbers) and reports errors and warnings in Chinese. Length,
characters, the MOD 11-2 check digit and the birth date are errors. The area code is where the
number was issued, not where the person was born: a code created after the birth year (``320102``
for someone born in 1980, who got the number in 1985) or since retired is valid. Only a code that
never existed in GB/T 2260 in any year is a warning (the clerk may override it). The historic code
list is python-stdnum's ``cn/loc`` (each code with the years it was in use).

``mask_id`` and ``mask_phone`` give the forms used in lists, receipts, logs and QR payloads.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

FIELD = "身份证号"
_EARLIEST_BIRTH = dt.date(1900, 1, 1)
_WHITESPACE_RE = re.compile(r"\s+")
_ID18_RE = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class IdCheck:
    """The outcome of checking one 身份证号.

    ``normalised`` is the 18-character form (digits, upper-case ``X``) when the number has a
    usable shape, otherwise the cleaned input; use it only when ``ok``. ``birth_date`` and
    ``sex`` are filled when they could be read.
    """

    original: str
    normalised: str
    birth_date: dt.date | None = None
    sex: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings may remain for the clerk to confirm)."""
        return not self.errors


def clean_id_number(raw: str) -> str:
    """Full-width characters folded, all whitespace removed, upper-cased."""
    text = unicodedata.normalize("NFKC", raw)
    return _WHITESPACE_RE.sub("", text).upper()


def check_digit(first17: str) -> str:
    """The MOD 11-2 check digit (``0``–``9`` or ``X``) for 17 digits."""
    return ric.calc_check_digit(first17 + "0")


def upgrade_15(number15: str) -> str:
    """The 18-digit form of a 15-digit number: ``19`` before the year, check digit added."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_digit(first17)


def check_id_number(raw: str, *, today: dt.date | None = None) -> IdCheck:
    """Check and normalise a 身份证号; ``today`` (default: the system date) bounds birth dates."""
    today = today or dt.date.today()
    cleaned = clean_id_number(raw)
    errors: list[str] = []
    warnings: list[str] = []

    if not cleaned:
        return IdCheck(raw, cleaned, errors=[f"{FIELD}不能为空"])

    if len(cleaned) == 15:
        if not cleaned.isdigit() or not cleaned.isascii():
            return IdCheck(raw, cleaned, errors=[f"{FIELD}只能由数字组成（15位旧号码）"])
        number = upgrade_15(cleaned)
        warnings.append(f"{FIELD}为15位第一代号码，已转换为18位：{mask_id(number)}，请核对证件")
        check_sum = False  # the check digit was computed, not typed
    elif len(cleaned) == 18:
        if not _ID18_RE.match(cleaned) or not cleaned.isascii():
            return IdCheck(raw, cleaned, errors=[f"{FIELD}只能由数字组成，末位可为X"])
        number = cleaned
        check_sum = True
    else:
        return IdCheck(raw, cleaned, errors=[f"{FIELD}应为18位（当前为{len(cleaned)}位）"])

    if check_sum and number[-1] != check_digit(number[:17]):
        errors.append(f"{FIELD}校验位不符，请逐位核对")

    birth_date: dt.date | None = None
    try:
        birth_date = ric.get_birth_date(number)
    except ValidationError:
        errors.append(f"{FIELD}中的出生日期 {number[6:14]} 不存在")
    else:
        if birth_date > today:
            errors.append(f"{FIELD}中的出生日期 {birth_date.isoformat()} 晚于今天")
        elif birth_date < _EARLIEST_BIRTH:
            errors.append(f"{FIELD}中的出生日期 {birth_date.isoformat()} 早于1900年")
        elif not area_code_existed(number[:6]):
            warnings.append(
                f"{FIELD}的地区码 {number[:6]} 不是任何年份的行政区划代码，请核对证件"
                "（核对无误可确认后继续）"
            )

    sex = "男" if int(number[16]) % 2 else "女"
    return IdCheck(raw, number, birth_date, sex, errors, warnings)


def area_code_existed(code: str) -> bool:
    """Whether ``code`` was a GB/T 2260 area code in any year (python-stdnum's historic list)."""
    from stdnum import numdb

    if len(code) != 6 or not code.isdigit():
        return False
    found = {key for _part, props in numdb.get("cn/loc").info(code) for key in props}
    return "county" in found


def mask_id(s: str) -> str:
    """Mask a 身份证号 for display: ``110105********002X``.

    18 characters: first 6 and last 4 kept; 15 digits: first 6 and last 3 (the sequence number;
    the birth date stays hidden); any other length keeps at most 2 at each end, and strings
    shorter than 8 are masked entirely.
    """
    text = clean_id_number(s)
    n = len(text)
    if n == 18:
        return text[:6] + "*" * 8 + text[-4:]
    if n == 15:
        return text[:6] + "*" * 6 + text[-3:]
    if n >= 8:
        return text[:2] + "*" * (n - 4) + text[-2:]
    return "*" * n


def mask_phone(s: str) -> str:
    """Mask a phone number: ``138****5678`` for an 11-digit mobile (a ``+86`` prefix is dropped).

    Other numbers keep only their last 4 characters (fewer than 7 characters: all masked).
    """
    text = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", s))
    if text.startswith("+86"):
        text = text[3:]
    elif len(text) == 13 and text.startswith("86"):
        text = text[2:]
    n = len(text)
    if n == 11 and text.isdigit() and text.startswith("1"):
        return text[:3] + "****" + text[-4:]
    if n >= 7:
        return "*" * (n - 4) + text[-4:]
    return "*" * n
