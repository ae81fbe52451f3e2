"""Conditions written in policy packs: ``{fact = [allowed values]}``, all of which must hold.

A pack says *when* a rule applies as data, e.g. ``when = { insurance = ["resident"],
scope = ["cross_province"] }``; the engine computes the facts of a request and asks
``matches``. An empty condition always holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Scalar = str | int | bool
Condition = dict[str, list[Scalar]]

#: The facts a filing condition may test, and the facts a claim condition may test.
FILING_FACTS = frozenset(
    {
        "action",
        "insurance",
        "category",
        "term",
        "scope",
        "basis",
        "by_agent",
        "multi_place",
        "has_employer",
        "retired",
        "referral_one_stop",
        "continued_treatment",
        "purpose",
        "channel",
        "special_disease",
    }
)
CLAIM_FACTS = frozenset(
    {
        "insurance",
        "scope",
        "filing",
        "route",
        "treatment",
        "treatment_class",
        "hospital_level",
        "designated",
        "special",
        "injury_no_third_party",
        "rescue",
        "died",
        "dual_channel",
        "outside_drugs",
        "emergency",
        "case",
        "referred_out",
    }
)
LOCK_FACTS = frozenset({"term", "basis", "category"})


def matches(condition: Mapping[str, list[Any]] | None, facts: Mapping[str, Any]) -> bool:
    """True when every fact named in ``condition`` has one of the allowed values."""
    if not condition:
        return True
    return all(facts.get(name) in allowed for name, allowed in condition.items())


def check_condition(condition: Mapping[str, list[Any]], known: frozenset[str]) -> None:
    """Raise ``ValueError`` naming the first unknown fact (used when a pack is loaded)."""
    for name, allowed in condition.items():
        if name not in known:
            raise ValueError(f"未知的条件字段“{name}”，可用：{', '.join(sorted(known))}")
        if not isinstance(allowed, list) or not allowed:
            raise ValueError(f"条件“{name}”应为非空列表")
