"""Year-to-date accumulators (本年度累计) from a person's settled claims.

The engine needs what the person already had this year: the deductible paid, the fund amounts
under the annual cap and those paid above it. They are summed here from the payments the engine
stored on settled claims (per calendar-year segment where a stay was split across years);
``storage.claims`` reads those payments in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from counter_app.domain.money import ZERO


def _segments(payment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The payment's calendar-year parts (a payment in one year is its own single part)."""
    return payment.get("segments") or [
        {
            "year": payment.get("settlement_year"),
            "deductible": payment.get("deductible", "0"),
            "funds": payment.get("funds", []),
        }
    ]


def year_to_date_sums(
    results: Iterable[Mapping[str, Any]], year: int, basic_funds: Iterable[str]
) -> dict[str, str]:
    """The accumulators of ``year`` over stored engine results (``ClaimResult`` as JSON).

    ``basic_funds`` are the funds the annual cap applies to; the others count as paid above the
    cap. Returns the ``YearToDate`` request form (amounts as text, two decimals).
    """
    basic = set(basic_funds)
    deductible = fund = above = ZERO
    for result in results:
        for part in _segments(result.get("payment") or {}):
            if part["year"] != year:
                continue
            deductible += Decimal(part["deductible"])
            for line in part["funds"]:
                if line["name"] in basic:
                    fund += Decimal(line["amount"])
                else:
                    above += Decimal(line["amount"])
    return {
        "deductible_paid": f"{deductible:.2f}",
        "fund_paid": f"{fund:.2f}",
        "above_cap_paid": f"{above:.2f}",
    }
