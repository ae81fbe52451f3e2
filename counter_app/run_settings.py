"""The settings a ``counter-app`` subcommand runs with (shared by cli.py and sync/commands.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counter_app.settings import Settings


def command_settings() -> Settings:
    """The settings of this ``counter-app`` run: file and environment, then ``--policy``/``--demo``.

    The options are given before the subcommand (``counter-app --demo verify …``); the main
    callback keeps them in the root context, so every subcommand opens the same database and rules
    the terminal UI would.
    """
    try:  # typer ≥ 0.2x ships its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older typer on plain click
        from click import get_current_context  # type: ignore[no-redef]
    from counter_app.settings import Settings

    context = get_current_context(silent=True)
    overrides = dict(context.find_root().obj or {}) if context is not None else {}
    return Settings(**overrides)
