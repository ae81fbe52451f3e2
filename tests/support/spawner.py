"""Provincial servers forked from a process that has already imported them.

Starting ``python -m counter_app province serve`` costs one to two seconds of processor time,
nearly all of it imports (FastAPI, pydantic, SQLAlchemy, the wire models), and the sync tests
start some sixty servers. A spawner process (``python -m tests.support.spawner``, one per test
process, started on first use) imports the command once; each server is a fork of it that runs
the same ``counter-app`` entry point with the test's command line, environment and log file —
a process of its own on loopback, which a test can kill with SIGKILL as before.

The test process talks to the spawner over its standard input and output, one JSON line each
way: ``{"spawn": [argv], "env": {...}, "log": path}`` answers ``{"pid": n}``;
``{"poll": n}`` answers ``{"code": exit code or null}`` (``-signal`` for a killed one, as
``subprocess`` says it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from typing import IO, Any

_SPAWNER: subprocess.Popen[bytes] | None = None
_LOCK = threading.Lock()


def _spawner() -> subprocess.Popen[bytes]:
    global _SPAWNER
    if _SPAWNER is None or _SPAWNER.poll() is not None:
        _SPAWNER = subprocess.Popen(
            [sys.executable, "-m", "tests.support.spawner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("COUNTER_")},
        )
        atexit.register(_stop, _SPAWNER)
    return _SPAWNER


def _stop(spawner: subprocess.Popen[bytes]) -> None:
    # End of input ends its loop; it exits and is reaped (with the servers it reaped).
    with contextlib.suppress(OSError):
        assert spawner.stdin is not None
        spawner.stdin.close()
    try:
        spawner.wait(5)
    except subprocess.TimeoutExpired:
        spawner.kill()


def _ask(request: dict[str, Any]) -> dict[str, Any]:
    with _LOCK:
        spawner = _spawner()
        assert spawner.stdin is not None and spawner.stdout is not None
        spawner.stdin.write(json.dumps(request).encode() + b"\n")
        spawner.stdin.flush()
        answer = spawner.stdout.readline()
    if not answer:
        raise RuntimeError("the server spawner died")
    result: dict[str, Any] = json.loads(answer)
    return result


class Forked:
    """A server forked by the spawner, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, argv: list[str], env: dict[str, str], log: str) -> None:
        self.args = argv
        self.pid: int = _ask({"spawn": argv, "env": env, "log": log})["pid"]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code, or ``None`` while it runs."""
        if self.returncode is None:
            self.returncode = _ask({"poll": self.pid})["code"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` (nothing if it has exited)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal)


def _serve(commands: IO[bytes], answers: IO[bytes]) -> None:
    """The spawner's loop: fork on ``spawn``, reap on ``poll``."""
    codes: dict[int, int] = {}
    for line in commands:
        request = json.loads(line)
        if "spawn" in request:
            answer = {"pid": _fork(request["spawn"], request["env"], request["log"])}
        else:
            pid = request["poll"]
            if pid not in codes:
                with contextlib.suppress(ChildProcessError):
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        codes[pid] = os.waitstatus_to_exitcode(status)
            answer = {"code": codes.get(pid)}
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


def _fork(argv: list[str], env: dict[str, str], log: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The child: the server, as `python -m counter_app <argv>` would run it.
    code = 1
    try:
        output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["counter-app", *argv]
        from counter_app.launch import main

        main()
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    # What a server start would import, imported once here (the forks inherit it).
    import counter_app.cli
    import counter_app.launch
    import counter_app.province.server  # noqa: F401

    _serve(sys.stdin.buffer, sys.stdout.buffer)
