"""Type-ahead: keys typed while a screen is still opening wait for it instead of being lost.

A clerk types ``demo`` Tab ``demo1234`` Enter while the database opens, or presses ``/`` and at
once scans a 身份证号. Textual hands a key to the focused widget of the current screen; while a
screen is being composed nothing has focus yet and the key is dropped. The app holds such keys
here and replays them, in order, once the screen is ready (mounted, and its typing target focused).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.app import App

#: A screen that never becomes ready (a failed start-up) must not swallow the keyboard.
GIVE_UP_S = 3.0


class TypeAheadTarget:
    """Mixin for a screen whose first keys go into one input (``TYPE_INTO`` is its selector)."""

    TYPE_INTO: ClassVar[str] = ""


class TypeAhead:
    """The app's buffer of held keys and the task that replays them.

    A key that is text for the focused input passes at once. Any other key (Enter, Tab, ``/``,
    a letter that opens a screen) may change focus or screens once handled, and Textual handles
    it after the next keys were already routed: so the keys after it are held until the app has
    settled and the screen it opened is ready.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.held: list[events.Key] = []
        self.since = 0.0
        self.replaying = False
        self.gated = False

    def discard(self) -> None:
        """Drop the held keys: the screen they were typed for will not come (e.g. a password
        typed ahead for the sign-in of an office that turns out to need the set-up)."""
        self.held.clear()

    def ready(self) -> bool:
        """Whether a key can be handed to the current screen now."""
        app = self.app
        if len(app.screen_stack) < 2:
            return False  # the start-up screen: nothing to type into yet
        screen = app.screen
        if not screen.is_mounted:
            return False
        if getattr(screen, "busy", False):
            return False  # e.g. the password being checked: the next keys are for what follows
        target = getattr(screen, "TYPE_INTO", "")
        return not (target and screen.focused is None)

    def _is_text(self, key: events.Key) -> bool:
        if not key.is_printable:
            return False
        focused = self.app.focused
        if isinstance(focused, Input):
            return True
        # A TextArea can have focus only once its module is loaded: the sign-in screen, the
        # first frame, does without it (issue 17).
        text_area = sys.modules.get("textual.widgets._text_area")
        return text_area is not None and isinstance(focused, text_area.TextArea)

    def intercept(self, event: events.Event) -> bool:
        """Hold ``event`` if it would be lost; True when it was held."""
        if not isinstance(event, events.Key) or getattr(event, "replayed", False):
            return False
        if event.is_forwarded:
            return False
        if not self.held and not self.gated and self.ready():
            if not self._is_text(event):
                self.gated = True
                self._start()
            return False
        if not self.held:
            self.since = time.monotonic()
        key, character = event.key, event.character
        if key == "ctrl+j":
            # Typed before the terminal left cooked mode, Enter arrives as a newline (ICRNL).
            key, character = "enter", "\r"
        self.held.append(events.Key(key, character))
        self._start()
        return True

    def _start(self) -> None:
        if not self.replaying:
            self.replaying = True
            self.app.run_worker(self._replay(), group="typeahead", description="键入")

    def _starting(self) -> bool:
        """The database and rules are still being opened (however long that takes)."""
        return any(
            worker.group == "start" and not worker.is_finished for worker in self.app.workers
        )

    async def _replay(self) -> None:
        from textual._wait import wait_for_idle

        try:
            while True:
                if self.gated:
                    await wait_for_idle(0, 0.3)
                    self.gated = False
                if not self.held:
                    break
                waited = time.monotonic() - self.since
                if not self.ready() and (waited < GIVE_UP_S or self._starting()):
                    await wait_for_idle(0, 0.05)
                    continue
                key = self.held.pop(0)
                self.since = time.monotonic()
                self.gated = not self._is_text(key)
                key.replayed = True  # type: ignore[attr-defined]  # passes the hold
                self.app.post_message(key)
        finally:
            self.replaying = False
