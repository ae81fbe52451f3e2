"""Money in 元 as ``Decimal``: parsing clerk or JSON input, and rounding half-up to the cent."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from counter_app.domain.errors import CounterError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: The largest amount accepted on one claim; anything above is a typing error, not a bill.
MAX_AMOUNT = Decimal("9999999.99")


class MoneyError(CounterError, ValueError):
    """An amount that cannot be accepted; the message is Chinese and ready for the clerk."""


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, half-up (四舍五入), as the settlement slips do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


#: A plain decimal amount: ASCII digits, at most two decimals; no sign, grouping or exponent.
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
_DIGITS_ETC = re.compile(r"[0-9.]+")


def _refusal(text: str) -> str:
    shown = text[:20]
    if "," in text or "，" in text:
        return f'金额“{shown}”不能含千位分隔符（逗号），请写成如 "1234.50"'
    if "_" in text:
        return f"金额“{shown}”不能含下划线"
    if any(c in "eE" for c in text) and any(c.isdigit() for c in text):
        return f'金额“{shown}”不能用指数形式，请写成如 "1234.50"'
    if any(c.isdigit() and not c.isascii() for c in text) or "．" in text:
        return f"金额“{shown}”含全角或非半角数字，请用半角数字"
    if text.startswith("-") and _PLAIN.fullmatch(text[1:]):
        return f"金额“{shown}”不能为负数"
    if _DIGITS_ETC.fullmatch(text) and text.count(".") == 1 and text[-1] != "." and text[0] != ".":
        return f"金额“{shown}”最多保留两位小数"
    return f'金额“{shown}”不是有效的金额，应为如 "1234.50" 的数字字符串'


def parse_money(raw: object, *, allow_zero: bool = True) -> Decimal:
    """Parse an amount given as a plain decimal string (``"1234.50"``), or a ``Decimal``.

    Only ASCII digits with at most two decimals are accepted: no thousands separators
    (``"12,34"`` is not 1234), exponents, underscores, signs or full-width digits — Python's
    ``Decimal`` would accept several of these, so the text is matched first. Numbers (ints,
    floats) are refused: JSON numbers are not amounts here. Raises ``MoneyError`` with a Chinese
    message ready for the clerk.
    """
    if isinstance(raw, Decimal):
        value = raw
        if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise MoneyError("金额不是有效数字或超过两位小数")
        text = f"{value:f}"
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise MoneyError("金额不能为空")
        if not _PLAIN.fullmatch(text):
            raise MoneyError(_refusal(text))
        value = Decimal(text)
    elif isinstance(raw, float):
        raise MoneyError('金额请用字符串表示（如 "1234.50"），以免浮点误差')
    else:
        raise MoneyError('金额应为数字字符串，例如 "1234.50"')
    if value < 0:
        raise MoneyError(f"金额“{text[:20]}”不能为负数")
    if value == 0 and not allow_zero:
        raise MoneyError("金额必须大于零")
    if value > MAX_AMOUNT:
        raise MoneyError(f"金额“{text[:20]}”超出合理范围（上限 {MAX_AMOUNT} 元）")
    return value.quantize(CENT)


def normalise_typed_amount(text: str) -> str:
    """What a Chinese input method types, as plain ASCII: full-width digits and point (NFKC).

    For the terminal UI only, before it builds a request; the engine itself accepts nothing but
    plain decimal strings. Grouping commas are left in, so they are refused rather than guessed.
    """
    return unicodedata.normalize("NFKC", text).strip()


def fmt_money(value: Decimal) -> str:
    """The canonical text of an amount: two decimals, no grouping (as in JSON and slips)."""
    return f"{round_money(value):.2f}"
