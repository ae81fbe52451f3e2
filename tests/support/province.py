"""Helpers of the sync tests: the provincial server as a real process, an office with events.

``ServerProcess`` runs ``python -m counter_app province serve`` on a free loopback port (with
``COUNTER_PROVINCE_FAULTS`` when a test wants a failure) and can be killed and started again on
the same port and database. ``make_office`` and ``add_events`` build an office database whose
outbox holds filing events written by the real ``emit``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from counter_app.province.store import ProvinceStore
from counter_app.province.tables import events
from counter_app.storage.clerks import SignedIn, add_clerk, ensure_office, sign_in
from counter_app.storage.db import Database
from counter_app.storage.models import OutboxEvent
from counter_app.storage.records import emit
from tests.support.postgres import free_port
from tests.support.spawner import Forked

PASSWORD = "password123"
START_LIMIT_S = 30.0
SERVE = (sys.executable, "-m", "counter_app", "province", "serve")
#: Servers are forks of a process that imported them already (tests/support/spawner.py): set
#: by the tests (tests/conftest.py); the benchmarks start each as a command of its own.
forking = False


class ServerProcess:
    """``counter-app province serve`` in a subprocess."""

    def __init__(self, url: str, log_dir: Path, *extra: str) -> None:
        self.url = url
        self.extra = extra
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | Forked | None = None
        self.starts = 0
        #: Whether a start of this server ever held the port (then restarts keep it).
        self.listened = False

    @property
    def base_url(self) -> str:
        """Where clients reach it (``https`` when started with ``--tls-cert``)."""
        scheme = "https" if "--tls-cert" in self.extra else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, faults: str = "") -> ServerProcess:
        """Start (again) and wait until it answers.

        The port was free when chosen, but another test's server may take it before this one
        binds (parallel workers): then the answer comes from a stranger, so ours counts only once
        this very process listens on the port; a first start that loses the port tries another
        (a restart keeps its port: clients hold the address).
        """
        for _ in range(5):
            if self._start_once(faults):
                return self
            if self.starts > 1 and self.listened:
                break
            self.port = free_port()
        raise RuntimeError(f"server did not start: {self.log()}")

    def _start_once(self, faults: str) -> bool:
        self.starts += 1
        env = {**os.environ, "COUNTER_PROVINCE_FAULTS": faults}
        command = [*SERVE, "--db", self.url, "--port", str(self.port), *self.extra]
        log = self.log_dir / f"server-{self.starts}.log"
        if forking:
            self.process = Forked(command[3:], env, str(log))
        else:
            self.process = subprocess.Popen(
                command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "address already in use" in self.log().lower():
                    return False
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                httpx.get(f"{self.base_url}/v1/hello", timeout=1, verify=False)
                if _listens(self.process.pid, self.port):
                    self.listened = True
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        return False

    def log(self) -> str:
        """The last start's output."""
        return (self.log_dir / f"server-{self.starts}.log").read_text(errors="replace")

    def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait for a server told to die by a fault; its exit code."""
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a power cut of the server would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the loopback socket listening on ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(fields[9])
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    return True
    return False


def make_office(
    path: Path, code: str = "340202", pool: str = "340200", policy: str = "wuhu"
) -> tuple[Database, SignedIn]:
    """An office database with one clerk signed in."""
    db = Database.open(path)
    ensure_office(db, code, f"测试经办机构{code}", policy, pool)
    add_clerk(db, code, f"clerk{code}", "测试经办人", PASSWORD)
    signed = sign_in(db, f"clerk{code}", PASSWORD)
    assert signed is not None
    return db, signed


def register(store: ProvinceStore, db: Database, folder: Path, url: str = "") -> str:
    """Register the office as an operator and a clerk would: the store issues the registration
    file, the office imports it and makes its key pair, the store takes the public key. The
    office's token."""
    import json

    from counter_app.province.keys import accept_key, registration, signing_key_path, store_key
    from counter_app.sync import outbox
    from counter_app.sync.registration import key_dir
    from counter_app.sync.registration import register as import_registration

    office = outbox.office_of(db)
    token = store.add_office(office.code, office.name, office.pool_code)
    key = store_key(signing_key_path(store.url), create=True)
    assert key is not None
    file = folder / f"registration-{office.code}.json"
    file.write_text(json.dumps(registration(store, office.code, token, key, url)), "utf-8")
    _, change = import_registration(key_dir(db.path), file, office.code)
    accept_key(store, change.announcement)
    return token


