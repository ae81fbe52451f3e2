"""The claim wizard: a new claim from the person page, or a 待补材料 claim taken up again."""

from __future__ import annotations

from textual.app import App

from counter_app.ui.claims.state import DRAFT_KIND, ClaimState
from counter_app.ui.claims.steps import STEPS
from counter_app.ui.services import Services
from counter_app.ui.wizard.flow import Wizard


class ClaimWizard(Wizard):
    """情形 → 就医 → 特殊情况 → 材料 → 明细 → 金额 → 核对, a draft saved between steps."""

    draft_kind = DRAFT_KIND

    def __init__(self, app: App, services: Services, state: ClaimState) -> None:
        super().__init__(app, services, state, list(STEPS))  # type: ignore[arg-type]
