"""End-of-day sync throughput: events per second pushed to the reference provincial server.

    python benchmarks/sync_bench.py [--events 10000] [--offices 50] [--per-office 1000]
                                    [--workers 2] [--pg-url URL] [--batch 500]

1. One office sends ``--events`` outbox events (written by the real ``emit``) with the real
   client (``run_sync``: push in batches, pull, reconcile) to the server on SQLite and on
   PostgreSQL; prints events/s of the whole run, and the CPU time per event of the client and
   of the server processes (steadier than events/s on a shared machine).
2. The store alone, in this process: the same kind of events, in batches of ``--batch``, through
   ``ProvinceStore.apply_batch`` (strict wire validation, the checks, the writes: what the server
   does after reading a request), on SQLite and on PostgreSQL; then the very rows it stored
   (events, filings, feed items) written again with plain multi-row ``INSERT``s, one transaction
   per batch, into the same tables of a fresh database; prints both rates and their ratio. On
   PostgreSQL the same rows are also written with ``COPY`` (how the store writes them; psycopg
   parses every long multi-row ``INSERT`` on the client), a second, stricter ratio.
3. ``--offices`` offices, each with its own office database and ``--per-office`` events, sync at
   the same moment (one thread each) to the PostgreSQL-backed server; prints the overall events/s
   and the slowest office's time.

The server runs as a real process on loopback (``counter-app province serve``, ``--workers``
uvicorn processes for PostgreSQL). PostgreSQL is ``--pg-url`` or a throwaway cluster made with
initdb/pg_ctl (fsync on). Each run checks that the server holds every event exactly once.
Not a test.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from counter_app.province.store import ProvinceStore
from counter_app.province.tables import events, feed, filings
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.sync import outbox
from counter_app.sync.client import ClientConfig, run_sync
from tests.support.postgres import Cluster, start_cluster
from tests.support.province import (
    ServerProcess,
    add_events,
    make_office,
    server_ids,
)

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")
CHUNK = 2000


def _office(folder: Path, code: str, events: int) -> Database:
    db, signed = make_office(folder / f"office-{code}.db", code=code)
    for start in range(1, events + 1, CHUNK):
        add_events(db, signed, min(CHUNK, events - start + 1), start=start)
    return db


def _config(server: ServerProcess, token: str, batch: int) -> ClientConfig:
    return ClientConfig(url=server.base_url, token=token, batch_size=batch, timeout=120.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children now (Linux ``/proc``; 0 elsewhere):
    the server's uvicorn workers are its children."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu(cluster: Cluster | None) -> float:
    """CPU seconds of the throwaway PostgreSQL cluster's processes now (0 for ``--pg-url``)."""
    if cluster is None or cluster.data is None:
        return 0.0
    try:
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return cpu_seconds(pid)


def one_office(
    url: str, folder: Path, events: int, batch: int, *extra: str, cluster: Cluster | None = None
) -> tuple[float, float, float, float]:
    """Events/s of one office sending ``events``, and the CPU microseconds per event of the
    client (this process), of the server processes and of PostgreSQL's (``cluster``)."""
    store = ProvinceStore(url)
    token = store.add_office("340202", "镜湖区", "340200")
    store.close()
    db = _office(folder, "340202", events)
    server = ServerProcess(url, folder, *extra).start()
    assert server.process is not None
    try:
        server_cpu, client_cpu = cpu_seconds(server.process.pid), time.process_time()
        pg_cpu = postgres_cpu(cluster)
        started = time.perf_counter()
        report = run_sync(db, ENGINE, _config(server, token, batch), TODAY)
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = cpu_seconds(server.process.pid) - server_cpu
        pg_cpu = postgres_cpu(cluster) - pg_cpu
    except Exception:
        print(server.log()[-4000:], file=sys.stderr)
        raise
    finally:
        server.kill()
    assert report.tally.accepted == events and report.reconciled
    assert len(set(server_ids(url, "340202"))) == events
    return (events / elapsed, *(cpu * 1e6 / events for cpu in (client_cpu, server_cpu, pg_cpu)))


