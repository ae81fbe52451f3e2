"""The filing wizard: 新增、变更、取消备案, a draft saved between steps."""

from __future__ import annotations

from typing import Any

from textual.app import App

from counter_app.ui.filings.state import FilingState
from counter_app.ui.filings.steps import STEPS
from counter_app.ui.services import Services
from counter_app.ui.wizard.flow import Wizard


class FilingWizard(Wizard[FilingState]):
    """The steps depend on the action (a cancel asks only for its materials)."""

    def __init__(self, app: App[Any], services: Services, state: FilingState) -> None:
        super().__init__(app, services, state, STEPS[state.action])
