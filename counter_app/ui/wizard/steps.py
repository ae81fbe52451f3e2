"""The wizard's step screen: the form on the left, the engine's verdict on the right.

``WizardStep[State, Result]`` is the base of the filing steps (``ui.filings.steps``) and the claim
steps (``ui.claims.steps``). A step edits its state and dismisses with ``"next"`` (F10),
``"back"`` (Esc) or ``"done"`` (after the review step committed); the wizard (``ui.wizard.flow``)
saves the draft between steps and hands each step its place in the one list of steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Label

from counter_app.domain.errors import FieldError
from counter_app.ui.services import Services
from counter_app.ui.widgets.content import show
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.form import error_fields, error_id, show_field_errors
from counter_app.ui.widgets.verdict import Verdict
from counter_app.ui.wizard.state import DRAFT_LOCK, WizardState
from counter_app.ui.workers import run_in_worker

StateT = TypeVar("StateT", bound=WizardState[Any, Any])
ResultT = TypeVar("ResultT")


class WizardStep(Screen[str], Generic[StateT, ResultT]):
    """A step: its form on the left, the live verdict on the right."""

    BINDINGS = [
        Binding("escape", "back", "上一步", id="wizard.back", tooltip="回到上一步（已填内容保留）"),
        Binding("f10", "next", "下一步", id="wizard.next", tooltip="保存草稿并进入下一步"),
    ]
    STEP_TITLE: ClassVar[str] = ""
    #: The request fields this step fills in (before it, the engine's complaints about them are
    #: shown as still to do, not as errors).
    FIELDS: ClassVar[frozenset[str]] = frozenset()
    #: The worker's description when this step commits (named if the commit fails).
    COMMIT_DESCRIPTION: ClassVar[str] = "提交办理"

    def __init__(
        self,
        services: Services,
        state: StateT,
        index: int,
        steps: Sequence[type[WizardStep[Any, Any]]],
    ) -> None:
        """``steps`` is the wizard's whole list; this step is ``steps[index]``."""
        super().__init__()
        self.services = services
        self.state = state
        self.index = index
        self.total = len(steps)
        self.later = tuple(steps[index + 1 :])
        if self.later:
            self._name_next_step(self.later[0].STEP_TITLE)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                yield Label(
                    f"{self.state.title} · 第 {self.index + 1}/{self.total} 步：{self.STEP_TITLE}",
                    classes="title",
                )
                yield from self.form()
            with VerticalScroll(id="verdict_pane"):
                yield Verdict(id="verdict")
        yield KeysFooter()

    def _name_next_step(self, title: str) -> None:
        """Say in the footer what F10 does here: ``下一步：就医地`` (the last step's F10 says
        提交 or 受理 itself)."""
        if not title:
            return
        keys = self._bindings.key_to_bindings  # a copy per screen; its lists are shared
        keys["f10"] = [
            replace(b, description=f"下一步：{title}{b.description.removeprefix('下一步')}")
            if b.action == "next" and b.description.startswith("下一步")
            else b
            for b in keys.get("f10", [])
        ]

    def form(self) -> ComposeResult:
        """The step's own fields."""
        yield from ()

    def on_mount(self) -> None:
        self.refresh_verdict()
        focusable = [w for w in self.query("#form *") if w.focusable]
        if focusable:
            focusable[0].focus()

    # -- the verdict and the field errors ------------------------------------------------

    def refresh_verdict(self) -> ResultT | None:
        """Ask the engine (pure, fast): each bad field's message goes under the field where
        this step has a place for it, the rest (and the verdict) to the right."""
        verdict = self.query_one(Verdict)
        outcome = self.state.evaluate(self.services)
        if isinstance(outcome, list):
            rest = show_field_errors(self, outcome)
            if outcome and not rest:
                show(verdict, "请按左侧字段下方的提示更正")
            else:
                # Fields of later steps are not errors yet, only what is still to come.
                verdict.show_errors(rest, pending=self.pending_fields())
            return None
        show_field_errors(self, [])
        verdict.show_result(outcome, self.services.engine.pack.material_labels)
        result: ResultT = outcome
        return result

    def pending_fields(self) -> set[str]:
        """The request fields that steps after this one fill in."""
        return set().union(*(step.FIELDS for step in self.later))

    def errors_here(self) -> list[FieldError]:
        """The engine's messages about fields of this step (which must be put right first)."""
        ids = error_fields(self)
        if not ids:
            return []
        outcome = self.state.evaluate(self.services)
        if not isinstance(outcome, list):
            return []
        return [e for e in outcome if error_id(e.field) in ids]

    # -- moving on -----------------------------------------------------------------------

    def collect(self) -> None:
        """Copy the form into the state (steps override)."""

    def action_next(self) -> None:
        """Keep what was typed and go on (once this step's fields are right)."""
        self.collect()
        if self.errors_here():
            self.refresh_verdict()
            self.notify("请先按字段下方的提示更正", severity="error")
            return
        self.dismiss("next")

    def action_back(self) -> None:
        """Keep what was typed and go back."""
        self.collect()
        self.dismiss("back")

    @on(Input.Submitted)
    def _enter_moves_on(self) -> None:
        self.focus_next()

    # -- the one commit path -------------------------------------------------------------

    def commit(self, result: ResultT) -> None:
        """Decide again and write in one transaction, off the UI thread (``state.commit``, a
        workflow). What the clerk chose goes down with the verdict they saw; a refusal (the
        verdict moved meanwhile) is shown in ``#commit_message``."""
        state, services = self.state, self.services

        def write() -> None:
            try:
                with DRAFT_LOCK:
                    committed = state.commit(services, result)
            except state.REFUSALS as exc:
                self.app.call_from_thread(self.refused, str(exc))
                return
            self.app.call_from_thread(self.committed, committed)

        run_in_worker(self, write, group="commit", description=self.COMMIT_DESCRIPTION)

    def refused(self, message: str) -> None:
        """The workflow refused: say why where the commit was asked for."""
        self.query_one("#commit_message", Label).update(message)

    def committed(self, committed: Any) -> None:
        """The commit went through (review steps say so and leave the wizard)."""
        self.dismiss("done")


def __getattr__(name: str) -> Any:
    """The filing steps under their old import path (``ui.filings.steps`` is their home)."""
    from counter_app.ui.filings import steps

    if name in steps.__all__:
        return getattr(steps, name)
    raise AttributeError(name)