def store_vs_raw(
    url: str, raw_url: str, folder: Path, count: int, batch: int, copy_url: str = ""
) -> tuple[float, float, float | None]:
    """Events/s of the store applying ``count`` events, of plain multi-row INSERTs of the rows
    it stored into a fresh database's same tables, and (``copy_url``, PostgreSQL) of ``COPY``
    of those rows into another fresh database, the store's own way of writing them."""
    db = _office(folder, "340202", count)
    wire_events = outbox.pending_batch(db, outbox.office_of(db), count)
    db.close()
    store = ProvinceStore(url)
    store.add_office("340202", "镜湖区", "340200")
    office = store.office("340202")
    assert office is not None
    # As the server process does after start-up (``server._settled``): what lives for the whole
    # run is set aside from the garbage collector (here also the events to apply, all in memory).
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    for start in range(0, count, batch):
        answers = store.apply_batch(office, wire_events[start : start + batch], f"bench-{start}")
        assert all(a["status"] == "accepted" for a in answers), answers[:3]
    store_rate = count / (time.perf_counter() - started)
    # Read and written at the driver level (the values exactly as stored), each batch's rows in
    # one multi-row INSERT per table: the floor of writing these rows through this driver.
    tables = [t.name for t in (events, filings, feed)]
    stored: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with store.engine.connect() as conn:
        for name in tables:
            result = conn.exec_driver_sql(f"SELECT * FROM {name}")
            stored[name] = (list(result.keys()), [tuple(r) for r in result])
    store.close()
    raw = ProvinceStore(raw_url)
    mark = "%s" if raw.postgres else "?"
    started = time.perf_counter()
    for start in range(0, count, batch):
        with raw.engine.begin() as conn:
            for name in tables:
                columns, rows = stored[name]
                rows = rows[start : start + batch]
                if not rows:
                    continue
                one = "(" + ", ".join([mark] * len(columns)) + ")"
                sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES " + ", ".join(
                    [one] * len(rows)
                )
                conn.exec_driver_sql(sql, tuple(v for row in rows for v in row))
    raw_rate = count / (time.perf_counter() - started)
    raw.close()
    copy_rate = None
    if copy_url:
        copied = ProvinceStore(copy_url)
        started = time.perf_counter()
        for start in range(0, count, batch):
            with copied.engine.begin() as conn:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for name in tables:
                    columns, rows = stored[name]
                    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows[start : start + batch]:
                            copy.write_row(row)
        copy_rate = count / (time.perf_counter() - started)
        copied.close()
    gc.unfreeze()
    return store_rate, raw_rate, copy_rate


