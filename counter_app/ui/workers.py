"""The one way a screen reads what it shows: read in a thread worker, show on the UI thread.

Every blocking read (SQLite, files) runs off the UI thread; only ``call_from_thread`` reaches
back. A failure is left to the app's one worker-state handler, which names ``description`` and
shows the error's Chinese message (``CounterError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

T = TypeVar("T")


def load_in_worker(
    node: DOMNode,
    read: Callable[[], T],
    show: Callable[[T], object],
    *,
    group: str,
    description: str,
    exclusive: bool = True,
) -> Worker[None]:
    """Run ``read`` in a thread worker of ``node``, then ``show(result)`` on the UI thread.

    With ``exclusive`` a newer load of the same group cancels an older one, whose result is then
    dropped rather than shown over the newer one's.
    """

    def run() -> None:
        value = read()
        if not get_current_worker().is_cancelled:
            node.app.call_from_thread(show, value)

    return node.run_worker(
        run,
        thread=True,
        exclusive=exclusive,
        exit_on_error=False,
        group=group,
        description=description,
    )
