"""Screens' thread workers: ``run_in_worker`` for any blocking job, ``load_in_worker`` for the one
pattern of every screen — read in a thread worker, show on the UI thread.

Every blocking call (SQLite, files) runs off the UI thread; only ``call_from_thread`` reaches
back. Textual's ``Worker.StateChanged`` does not bubble from a screen to the app, so a failure is
posted to the app as ``WorkFailed``: the app's one failure handler names ``description`` and
shows the error's Chinese message (``CounterError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from counter_app.ui.messages import WorkFailed

T = TypeVar("T")


def run_in_worker(
    node: DOMNode,
    job: Callable[[], None],
    *,
    group: str,
    description: str,
    exclusive: bool = True,
) -> Worker[None]:
    """Run ``job`` in a thread worker of ``node``; if it raises, the app is told (``WorkFailed``)
    and the worker ends in the error state, not the application."""

    def run() -> None:
        try:
            job()
        except Exception as error:
            if not get_current_worker().is_cancelled:  # a screen closed meanwhile: no message
                node.app.post_message(WorkFailed(description, error))  # thread-safe
            raise

    return node.run_worker(
        run,
        thread=True,
        exclusive=exclusive,
        exit_on_error=False,
        group=group,
        description=description,
    )


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

    return run_in_worker(node, run, group=group, description=description, exclusive=exclusive)
