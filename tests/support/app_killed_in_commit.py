"""Drives the app headless to the review step of a new filing and commits, then hangs inside
the commit's transaction (after the filing rows are written) so that the test can SIGKILL it.

Usage: python -m tests.support.app_killed_in_commit DB_PATH MARKER_PATH
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import counter_app.storage.filings as filings_module
from counter_app.ui.app import build_app
from tests.functional.conftest import TODAY
from tests.functional.driving import (
    choose_destination,
    missing_now,
    next_step,
    open_person,
    settle,
    sign_in,
    tick,
)


def main() -> None:
    db_path, marker = Path(sys.argv[1]), Path(sys.argv[2])
    real_emit = filings_module.emit

    def emit_then_hang(*args, **kwargs):  # type: ignore[no-untyped-def]
        event_id = real_emit(*args, **kwargs)
        marker.write_text("in commit")
        time.sleep(600)  # the test kills us here, inside the open write transaction
        return event_id

    filings_module.emit = emit_then_hang  # type: ignore[assignment]
    app = build_app("wuhu", demo=True, db_path=db_path, today=TODAY)

    async def drive() -> None:
        async with app.run_test(size=(100, 40)) as pilot:
            await sign_in(pilot)
            await open_person(pilot, sys.argv[3])
            await pilot.press("n")
            await settle(pilot)
            await next_step(pilot)
            await choose_destination(pilot, "hainan")
            await next_step(pilot)
            await tick(pilot, missing_now(pilot))
            await next_step(pilot)
            await next_step(pilot)
            (db_path.parent / "at_review").write_text("ok")
            await pilot.press("f10")
            await asyncio.sleep(600)

    asyncio.run(drive())


if __name__ == "__main__":
    main()
