"""Cold start: process start to the sign-in screen painted, against a bare Textual app.

    python benchmarks/startup_bench.py [--runs 5] [--db PATH]

Each run starts a fresh Python process (headless Textual, 80×24) and times it from just before
the process is spawned until the process reports its first painted frame of the screen that
matters: for the bare app, one screen with one Chinese label; for the counter, the sign-in screen.
The counter runs as the ``counter-app`` script does (``counter_app.launch.main`` with
``--policy``; the database and today come from the environment, as an office would set them),
through the same app factory the tests use (``build_app``), on a real database file. The sign-in
screen is painted before the settings, the database and the rules are read: they open behind it.
The two alternate, ``--runs`` times each; the median of each and their ratio are printed (target
≤ 1.5), with the peak resident memory of the process until that frame (``VmHWM``, target ≤ 80
MiB). For information, a third kind of run times the same start until the database and the rules
are open behind the screen (a password typed ahead is checked from then on).

A last process signs in, opens the search screen and runs ten searches, then reports its
resident memory (``VmRSS``, target ≤ 120 MiB) and its peak (``VmHWM``, which includes argon2's
deliberate 64 MiB while the password is verified).

``python -X importtime benchmarks/startup_bench.py --child counter --db PATH`` shows which imports
the start pays for. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLERK, PASSWORD = "bench", "bench-password"
POLICY = "jiangsu"
TODAY = "2026-03-02"
SEARCHES = ["张", "zs", "li", "wang", "320", "11010", "陈", "zhao", "liu", "BA"]
MiB = 1024 * 1024


def _report(**figures: object) -> None:
    """One line for the parent, then leave at once (the exit is not part of the figure)."""
    # VmHWM, not ru_maxrss: the latter keeps the spawning parent's peak across fork and exec.
    peak = _status("VmHWM")
    line = " ".join(f"{k}={v}" for k, v in {**figures, "peak": peak}.items())
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    os._exit(0)


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _watch(app, is_target) -> None:  # type: ignore[no-untyped-def]
    """Report at the first frame rendered while ``is_target(app.screen)`` holds."""
    display = app._display

    def painted(screen, renderable) -> None:  # type: ignore[no-untyped-def]
        display(screen, renderable)
        if renderable is not None and is_target(app.screen):
            _report()

    app._display = painted


def child_bare() -> None:
    """A bare Textual app painting one Chinese label."""
    from textual.app import App
    from textual.widgets import Label

    class Bare(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Label("经办人登录")

    app = Bare()
    _watch(app, lambda screen: bool(screen.children))
    app.run(headless=True, size=(80, 24))


def _counter(db: str):  # type: ignore[no-untyped-def]
    from counter_app.ui.app import build_app

    return build_app(POLICY, db_path=db, today=TODAY)


def _command(db: str, report) -> None:  # type: ignore[no-untyped-def]
    """``counter-app --policy POLICY`` as the script runs it, headless at 80×24; ``report(app)``
    hooks the moment to report. Nothing of the app is imported before the script's ``main``:
    ``CounterApp.run`` is wrapped the moment its module is loaded."""
    import importlib.abc
    import importlib.util

    def headless(app_class) -> None:  # type: ignore[no-untyped-def]
        run = app_class.run

        def run_headless(app, **_: object) -> None:  # type: ignore[no-untyped-def]
            report(app)
            run(app, headless=True, size=(80, 24))

        app_class.run = run_headless

    class WrapRun(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
            if name != "counter_app.ui.app":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.loader is not None
            load = spec.loader.exec_module

            def exec_module(module) -> None:  # type: ignore[no-untyped-def]
                load(module)
                headless(module.CounterApp)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    os.environ["COUNTER_DB_PATH"] = db
    os.environ["COUNTER_TODAY"] = TODAY
    os.environ["COUNTER_CONFIG"] = db + ".no-config.toml"  # the user's settings file stays out
    sys.meta_path.insert(0, WrapRun())
    sys.argv = ["counter-app", "--policy", POLICY]
    from counter_app.launch import main

    main()


def child_counter(db: str) -> None:
    """The counter, until its sign-in screen is painted."""
    _command(db, lambda app: _watch(app, lambda screen: type(screen).__name__ == "SignInScreen"))


def child_ready(db: str) -> None:
    """The counter, until the database and the rules are open behind the sign-in screen."""

    def hook(app) -> None:  # type: ignore[no-untyped-def]
        started = app._started

        def reported() -> None:
            started()
            _report()

        app._started = reported

    _command(db, hook)


def child_session(db: str) -> None:
    """Sign in, open the search screen, run ten searches; the memory then."""
    import asyncio

    app = _counter(db)

    async def until(condition) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 120
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not answer in time")
            await asyncio.sleep(0.01)

    async def session() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: type(app.screen).__name__ == "SignInScreen")
            await pilot.press(*CLERK, "enter", *PASSWORD, "enter")
            await until(lambda: app.services is not None and app.services.signed is not None)
            await until(lambda: type(app.screen).__name__ == "DashboardScreen")
            await app.workers.wait_for_complete()
            await pilot.press("slash")
            await until(lambda: type(app.screen).__name__ == "SearchScreen")
            screen = app.screen
            for query in SEARCHES:
                screen.query_one("#query").value = query
                await pilot.pause()
                await app.workers.wait_for_complete()
            await pilot.pause()
            _report(rss=_status("VmRSS"), hwm=_status("VmHWM"))

    asyncio.run(session())


def prepare(path: Path) -> None:
    """A database with the benchmark clerk and some persons to find (search_bench's seeding)."""
    import random

    sys.path.insert(0, str(Path(__file__).parent))
    from search_bench import count_rows, seed

    from counter_app.storage.db import Database

    db = Database.open(path)
    if count_rows(db, "person") == 0:
        seed(db, 20_000, 6_000, random.Random(17))
    db.close()


def compile_package() -> None:
    """The counter's bytecode, as installing its wheel writes it (``pip`` compiles the modules)."""
    import compileall

    import counter_app

    compileall.compile_dir(Path(counter_app.__file__).parent, quiet=1)


def spawn(kind: str, db: Path, *extra: str) -> tuple[float, dict[str, int]]:
    """Run one child; the wall time until it reported, and its figures."""
    # Bytecode caches as an installation has them (pip compiles a wheel's modules): a
    # PYTHONDONTWRITEBYTECODE in the environment would have every run compile the counter anew.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *extra, __file__, "--child", kind, "--db", str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.wait()
    if not line:
        raise SystemExit(f"the {kind} process reported nothing (exit {process.returncode})")
    figures = {k: int(v) for k, v in (item.split("=") for item in line.split())}
    return elapsed, figures


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(args.db) if args.db else Path(scratch) / "startup.db"
        prepare(db)
        compile_package()
        spawn("counter", db)  # warm the page cache once
        spawn("bare", db)
        times: dict[str, list[float]] = {"bare": [], "counter": []}
        peaks: dict[str, list[int]] = {"bare": [], "counter": []}
        for _ in range(args.runs):
            for kind in ("bare", "counter"):
                elapsed, figures = spawn(kind, db)
                times[kind].append(elapsed)
                peaks[kind].append(figures["peak"])
        opened = [spawn("ready", db) for _ in range(args.runs)]
        ready = [elapsed for elapsed, _ in opened]
        _, session = spawn("session", db)
    print(f"process start to painted screen, median of {args.runs} (alternated)")
    for kind in ("bare", "counter"):
        runs = " ".join(f"{t:.3f}" for t in times[kind])
        print(
            f"  {kind:<8} {statistics.median(times[kind]):6.3f} s   peak RSS "
            f"{max(peaks[kind]) / MiB:6.1f} MiB   ({runs})"
        )
    ratio = statistics.median(times["counter"]) / statistics.median(times["bare"])
    print(f"  ratio    {ratio:6.2f}   (target ≤ 1.5)")
    print(
        f"database and rules open behind the sign-in screen: {statistics.median(ready):.3f} s, "
        f"peak RSS {max(figures['peak'] for _, figures in opened) / MiB:.1f} MiB "
        f"({' '.join(f'{t:.3f}' for t in ready)})"
    )
    print(
        f"after sign-in and {len(SEARCHES)} searches: RSS {session['rss'] / MiB:.1f} MiB "
        f"(target ≤ 120), peak {session['hwm'] / MiB:.1f} MiB (argon2 verification included)"
    )
    counter_peak = max(peaks["counter"]) / MiB
    ok = ratio <= 1.5 and counter_peak <= 80 and session["rss"] / MiB <= 120
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", help="the database to start on (prepared if empty)")
    parser.add_argument(
        "--child", choices=("bare", "counter", "ready", "session"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child == "bare":
        child_bare()
    elif args.child == "counter":
        child_counter(args.db)
    elif args.child == "ready":
        child_ready(args.db)
    elif args.child == "session":
        child_session(args.db)
    else:
        sys.exit(run(args))


if __name__ == "__main__":
    main()
