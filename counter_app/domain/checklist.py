"""Material checklists: which groups apply, which are satisfied, and what is still missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from counter_app.domain.conditions import matches
from counter_app.domain.policy import MaterialGroup
from counter_app.domain.results import ChecklistItem

COMMITMENT = "commitment_letter"


def applicable(groups: Iterable[MaterialGroup], facts: Mapping[str, Any]) -> list[MaterialGroup]:
    """The groups whose ``when`` holds and whose ``waived_when`` does not."""
    return [
        g
        for g in groups
        if matches(g.when, facts) and not any(matches(w, facts) for w in g.waivers)
    ]


def options_of(group: MaterialGroup, commitment_open: bool) -> list[list[str]]:
    """The options of a group; the 承诺书 comes first when the filing is on a commitment."""
    if group.commitment_alternative and commitment_open:
        return [[COMMITMENT], *group.any_of]
    return [list(option) for option in group.any_of]


def evaluate(
    groups: Iterable[MaterialGroup],
    presented: Iterable[str],
    labels: Mapping[str, str],
    *,
    commitment_open: bool = False,
) -> tuple[list[ChecklistItem], list[str]]:
    """The checklist and the missing material ids.

    For an unsatisfied group, the missing items are the rest of the option with the most items
    already presented (the first listed on a tie).
    """
    have = set(presented)
    items: list[ChecklistItem] = []
    missing: list[str] = []
    for group in groups:
        options = options_of(group, commitment_open)
        satisfied = any(set(option) <= have for option in options)
        if not satisfied:
            best = max(options, key=lambda option: sum(m in have for m in option))
            missing.extend(m for m in best if m not in have and m not in missing)
        used = {m for option in options for m in option}
        items.append(
            ChecklistItem(
                group=group.id,
                label=group.label,
                any_of=options,
                satisfied=satisfied,
                citation=group.citation,
                labels={m: labels.get(m, m) for m in sorted(used)},
            )
        )
    return items, missing


def describe_missing(
    checklist: Iterable[ChecklistItem], presented: Iterable[str], labels: Mapping[str, str]
) -> str:
    """The unsatisfied groups in words: a single material by name, alternatives as a choice.

    ``医保电子凭证、有效身份证件、社会保障卡任选其一`` reads better at the window than
    naming only the first alternative, which is what the machine-readable ``missing`` lists.
    """
    have = set(presented)
    parts: list[str] = []
    for item in checklist:
        if item.satisfied:
            continue
        options = [[labels.get(m, m) for m in option if m not in have] for option in item.any_of]
        if len(options) == 1:
            parts.append("、".join(options[0]))
        else:
            choices = "、".join("＋".join(option) for option in options)
            parts.append(f"{choices}任选其一")
    return "；".join(parts)
