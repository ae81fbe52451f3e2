"""Wizards: one step screen at a time, and a draft saved between every two steps.

``Wizard`` is shared by the filing wizard and the claim wizard (``counter_app.ui.claims``): a
state object that round-trips through a JSON draft, and a list of step screens that dismiss with
``"next"``, ``"back"`` or ``"done"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from counter_app.storage.drafts import discard_draft, save_draft
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.services import Services
from counter_app.ui.wizard.state import DRAFT_KIND, DRAFT_LOCK, WizardState
from counter_app.ui.wizard.steps import (
    CategoryStep,
    DatesStep,
    DestinationStep,
    MaterialsStep,
    ReviewStep,
    WizardStep,
)

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

STEPS: dict[str, list[type[WizardStep]]] = {
    "new": [CategoryStep, DestinationStep, MaterialsStep, DatesStep, ReviewStep],
    "change": [CategoryStep, DestinationStep, MaterialsStep, DatesStep, ReviewStep],
    "cancel": [MaterialsStep, ReviewStep],
}


class DraftState(Protocol):
    """What a wizard needs of its state to show steps and save drafts."""

    step: int
    draft_id: int | None
    person_id: int

    @property
    def title(self) -> str: ...

    def to_draft(self) -> dict[str, Any]: ...


class Wizard:
    """Pushes one step screen at a time; Esc on the first step asks whether to leave."""

    draft_kind = ""

    def __init__(
        self,
        app: App,
        services: Services,
        state: DraftState,
        steps: list[type[Screen[str]]],
    ) -> None:
        self.app = app
        self.services = services
        self.state = state
        self.steps = steps

    def start(self) -> None:
        """Show the step the state is at (0 for a new wizard, the saved one for a draft)."""
        self.state.step = min(self.state.step, len(self.steps) - 1)
        self._show()

    def _show(self) -> None:
        step = self.steps[self.state.step](
            self.services,  # type: ignore[call-arg]
            self.state,
            self.state.step,
            len(self.steps),
        )
        later = self.steps[self.state.step + 1 : self.state.step + 2]
        name_next = getattr(step, "name_next_step", None)
        if later and name_next is not None:
            name_next(getattr(later[0], "STEP_TITLE", ""))
        self.app.push_screen(step, callback=self._after)

    def _after(self, outcome: str | None) -> None:
        if outcome == "done":
            return
        if outcome == "next":
            self.state.step += 1
        elif outcome == "back" and self.state.step == 0:
            if self.state.draft_id is None or not self._worth_keeping():
                self._discard()  # Esc on the first step, or a change the rules lock: no draft
                return
            self._save()
            self.app.push_screen(
                ConfirmDialog("退出办理？", "已填写的内容已保存为草稿，可在工作台按 D 继续。"),
                callback=self._leave,
            )
            return
        elif outcome == "back":
            self.state.step -= 1
        self._save()
        self._show()

    def _leave(self, leave: bool | None) -> None:
        if not leave:
            self._show()

    def _worth_keeping(self) -> bool:
        """Whether this work may be resumed later (a change the rules lock may not)."""
        check = getattr(self.state, "worth_keeping", None)
        return bool(check(self.services)) if check is not None else True

    def _discard(self) -> None:
        """Leave no draft behind (in a worker)."""
        draft_id, db = self.state.draft_id, self.services.db
        self.state.draft_id = None
        if draft_id is not None:
            self.app.run_worker(
                lambda: discard_draft(db, draft_id),
                thread=True,
                group="draft",
                description="删除草稿",
                exit_on_error=False,
            )

    def _save(self) -> None:
        """Save the draft in a worker; the id comes back for the next save."""
        if not self._worth_keeping():
            self._discard()
            return
        state, services, kind = self.state, self.services, self.draft_kind

        def write() -> None:
            with DRAFT_LOCK:
                state.draft_id = save_draft(
                    services.db,
                    services.clerk.clerk_id,
                    kind,
                    state.to_draft(),
                    step=str(state.step),
                    title=state.title,
                    person_id=state.person_id,
                    draft_id=state.draft_id,
                )

        self.app.run_worker(
            write, thread=True, group="draft", description="保存草稿", exit_on_error=False
        )


class FilingWizard(Wizard):
    """新增、变更、取消备案: the steps depend on the action."""

    draft_kind = DRAFT_KIND

    def __init__(self, app: App, services: Services, state: WizardState) -> None:
        super().__init__(app, services, state, list(STEPS[state.action]))
