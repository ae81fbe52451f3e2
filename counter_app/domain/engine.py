"""The rules engine: one object that the UI, printing, sync and the JSON command line ask.

It holds a region's policy pack, the region table and the working-day calendar, turns raw
requests (dicts from JSON or the UI) into checked models, and returns the decisions. Nothing
outside ``counter_app.domain`` re-derives a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from counter_app.domain.claim import decide_claim
from counter_app.domain.errors import FieldError, InvalidInput, from_validation
from counter_app.domain.filing import decide_filing
from counter_app.domain.policy import Material, PolicyPack
from counter_app.domain.regions import RegionTable
from counter_app.domain.requests import ClaimRequest, FilingRequest
from counter_app.domain.results import ClaimResult, FilingResult, OnlineReview
from counter_app.domain.workdays import DueDate, WorkCalendar

M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], data: object) -> M:
    """Validate raw request data into ``model``; every bad field becomes a Chinese message."""
    if not isinstance(data, Mapping):
        raise InvalidInput([FieldError("(请求)", "请求应为一个 JSON 对象")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None


@dataclass(frozen=True)
class RulesEngine:
    """The decisions of one region: filings, claims and the material catalogue."""

    pack: PolicyPack
    regions: RegionTable
    calendar: WorkCalendar

    def _check_policy(self, policy: str) -> None:
        if policy != self.pack.pack.id:
            raise InvalidInput(
                [FieldError("policy", f"请求的地区 {policy} 与当前策略包 {self.pack.pack.id} 不符")]
            )

    def filing(self, request: FilingRequest | Mapping[str, Any]) -> FilingResult:
        """Decide a filing request (a model or raw data)."""
        if not isinstance(request, FilingRequest):
            request = parse_request(FilingRequest, request)
        self._check_policy(request.policy)
        result = decide_filing(request, self.pack, self.regions)
        review = self.online_review(request.today, online=request.channel == "online")
        return result.model_copy(update={"online_review": review})

    def claim(self, request: ClaimRequest | Mapping[str, Any]) -> ClaimResult:
        """Decide a manual reimbursement claim (a model or raw data)."""
        if not isinstance(request, ClaimRequest):
            request = parse_request(ClaimRequest, request)
        self._check_policy(request.policy)
        return decide_claim(request, self.pack, self.calendar)

    def materials(self) -> list[Material]:
        """The material ids and the labels this region prints."""
        return list(self.pack.materials)

    def online_review_due(self, received: date) -> tuple[DueDate, str]:
        """When an online application (不见面备案) received that day must be reviewed by.

        The number of working days is the region's (苏规程 第九条: 1; 芜规程 第九条 and 湘办法
        第十条: 2); returns the deadline and the citation.
        """
        rules = self.pack.filing
        due = self.calendar.add_working_days(received, rules.online_review_working_days)
        return due, rules.online_review.citation

    def online_review(self, received: date, *, online: bool) -> OnlineReview:
        """The region's online-review time limit; with the due date for an online application."""
        rules = self.pack.filing
        review = OnlineReview(
            working_days=rules.online_review_working_days,
            citation=rules.online_review.citation,
            example=rules.online_review.example,
        )
        if not online:
            return review
        due, _ = self.online_review_due(received)
        return review.model_copy(
            update={
                "due": due.date,
                "provisional": due.provisional,
                "calendar_version": due.calendar_version,
            }
        )