def many_offices(
    url: str,
    folder: Path,
    offices: int,
    per_office: int,
    batch: int,
    *extra: str,
    cluster: Cluster | None = None,
) -> tuple[float, float, float, float, float]:
    """Overall events/s, the slowest office's seconds, all offices syncing at once, and the CPU
    microseconds per event of the clients (this process's threads), of the server processes
    and of PostgreSQL's (``cluster``, when this run started it)."""
    store = ProvinceStore(url)
    codes = [f"34{i:04d}" for i in range(1, offices + 1)]
    tokens = {code: store.add_office(code, f"经办机构{code}", "340200") for code in codes}
    store.close()
    dbs = {code: _office(folder, code, per_office) for code in codes}
    server = ServerProcess(url, folder, *extra).start()
    times: dict[str, float] = {}
    errors: list[BaseException] = []
    gate = threading.Barrier(offices + 1)

    def sync(code: str) -> None:
        gate.wait()
        started = time.perf_counter()
        try:
            report = run_sync(dbs[code], ENGINE, _config(server, tokens[code], batch), TODAY)
            assert report.tally.accepted == per_office and report.reconciled
        except BaseException as exc:  # reported below; the other offices go on
            errors.append(exc)
        times[code] = time.perf_counter() - started

    threads = [threading.Thread(target=sync, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    assert server.process is not None
    server_cpu, pg_cpu = cpu_seconds(server.process.pid), postgres_cpu(cluster)
    gate.wait()
    client_cpu, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = cpu_seconds(server.process.pid) - server_cpu
    pg_cpu = postgres_cpu(cluster) - pg_cpu
    server.kill()
    if errors:
        print(server.log()[-4000:], file=sys.stderr)
        raise errors[0]
    for code in codes:
        assert len(set(server_ids(url, code))) == per_office
    total = offices * per_office
    per_event = [cpu * 1e6 / total for cpu in (client_cpu, server_cpu, pg_cpu)]
    return (total / elapsed, max(times.values()), *per_event)


def _sync(rate: float, client_us: float, server_us: float, pg_us: float) -> str:
    return (
        f"{rate:8.0f} events/s (CPU per event: client {client_us:.0f} µs, "
        f"server {server_us:.0f} µs" + (f", PostgreSQL {pg_us:.0f} µs)" if pg_us else ")")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--offices", type=int, default=50)
    parser.add_argument("--per-office", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="server processes on PostgreSQL")
    parser.add_argument("--pg-url", help="SQLAlchemy URL of a PostgreSQL server to use")
    parser.add_argument(
        "--cases",
        default="sync,store,many",
        help="which parts to run: sync (one office end to end), store (store alone against "
        "plain INSERTs), many (offices at once)",
    )
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    cluster = Cluster(args.pg_url) if args.pg_url else start_cluster(fsync=True)
    workers = ("--workers", str(args.workers))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            if "sync" in cases:
                (folder / "a").mkdir()
                figures = one_office(
                    f"sqlite:///{folder / 'p.db'}", folder / "a", args.events, args.batch
                )
                print(f"one office, {args.events} events, SQLite server:      " + _sync(*figures))
                (folder / "b").mkdir()
                pg = cluster.new_database()
                figures = one_office(
                    pg, folder / "b", args.events, args.batch, *workers, cluster=cluster
                )
                print(f"one office, {args.events} events, PostgreSQL server:  " + _sync(*figures))
            if "store" in cases:
                for name, url, raw_url, copy_url in (
                    ("SQLite", f"sqlite:///{folder / 's.db'}", f"sqlite:///{folder / 'r.db'}", ""),
                    (
                        "PostgreSQL",
                        cluster.new_database(),
                        cluster.new_database(),
                        cluster.new_database(),
                    ),
                ):
                    (folder / f"store-{name}").mkdir()
                    rate, raw, copied = store_vs_raw(
                        url, raw_url, folder / f"store-{name}", args.events, args.batch, copy_url
                    )
                    print(
                        f"store alone, {args.events} events, {name}: {rate:8.0f} events/s; "
                        f"plain multi-row INSERTs of the same rows {raw:8.0f} rows/s; "
                        f"ratio {raw / rate:.1f}"
                        + (
                            f"; COPY of them {copied:8.0f} rows/s, ratio {copied / rate:.1f}"
                            if copied
                            else ""
                        )
                    )
            if "many" in cases:
                (folder / "c").mkdir()
                pg_many = cluster.new_database()
                total = args.offices * args.per_office
                rate, slowest, client_us, server_us, pg_us = many_offices(
                    pg_many,
                    folder / "c",
                    args.offices,
                    args.per_office,
                    args.batch,
                    *workers,
                    cluster=cluster,
                )
                print(
                    f"{args.offices} offices at once, {total} events, PostgreSQL server: "
                    f"{rate:8.0f} events/s (slowest office {slowest:.1f} s; CPU per event: "
                    f"clients {client_us:.0f} µs, server {server_us:.0f} µs, "
                    f"PostgreSQL {pg_us:.0f} µs)"
                )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
