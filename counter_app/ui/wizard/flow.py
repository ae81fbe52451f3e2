"""The wizard: one step screen at a time, and a draft saved between every two steps.

``Wizard[State]`` runs the filing wizard (``ui.filings.flow``) and the claim wizard
(``ui.claims.flow``): a state that round-trips through a JSON draft, and the one ordered list of
step screens, which dismiss with ``"next"``, ``"back"`` or ``"done"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from counter_app.storage.drafts import discard_draft, save_draft
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.services import Services
from counter_app.ui.wizard.state import DRAFT_LOCK, WizardState
from counter_app.ui.wizard.steps import WizardStep

if TYPE_CHECKING:
    from textual.app import App

StateT = TypeVar("StateT", bound=WizardState[Any, Any])


class Wizard(Generic[StateT]):
    """Pushes one step screen at a time; Esc on the first step asks whether to leave."""

    def __init__(
        self,
        app: App[Any],
        services: Services,
        state: StateT,
        steps: Sequence[type[WizardStep[StateT, Any]]],
    ) -> None:
        self.app = app
        self.services = services
        self.state = state
        self.steps = list(steps)

    def start(self) -> None:
        """Show the step the state is at (0 for a new wizard, the saved one for a draft)."""
        self.state.step = min(self.state.step, len(self.steps) - 1)
        self._show()

    def _show(self) -> None:
        index = self.state.step
        step = self.steps[index](self.services, self.state, index, self.steps)
        self.app.push_screen(step, callback=self._after)

    def _after(self, outcome: str | None) -> None:
        if outcome == "done":
            return
        if outcome == "next":
            self.state.step += 1
        elif outcome == "back" and self.state.step == 0:
            if self.state.draft_id is None or not self.state.worth_keeping(self.services):
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
        if not self.state.worth_keeping(self.services):
            self._discard()
            return
        state, services = self.state, self.services

        def write() -> None:
            with DRAFT_LOCK:
                state.draft_id = save_draft(
                    services.db,
                    services.clerk.clerk_id,
                    state.DRAFT_KIND,
                    state.to_draft(),
                    step=str(state.step),
                    title=state.title,
                    person_id=state.person_id,
                    draft_id=state.draft_id,
                )

        self.app.run_worker(
            write, thread=True, group="draft", description="保存草稿", exit_on_error=False
        )
