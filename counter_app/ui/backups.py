"""Automatic backups while the counter runs: on a timer and after the day close, in a worker.

Nothing here touches the disk on the UI thread: the timer only starts a thread worker, which
decides whether a backup is due, takes it (``storage.backup``) and reports back through
``call_from_thread``. A failure becomes the app's usual Chinese notification.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counter_app.settings import Settings
    from counter_app.ui.app import CounterApp

#: How often the timer looks whether a backup is due (at most; shorter intervals look sooner).
CHECK_EVERY_S = 300.0


def header_part(settings: Settings) -> str:
    """The header's backup note ("备份3小时前"; "⚠…" when older than a day), read from disk."""
    from counter_app.storage.backup import age_text, newest

    return age_text(newest(settings.database_path(), settings.backup_places()))


def start_timer(app: CounterApp) -> None:
    """Start the backup timer once per run (when automatic backups are on and timed)."""
    settings = app.settings
    minutes = settings.backup.interval_minutes
    if not settings.backups_automatic() or minutes == 0 or getattr(app, "_backup_timer", None):
        return
    app._backup_timer = app.set_interval(  # type: ignore[attr-defined]
        min(CHECK_EVERY_S, minutes * 60.0), partial(back_up, app, "timer")
    )
    back_up(app, "timer")  # due at start-up when the newest is already older than the interval


def back_up(app: CounterApp, reason: str) -> None:
    """Start a backup in a worker (``reason``: ``timer`` backs up only when one is due)."""
    if not app.settings.backups_automatic():
        return
    app.run_worker(
        partial(_run, app, reason),
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="backup",
        description="自动备份",
    )


def _run(app: CounterApp, reason: str) -> None:
    from counter_app.storage.backup import BackupError, BackupOutcome, backup_now, newest

    settings = app.settings
    db_path, places = settings.database_path(), settings.backup_places()
    if reason == "timer":
        found = newest(db_path, places)
        due = timedelta(minutes=settings.backup.interval_minutes)
        if found is not None and datetime.now(UTC) - found.taken_at < due:
            return
    # An encrypted database is backed up with its key (the backup is encrypted with it too).
    key = app.services.db.key if app.services is not None else None
    try:
        outcome = backup_now(db_path, places, settings.backup.keep_days, key=key)
    except BackupError as exc:  # no database file, or a locked encrypted one
        outcome = BackupOutcome(failed=[(db_path, str(exc))])
    text = "；".join(f"{place}：{why}" for place, why in outcome.failed)
    # The timer tries again every few minutes: say a failure once, not at every attempt.
    if text and text != getattr(app, "_backup_failure", ""):
        app.call_from_thread(
            app.notify, f"自动备份未完成：{text}", title="备份", severity="warning", timeout=15
        )
    app._backup_failure = text  # type: ignore[attr-defined]
    if not outcome.failed and reason == "day_close":
        app.call_from_thread(app.notify, "日结后已自动备份", title="备份")
    app.call_from_thread(app.refresh_sync_header)