def filing_payload(code: str, index: int, **extra: Any) -> dict[str, Any]:
    """A new filing's event payload with a unique number and 身份证号-shaped key."""
    return {
        "action": "new",
        "number": f"BA{code}20261123{index:04d}",
        "person": {"name": "测试", "id_number": f"{code}19{index:010d}"},
        "category": "long_term_resident",
        "scope": "cross_province",
        "insurance": "employee",
        "destination": "460100",
        "basis": "materials",
        "valid_from": "2026-11-23",
        "valid_until": None,
        "status": "active",
        "version": 1,
        "supersedes": [],
        **extra,
    }


def add_events(db: Database, signed: SignedIn, count: int, start: int = 1) -> list[str]:
    """``count`` filing events in one transaction; their ids."""
    with db.write() as session:
        return [
            emit(
                session,
                signed.office_id,
                signed.clerk_id,
                "filing.new",
                filing_payload(signed.office_code, i),
            )
            for i in range(start, start + count)
        ]


def local_state(db: Database) -> tuple[set[str], set[str]]:
    """The office's event ids: all, and those marked sent."""
    with db.read() as session:
        rows = session.exec(select(OutboxEvent.id, OutboxEvent.sent_at)).all()  # type: ignore[call-overload]
    return {r[0] for r in rows}, {r[0] for r in rows if r[1] is not None}


def server_ids(url: str, office: str) -> list[str]:
    """The event ids the store holds for an office (a list: a repeat would show)."""
    store = ProvinceStore(url)
    try:
        with store.engine.connect() as conn:
            return [
                r[0] for r in conn.execute(select(events.c.id).where(events.c.office == office))
            ]
    finally:
        store.close()


def assert_exactly_once(db: Database, url: str, office: str, expected: int) -> None:
    """Both sides hold every event exactly once."""
    ids, sent = local_state(db)
    held = server_ids(url, office)
    assert len(ids) == expected
    assert sent == ids, f"{len(ids - sent)} events not marked sent"
    assert len(held) == len(set(held)) == expected
    assert set(held) == ids


class CuttingProxy:
    """A TCP proxy on loopback that drops the connection in the middle of chosen answers.

    It forwards bytes both ways; for the ``cut``-th push (``POST /v1/events``, counted over all
    connections) it passes on only the first bytes of the server's answer and then closes both
    sides: the server has committed, the client never hears the answer.
    """

    def __init__(self, target_port: int, cut: int) -> None:
        import socket
        import threading

        self.target_port, self.cut = target_port, cut
        self.pushes = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        """Where the client is pointed instead of the server."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            pending: list[bool] = []  # per request in flight on this connection: cut its answer?
            threading.Thread(target=self._up, args=(client, upstream, pending), daemon=True).start()
            threading.Thread(
                target=self._down, args=(client, upstream, pending), daemon=True
            ).start()

    def _up(self, client: Any, upstream: Any, pending: list[bool]) -> None:
        try:
            while data := client.recv(65536):
                if data.startswith(b"POST /v1/events"):
                    with self.lock:
                        self.pushes += 1
                        pending.append(self.pushes == self.cut)
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _down(self, client: Any, upstream: Any, pending: list[bool]) -> None:
        try:
            while data := upstream.recv(65536):
                if pending and pending[0]:
                    client.sendall(data[:20])  # the status line, part of it: then silence
                    break
                if pending:
                    pending.pop(0)
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        """Stop accepting."""
        self.listener.close()
