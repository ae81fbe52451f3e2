"""The claim wizard: a new claim from the person page, or a 待补材料 claim taken up again."""

from __future__ import annotations

from typing import Any

from textual.app import App

from counter_app.ui.claims.state import ClaimState
from counter_app.ui.claims.steps import STEPS
from counter_app.ui.services import Services
from counter_app.ui.wizard.flow import Wizard


class ClaimWizard(Wizard[ClaimState]):
    """情形 → 就医 → 特殊情况 → 材料 → 明细 → 金额 → 核对, a draft saved between steps."""

    def __init__(self, app: App[Any], services: Services, state: ClaimState) -> None:
        super().__init__(app, services, state, STEPS)
