"""Person search in the running app: from the last keystroke to the results painted (Pilot).

    python benchmarks/search_ui_bench.py --db /tmp/bench.db [--queries 200]

Runs the real ``CounterApp`` headless (Textual's Pilot) on a database seeded by
``search_bench.py`` (reuse its ``--db``; it is seeded here if empty), signs in as its clerk and
opens the search screen. For each random query of each kind it types every character but the last,
waits until that search has been answered, then times the last keystroke: the key press, the
``Input.Changed`` message, the search worker on the database, the table refilled and the next
frame rendered. It prints the median, p95 and maximum in ms, and the median time until the
answer reached the screen (``answered``: key handling, worker and database, the table refilled,
before it is painted) and the median processor time the process spent on a keystroke (``cpu``, all
threads: less dependent on what else the machine runs than the wall-clock figures). Not a test:
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from search_bench import KINDS, count_rows, open_bench_db, percentile, sample, seed
from textual import events
from textual.widgets import DataTable, Input

from counter_app.settings import Settings
from counter_app.storage.persons import search_persons
from counter_app.ui.app import CounterApp
from counter_app.ui.screens.search import SearchScreen

CLERK, PASSWORD = "bench", "bench-password"


async def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll (without sleeping a fixed time) until ``condition()`` holds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not answer in time")
        await asyncio.sleep(0)


async def measure(
    path: Path, queries: dict[str, list[str]], expected: dict[str, int], size: tuple[int, int]
) -> None:
    settings = Settings(policy="jiangsu", db_path=path, today=date(2026, 3, 2))  # type: ignore[call-arg]
    app = CounterApp(settings)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: app.services is not None and len(app.screen_stack) > 1)
        await pilot.pause()
        await pilot.press(*CLERK, "enter", *PASSWORD, "enter")
        await wait_for(lambda: app.services is not None and app.services.signed is not None)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("slash")
        await wait_for(lambda: isinstance(app.screen, SearchScreen))
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#query", Input)
        table = screen.query_one(DataTable)

        marks: dict[str, float] = {}
        done = asyncio.Event()
        show, display = screen._show, app._display

        def shown(*args) -> None:  # type: ignore[no-untyped-def]
            # (number, query, rows); before searches were numbered (query, rows)
            show(*args)
            number, query = (args[0] if len(args) == 3 else None), args[-2]
            if query == box.value and number == getattr(screen, "_asked", None):
                marks["shown"] = time.perf_counter()

        def painted(target, renderable) -> None:  # type: ignore[no-untyped-def]
            display(target, renderable)
            if "shown" in marks and "painted" not in marks and renderable is not None:
                marks["painted"] = time.perf_counter()
                done.set()

        screen._show = shown  # type: ignore[method-assign]
        app._display = painted  # type: ignore[method-assign]

        per_kind = len(next(iter(queries.values())))
        print(
            f"\nlast keystroke to painted results at {size[0]}x{size[1]}, {per_kind} per kind (ms)"
        )
        print(f"  {'kind':<22} {'median':>8} {'p95':>8} {'max':>8} {'answered':>8} {'cpu':>8}")
        for kind, texts in queries.items():
            timings, split, cpu = [], [], []
            for text in texts:
                box.value = text[:-1]
                box.cursor_position = len(box.value)
                await wait_for(lambda: all(w.is_finished for w in app.workers))
                await pilot.pause()
                marks.clear()
                done.clear()
                key = events.Key(text[-1], text[-1])
                key.set_sender(app)
                started, cpu_started = time.perf_counter(), time.process_time()
                app._driver.send_message(key)  # as Pilot does, without its idle waits
                # Waits idle (not polling), as the app would between keys.
                await asyncio.wait_for(done.wait(), 10.0)
                cpu.append((time.process_time() - cpu_started) * 1000)
                timings.append((marks["painted"] - started) * 1000)
                split.append((marks["shown"] - started) * 1000)
                assert table.row_count == expected[text], text
            print(
                f"  {kind:<22} {statistics.median(timings):>8.2f} "
                f"{percentile(timings, 0.95):>8.2f} {max(timings):>8.2f} "
                f"{statistics.median(split):>8.2f} {statistics.median(cpu):>8.2f}"
            )


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.db) if args.db else Path(scratch) / "bench.db"
        db = open_bench_db(path, args.encrypted)
        if count_rows(db, "person") == 0:
            print(f"seeding {args.persons:,} persons and {args.filings:,} filings into {path} …")
            seed(db, args.persons, args.filings, rng)
        with db.read() as session:
            rows = sample(session, args.queries, rng)
        queries = {kind.label: [kind.make(row) for row in rows] for kind in KINDS}
        expected = {q: len(search_persons(db, q)) for texts in queries.values() for q in texts}
        db.close()
        width, height = (int(n) for n in args.size.split("x"))
        asyncio.run(measure(path, queries, expected, (width, height)))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a database from search_bench.py --db (seeded if empty)")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--filings", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=200, help="random queries per kind")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--size", default="80x24", help="terminal size, e.g. 120x40")
    parser.add_argument(
        "--encrypted", action="store_true", help="an SQLCipher database (opened at sign-in)"
    )
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
