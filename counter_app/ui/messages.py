"""Navigation as typed messages: screens post them, the app (``CounterApp``) handles them.

"Attributes down, messages up": a screen never calls the app by name; it posts ``OpenPerson``,
``StartFiling``, ``StartClaim``… and the message bubbles from the screen to the app, whose
``on_open_person``, ``on_start_filing``… handlers open the next screen. ``post_message`` is
thread-safe, so a worker may post them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.screen import Screen

    from counter_app.storage.models import Claim, Draft, Filing, Person


class OpenPerson(Message):
    """Open a person's page."""

    def __init__(self, person_id: int) -> None:
        super().__init__()
        self.person_id = person_id


class EditPerson(Message):
    """Open the person form on a stored person (修改参保人信息)."""

    def __init__(self, person: Person) -> None:
        super().__init__()
        self.person = person


class StartFiling(Message):
    """Start the filing wizard: ``action`` is ``new``, ``change`` or ``cancel`` (of ``target``)."""

    def __init__(
        self, person: Person, action: str, target: Filing | None, filings: list[Filing]
    ) -> None:
        super().__init__()
        self.person = person
        self.action = action
        self.target = target
        self.filings = filings


class StartClaim(Message):
    """Start the claim wizard for a person, prefilled from their filings."""

    def __init__(self, person: Person, filings: list[Filing]) -> None:
        super().__init__()
        self.person = person
        self.filings = filings


class ResumeClaim(Message):
    """Take a 待补材料 claim up again at the materials step (``lines``: its itemised lines)."""

    def __init__(self, person: Person, claim: Claim, lines: list[dict[str, Any]]) -> None:
        super().__init__()
        self.person = person
        self.claim = claim
        self.lines = lines


class ResumeDraft(Message):
    """Back into a wizard at the step a draft was saved at."""

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft


class OpenClaim(Message):
    """Open one claim's page."""

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number


class OpenPrint(Message):
    """Open the print screen for one record's documents (a filing's or a claim's)."""

    def __init__(self, number: str, kinds: list[str], subject: str = "") -> None:
        super().__init__()
        self.number = number
        self.kinds = kinds
        self.subject = subject


class OfficeRenamed(Message):
    """The office's name changed: the header and the signed-in clerk show the new one."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class Unlocked(Message):
    """The lock screen's password was right: remove ``lock_screen`` and replay what was held."""

    def __init__(self, lock_screen: Screen[Any]) -> None:
        super().__init__()
        self.lock_screen = lock_screen


class SignOut(Message):
    """From the lock screen: end the session; the next clerk signs in."""


class WorkFailed(Message):
    """A screen's worker failed (``Worker.StateChanged`` does not bubble): the app's one
    failure handler shows ``error`` under ``description``. Posted from the worker thread."""

    def __init__(self, description: str, error: BaseException) -> None:
        super().__init__()
        self.description = description
        self.error = error
