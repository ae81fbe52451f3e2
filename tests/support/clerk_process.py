"""A helper process of the concurrency tests, driven line by line over its stdout.

``Clerk`` runs one of the scripts in ``tests/support`` (``commit_loop.py`` by default,
``race_clerk.py`` for the workflow races) and reads what it prints on a thread, so a test can wait
for the next fact (``expect``) or kill it with SIGKILL mid-commit.
"""

from __future__ import annotations

import contextlib
import io
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

COMMIT_LOOP = Path(__file__).resolve().parent / "commit_loop.py"
TIMEOUT_S = 20.0


def run_here(main: Callable[[list[str]], None], *args: str) -> list[str]:
    """A helper script's command run in the test process; the lines it printed.

    For the set-ups, which need no process of their own: no Python start and import of the app
    per test, and the clerks they add get the test's cheap password hashes (tests/conftest.py),
    which the clerk processes then verify at that cost too (a hash carries its parameters).
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(list(args))
    return out.getvalue().splitlines()


class Clerk:
    """A running ``commit_loop.py``, its stdout read line by line on a thread."""

    def __init__(
        self, *args: str, script: Path = COMMIT_LOOP, env: dict[str, str] | None = None
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.append(self.process.stderr.read())

    def expect(self, prefix: str, timeout: float = TIMEOUT_S) -> str:
        """Wait for the next line starting with ``prefix`` (other lines are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                self.kill()
                pytest.fail(f"no {prefix!r} within {timeout}s; saw {self.seen[-5:]}")
            if line is None:
                pytest.fail(f"exited before {prefix!r}: {self.finish()}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def finish(self, timeout: float = TIMEOUT_S) -> str:
        """Wait for the exit; returns stderr. Every stdout line ends up in ``seen``."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running after {timeout}s")
        for reader in self._readers:
            reader.join(timeout)
        while not self.lines.empty() and (line := self.lines.get_nowait()) is not None:
            self.seen.append(line)
        return "".join(self._stderr)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(TIMEOUT_S)

    def committed(self) -> list[str]:
        return [line.split()[1] for line in self.seen if line.startswith("committed ")]
