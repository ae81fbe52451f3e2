"""The ``counter-app`` script: the terminal UI at once, every other command through the CLI.

Clerks start the window every morning and after every crash, so its path to the sign-in screen
is kept short (issue 17): ``counter-app``, ``counter-app --demo`` and ``counter-app --policy X``
start the UI without building the Typer application, whose commands (with a pydantic adapter per
parameter) cost about 0.2 s and 12 MiB before the first frame. Anything else — a subcommand,
``--help``, ``--version``, an option spelled any other way, an error — goes to the CLI
(``counter_app.cli``), which also starts the UI the same way (``start_ui``).
"""

from __future__ import annotations

import gc
import sys


def start_ui(policy: str | None, demo: bool) -> None:
    """Run the terminal UI with the office's settings (``policy``/``demo`` override them)."""
    from counter_app.private_files import restrict_process

    restrict_process()  # every file this run creates (database, keys, prints) is 0600, folders 0700
    from counter_app.ui.app import run_app

    run_app(policy, demo)


def ui_arguments(args: list[str]) -> tuple[str | None, bool] | None:
    """``(policy, demo)`` when ``args`` only start the UI (the CLI's options, as it reads them),
    else None: the CLI decides (and explains its errors)."""
    policy: str | None = None
    demo = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo" and not demo:
            demo = True
        elif arg == "--policy" and policy is None and rest and not rest[0].startswith("-"):
            policy = rest.pop(0)
        elif arg.startswith("--policy=") and policy is None and len(arg) > len("--policy="):
            policy = arg.removeprefix("--policy=")
        else:
            return None
    return policy, demo


def main() -> None:
    """Entry point of the ``counter-app`` script."""
    ui = ui_arguments(sys.argv[1:])
    if ui is None:
        from counter_app.cli import main as cli

        cli()
        return
    # No cyclic garbage collection while the start allocates its modules, classes and widgets
    # (about a tenth of the processor time to the first frame): the app's start-up worker turns
    # the collector on again once the sign-in screen is painted (``CounterApp.start_up``).
    gc.disable()
    start_ui(*ui)
