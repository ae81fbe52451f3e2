"""Money in 元 as ``Decimal``: parsing clerk or JSON input, and rounding half-up to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: The largest amount accepted on one claim; anything above is a typing error, not a bill.
MAX_AMOUNT = Decimal("9999999.99")


class MoneyError(ValueError):
    """An amount that cannot be accepted; the message is Chinese and ready for the clerk."""


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, half-up (四舍五入), as the settlement slips do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(raw: object, *, allow_zero: bool = True) -> Decimal:
    """Parse a money amount given as a string (or an int); floats are refused on purpose.

    Raises ``MoneyError`` with a Chinese message for non-numbers, more than two decimals,
    negative or absurd amounts.
    """
    if isinstance(raw, bool) or raw is None:
        raise MoneyError('金额应为数字字符串，例如 "1234.50"')
    if isinstance(raw, float):
        raise MoneyError('金额请用字符串表示（如 "1234.50"），以免浮点误差')
    text = str(raw).strip().replace(",", "").replace("，", "")
    if not text:
        raise MoneyError("金额不能为空")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"金额“{text[:20]}”不是有效数字") from None
    if not value.is_finite():
        raise MoneyError("金额不是有效数字")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise MoneyError(f"金额“{text[:20]}”最多保留两位小数")
    if value < 0:
        raise MoneyError(f"金额“{text[:20]}”不能为负数")
    if value == 0 and not allow_zero:
        raise MoneyError("金额必须大于零")
    if value > MAX_AMOUNT:
        raise MoneyError(f"金额“{text[:20]}”超出合理范围（上限 {MAX_AMOUNT} 元）")
    return value.quantize(CENT)


def fmt_money(value: Decimal) -> str:
    """The canonical text of an amount: two decimals, no grouping (as in JSON and slips)."""
    return f"{round_money(value):.2f}"
