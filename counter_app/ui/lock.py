"""The guard between a locked (or signed-out) window and the work under it.

Textual keeps the command palette (ctrl+p, a priority binding), every app-level action and any
screen pushed by a callback live above a ``ModalScreen`` (see PITFALLS.md, "Textual over a modal
screen"), so a lock screen alone does not lock. ``GuardedApp`` closes the gaps in one place:

- ``check_action`` refuses every app action while guarded, the palette included;
- screens pushed, switched or popped while locked (a worker finishing, a dialog's callback) are
  held and replayed in order after the password, so nothing appears over the lock and nothing
  under it moves; after a sign-out they are dropped;
- locking closes the palette and clears the notifications, which may name a person;
- only the lock screen's password (or signing out) releases the guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Literal, cast

from textual import events
from textual._context import active_message_pump
from textual.app import App, ScreenStackError
from textual.await_complete import AwaitComplete
from textual.screen import Screen

Guard = Literal["locked", "signed_out"]


class GuardedApp(App[None]):
    """An app that can be locked: subclasses say who may lock and which screens guard it."""

    def __init__(self) -> None:
        super().__init__()
        self.guard: Guard | None = None
        self.last_activity = time.monotonic()
        self._held: list[Callable[[], object]] = []

    # -- what subclasses provide ---------------------------------------------------------

    def can_lock(self) -> bool:
        """Whether there is a session to lock (a clerk signed in)."""
        raise NotImplementedError

    def make_lock_screen(self) -> Screen[None]:
        """The screen that covers the work while locked."""
        raise NotImplementedError

    def idle_limit(self) -> float:
        """Seconds without a key or click before the screen locks by itself."""
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """True while the lock screen (or the sign-in after a sign-out) guards the window."""
        return self.guard is not None

    def lock(self) -> None:
        """Cover the work: close the palette, clear notifications, hold everything until unlock."""
        if self.guard is not None or not self.can_lock():
            return
        from textual.command import CommandPalette

        while CommandPalette.is_open(cast("App[object]", self)) and len(self.screen_stack) > 1:
            App.pop_screen(self)
        self.clear_notifications()
        self.guard = "locked"
        self.last_activity = time.monotonic()
        App.push_screen(self, self.make_lock_screen())
        self.refresh_bindings()

    def unlock(self, lock_screen: Screen[Any]) -> None:
        """The password was right: remove the lock screen, then replay what was held."""
        self.guard = None
        self.last_activity = time.monotonic()
        if self.screen is lock_screen:
            App.pop_screen(self)
        held, self._held = self._held, []
        for operation in held:
            # A pop held for a screen that another held operation already removed is moot.
            with contextlib.suppress(ScreenStackError):
                operation()
        self.refresh_bindings()

    def leave_session(self) -> None:
        """Signing out from the lock screen: drop what was held and every screen of the work."""
        self.guard = "signed_out"
        self._held = []
        self.clear_notifications()
        while len(self.screen_stack) > 1:
            App.pop_screen(self)

    def release_sign_in(self) -> None:
        """The sign-in after a sign-out succeeded: the window is the next clerk's."""
        if self.guard == "signed_out":
            self.guard = None
            self.refresh_bindings()

    # -- the gate ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No app action (palette, function keys, navigation, quit) while locked.

        After a sign-out only quitting is left: the work under the sign-in screen is gone.
        """
        if self.guard == "locked":
            return False
        if self.guard == "signed_out" and action != "quit":
            return False
        return super().check_action(action, parameters)

    def _hold(self, operation: Callable[[], object]) -> None:
        """Keep a screen operation for after the unlock (after a sign-out, drop it)."""
        if self.guard == "locked":
            requester = active_message_pump.get(None) or self

            def replay() -> object:
                token = active_message_pump.set(requester)
                try:
                    return operation()
                finally:
                    active_message_pump.reset(token)

            self._held.append(replay)

    def push_screen(
        self,
        screen: Screen[Any] | str,
        callback: Any = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> Any:
        """Push, unless guarded: then the screen waits for the unlock (the palette never)."""
        if self.guard is None or self._is_guard_screen(screen):
            if wait_for_dismiss:
                return super().push_screen(screen, callback, wait_for_dismiss=True, mode=mode)
            return super().push_screen(screen, callback, mode=mode)
        from textual.command import CommandPalette  # not part of the first frame (issue 17)

        if isinstance(screen, CommandPalette):
            return AwaitComplete.nothing()
        if not wait_for_dismiss:
            self._hold(lambda: super(GuardedApp, self).push_screen(screen, callback, mode=mode))
            return AwaitComplete.nothing()
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def resolve(value: Any) -> None:
            if callback is not None:
                callback(value)
            if not result.done():
                result.set_result(value)

        self._hold(lambda: super(GuardedApp, self).push_screen(screen, resolve, mode=mode))
        return result

    def switch_screen(self, screen: Screen[Any] | str) -> AwaitComplete:
        """Switch the top screen, unless guarded: the lock screen is never switched away."""
        if self.guard is None:
            return super().switch_screen(screen)
        self._hold(lambda: super(GuardedApp, self).switch_screen(screen))
        return AwaitComplete.nothing()

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen, unless guarded: a dismissed dialog under the lock waits for it."""
        if self.guard is None:
            return super().pop_screen()
        self._hold(lambda: super(GuardedApp, self).pop_screen())
        return AwaitComplete.nothing()

    def switch_mode(self, mode: str) -> Any:  # AwaitMount, or AwaitComplete while held
        """Modes are areas of the work: none is entered while guarded."""
        if self.guard is None:
            return super().switch_mode(mode)
        self._hold(lambda: super(GuardedApp, self).switch_mode(mode))
        return AwaitComplete.nothing()

    def notify(self, message: str, **kwargs: Any) -> None:
        """Notifications may name a person: while locked they wait for the unlock."""
        if self.guard is None:
            super().notify(message, **kwargs)
        else:
            self._hold(lambda: super(GuardedApp, self).notify(message, **kwargs))

    def _is_guard_screen(self, screen: Screen[Any] | str) -> bool:
        """The screens that guard the window themselves (overridden to name them)."""
        return False

    # -- the idle lock ---------------------------------------------------------------------

    def on_event(self, event: events.Event) -> Any:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.last_activity = time.monotonic()
        return super().on_event(event)

    def check_idle_lock(self) -> None:
        """Lock after the configured time without a key or a click."""
        if time.monotonic() - self.last_activity > self.idle_limit():
            self.lock()
