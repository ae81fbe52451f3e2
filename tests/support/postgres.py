"""A throwaway PostgreSQL cluster for the sync tests and the benchmark.

``COUNTER_TEST_PG_URL`` (a SQLAlchemy URL of a server where we may create databases) wins;
otherwise a cluster is made with initdb/pg_ctl in a temporary folder on a free loopback port, as
the ``postgres`` user when we are root (initdb refuses root), and stopped afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class Cluster:
    """A running cluster (or an external server) and how to stop it."""

    url: str
    data: Path | None = None
    bindir: Path | None = None
    prefix: tuple[str, ...] = ()

    def new_database(self) -> str:
        """A fresh, empty database on the cluster; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        """Remove a database made by ``new_database``."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop a cluster we started (an external server is left alone)."""
        if self.data is None or self.bindir is None:
            return
        pg_ctl = str(self.bindir / "pg_ctl")
        subprocess.run(
            [*self.prefix, pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.data.parent, ignore_errors=True)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def start_cluster(*, fsync: bool = False) -> Cluster:
    """``COUNTER_TEST_PG_URL``, or a new cluster; raises ``RuntimeError`` if neither can be had."""
    external = os.environ.get("COUNTER_TEST_PG_URL")
    if external:
        return Cluster(external)
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL (initdb, pg_ctl) is not installed")
    base = Path(tempfile.mkdtemp(prefix="counter-pg-"))
    data = base / "data"
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        prefix = ("runuser", "-u", "postgres", "--")
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=300"
        f" -c fsync={'on' if fsync else 'off'}"
    )
    initdb, pg_ctl = str(bindir / "initdb"), str(bindir / "pg_ctl")
    steps = [
        [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
        [
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        ],
    ]
    for step in steps:
        done = subprocess.run([*prefix, *step], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError(f"{Path(step[0]).name} failed: {done.stderr or done.stdout}")
    return Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data, bindir, prefix)


_STATE, _LOCK = "postgres-cluster.json", "postgres-cluster.lock"


def acquire_shared(root: Path) -> Cluster:
    """The cluster shared by every test process of one run (the xdist workers share ``root``).

    The first process that needs PostgreSQL starts it, under a file lock; the others attach to
    it. Each ``acquire_shared`` is paired with ``release_shared``; the last one out stops it (a
    later process then starts a new one).
    """
    import fcntl
    import json

    with (root / _LOCK).open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_file = root / _STATE
        state = json.loads(state_file.read_text()) if state_file.exists() else None
        if state is None:
            cluster = start_cluster()
            state = {
                "url": cluster.url,
                "data": str(cluster.data) if cluster.data else None,
                "bindir": str(cluster.bindir) if cluster.bindir else None,
                "prefix": list(cluster.prefix),
                "users": 0,
            }
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    return Cluster(
        state["url"],
        Path(state["data"]) if state["data"] else None,
        Path(state["bindir"]) if state["bindir"] else None,
        tuple(state["prefix"]),
    )


def release_shared(root: Path, cluster: Cluster) -> None:
    """One user fewer; the last one stops the cluster."""
    import fcntl
    import json

    with (root / _LOCK).open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state_file = root / _STATE
        state = json.loads(state_file.read_text()) if state_file.exists() else {"users": 1}
        state["users"] -= 1
        if state["users"] > 0:
            state_file.write_text(json.dumps(state))
            return
        state_file.unlink(missing_ok=True)
    cluster.stop()
