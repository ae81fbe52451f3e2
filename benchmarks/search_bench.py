"""Person search at the storage layer on a large office database: latency per kind of query.

    python benchmarks/search_bench.py [--persons 1000000 --filings 300000 --db PATH]

Seeds a database (through ``Database.open``, so with the app's migrations and settings) with
persons that have valid 身份证号 and real pinyin, and with filings numbered as the app numbers
them; then times ``counter_app.storage.persons.search_in`` inside one read session for random
queries of each kind and prints the median and p95 in milliseconds. It also prints SQLite's
``EXPLAIN QUERY PLAN`` for every statement each kind runs, and fails if any of them scans a table.

With ``--db PATH`` the database is kept; an existing one with enough rows is reused (no
re-seeding), so the timing can be repeated. Not a test: it takes about a minute at full size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session

from counter_app.domain.idnumber import check_id_number
from counter_app.pinyin import pinyin_keys
from counter_app.regions_data import load_region_table
from counter_app.storage.clerks import add_clerk, ensure_office
from counter_app.storage.db import Database
from counter_app.storage.persons import SearchKind, classify, search_in

OFFICE = "320102"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉志海燕秀红建国文辉鹏飞宇浩晨晓雪琳慧颖婷"
    "博涵子轩梓萱欣怡佳俊峰波斌宁鑫凯丹萍荣德林春梅云龙成亮新民东海凤兵武彬利清宏琴雷睿思远航"
)
CATEGORIES = ("retired_resettled", "long_term_resident", "posted_worker", "referral")
DESTINATIONS = (("440300", "广东省深圳市"), ("460000", "海南省"), ("530100", "云南省昆明市"))
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHUNK = 50_000
STAMP = "2026-03-02 00:00:00.000000"


def check_digit(first17: str) -> str:
    """GB 11643 MOD 11-2 (the seeding loop cannot afford python-stdnum's per-call checks)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def name_pool(rng: random.Random, size: int) -> list[tuple[str, str, str]]:
    """Distinct names with their full pinyin and initials, computed once each with pypinyin."""
    names: set[str] = set()
    while len(names) < size:
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        names.add(rng.choice(SURNAMES) + given)
    return [(name, *pinyin_keys(name)) for name in sorted(names)]


def counties() -> list[str]:
    regions = load_region_table()
    cities = ("320100", "340200", "430100", "110000", "440300", "510100", "330100", "370200")
    found = [code for city in cities for code in regions.counties_of(city) if code[4:] != "00"]
    return found or [OFFICE]


def person_rows(rng: random.Random, count: int) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of ``person`` rows with unique, valid 身份证号."""
    pool = name_pool(rng, 20_000)
    codes = counties()
    seen: set[str] = set()
    start = date(1940, 1, 1).toordinal()
    span = date(2005, 12, 31).toordinal() - start
    chunk: list[tuple[Any, ...]] = []
    while len(seen) < count:
        birth = date.fromordinal(start + rng.randrange(span))
        first17 = f"{rng.choice(codes)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        name, full, initials = rng.choice(pool)
        sex = "男" if int(first17[16]) % 2 else "女"
        chunk.append(
            (
                first17 + check_digit(first17),
                name,
                full,
                initials,
                sex,
                birth.isoformat(),
                f"13{rng.randrange(10**9):09d}",
                "人民路1号",
                "employee" if rng.random() < 0.6 else "resident",
                0,
                0,
                "",
                1,
                STAMP,
                STAMP,
            )
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def filing_rows(
    rng: random.Random, count: int, persons: int, office_id: int, clerk_id: int
) -> Iterator[tuple[list[tuple[Any, ...]], dict[date, int]]]:
    """Chunks of ``filing`` rows numbered BA + office + day + sequence, and each day's last."""
    day = date(2023, 1, 1)
    per_day = 300
    issued = 0
    chunk: list[tuple[Any, ...]] = []
    last: dict[date, int] = {}
    while issued < count:
        for seq in range(1, min(per_day, count - issued) + 1):
            category = rng.choice(CATEGORIES)
            code, place = rng.choice(DESTINATIONS)
            until = None if category != "referral" else (day + timedelta(days=180)).isoformat()
            chunk.append(
                (
                    f"BA{OFFICE}{day:%Y%m%d}{seq:04d}",
                    rng.randint(1, persons),
                    office_id,
                    "jiangsu",
                    category,
                    "cross_province",
                    "employee",
                    code,
                    place,
                    "materials",
                    0,
                    0,
                    day.isoformat(),
                    until,
                    "active",
                    1,
                    clerk_id,
                    STAMP,
                    STAMP,
                )
            )
            last[day] = seq
            issued += 1
        day += timedelta(days=1)
        if len(chunk) >= CHUNK or issued == count:
            yield chunk, last
            chunk, last = [], {}


PERSON_INSERT = (
    "INSERT INTO person (id_number, name, name_pinyin, name_initials, sex, birth_date, phone, "
    "address, insurance, has_employer, retired, employer, version, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FILING_INSERT = (
    "INSERT INTO filing (number, person_id, office_id, policy, category, scope, insurance, "
    "destination_code, destination_name, basis, by_agent, multi_place, valid_from, valid_until, "
    "status, version, created_by, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def count_rows(db: Database, table: str) -> int:
    with db.read() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def seed(db: Database, persons: int, filings: int, rng: random.Random) -> float:
    """Fill an empty database; returns the seconds it took."""
    started = time.perf_counter()
    ensure_office(db, OFFICE, "玄武区医疗保障服务中心（基准）", "jiangsu", "320100")
    clerk_id = add_clerk(db, OFFICE, "bench", "基准测试", "bench-password")
    with db.read() as session:
        office_id = session.execute(
            text("SELECT id FROM office WHERE code = :c"), {"c": OFFICE}
        ).scalar_one()
    with db.write() as session:  # one transaction: one fsync, and all or nothing
        connection = session.connection()
        connection.exec_driver_sql("PRAGMA cache_size = -1000000")  # 1 GB for building indexes
        for chunk in person_rows(rng, persons):
            connection.exec_driver_sql(PERSON_INSERT, chunk)
        for chunk, last in filing_rows(rng, filings, persons, office_id, clerk_id):
            connection.exec_driver_sql(FILING_INSERT, chunk)
            connection.exec_driver_sql(
                "INSERT INTO number_sequence (office_id, kind, day, last) VALUES (?, ?, ?, ?)",
                [(office_id, "filing", day.isoformat(), n) for day, n in last.items()],
            )
    return time.perf_counter() - started


@dataclass
class Kind:
    """One kind of search: its label, the kind ``classify`` must give, and its queries."""

    label: str
    expected: SearchKind
    make: Callable[[tuple[str, str, str, str, str]], str]


KINDS = (
    Kind("id_number exact", SearchKind.ID_EXACT, lambda row: row[0]),
    Kind("id_number prefix (10)", SearchKind.ID_PREFIX, lambda row: row[0][:10]),
    Kind("name prefix (2 chars)", SearchKind.NAME, lambda row: row[1][:2]),
    Kind("pinyin initials", SearchKind.INITIALS, lambda row: row[3]),
    Kind("pinyin full", SearchKind.INITIALS, lambda row: row[2]),  # classify: initials, then full
    Kind("filing number", SearchKind.FILING_NUMBER, lambda row: row[4]),
)


def sample(
    session: Session, count: int, rng: random.Random
) -> list[tuple[str, str, str, str, str]]:
    """Random (id_number, name, pinyin, initials, filing number) taken from the database."""
    persons = session.execute(text("SELECT max(id) FROM person")).scalar_one()
    filings = session.execute(text("SELECT max(id) FROM filing")).scalar_one()
    rows = []
    for _ in range(count):
        person = session.execute(
            text("SELECT id_number, name, name_pinyin, name_initials FROM person WHERE id = :i"),
            {"i": rng.randint(1, persons)},
        ).one()
        number = session.execute(
            text("SELECT number FROM filing WHERE id = :i"), {"i": rng.randint(1, filings)}
        ).scalar_one()
        rows.append((*person, number))
    return rows


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(db.reader, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.reader, "before_cursor_execute", capture)


def explain(db: Database, session: Session, kind: Kind, query: str) -> list[str]:
    """Print the plan of every statement the search runs; return the lines that scan a table."""
    with captured(db) as statements:
        search_in(session, query)
    scans = []
    connection = session.connection()
    for statement, parameters in statements:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        for row in plan:
            detail = row[-1]
            print(f"  {kind.label:<22} {detail}")
            if detail.startswith("SCAN "):  # SEARCH = index range; SCAN = every row
                scans.append(f"{kind.label}: {detail}")
    return scans


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


#: The benchmark's own key slot when it runs on an encrypted (SQLCipher) database.
BENCH_CLERK, BENCH_PASSWORD = "bench", "bench-password"


def open_bench_db(path: Path, encrypted: bool) -> Database:
    """The benchmark database: plain, or encrypted as a real office's (``--encrypted``), opened
    through a key slot the way sign-in opens it."""
    from counter_app.storage.encryption import create_encrypted, file_state, unlock_for_sign_in

    if not encrypted:
        return Database.open(path)
    if file_state(path) == "new":
        return create_encrypted(path, BENCH_CLERK, BENCH_PASSWORD)[0]
    db = Database.open(path)
    if not unlock_for_sign_in(db, BENCH_CLERK, BENCH_PASSWORD):
        sys.exit(f"{path} is not an encrypted database of this benchmark")
    return db


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.db) if args.db else Path(scratch) / "bench.db"
        db = open_bench_db(path, args.encrypted)
        have = count_rows(db, "person"), count_rows(db, "filing")
        if have == (0, 0):
            print(f"seeding {args.persons:,} persons and {args.filings:,} filings into {path} …")
            seconds = seed(db, args.persons, args.filings, rng)
            print(f"seeded in {seconds:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
        elif have[0] < args.persons or have[1] < args.filings:
            sys.exit(f"{path} holds {have[0]:,} persons and {have[1]:,} filings: use a new --db")
        else:
            print(f"reusing {path}: {have[0]:,} persons, {have[1]:,} filings")

        failures: list[str] = []
        with db.read() as session:
            rows = sample(session, args.queries, rng)
            probe = rows[0]
            sample_id = check_id_number(probe[0], today=date(2026, 3, 2))
            assert sample_id.ok, sample_id.errors  # the seeded numbers are valid 身份证号

            print("\nEXPLAIN QUERY PLAN")
            for kind in KINDS:
                failures += explain(db, session, kind, kind.make(probe))

            print(f"\nlatency of search_in, {args.queries} random queries per kind (ms)")
            print(f"  {'kind':<22} {'median':>8} {'p95':>8} {'max':>8} {'hits':>6}")
            for kind in KINDS:
                queries = [kind.make(row) for row in rows]
                assert all(classify(q) is kind.expected for q in queries), kind.label
                for query in queries[:20]:  # warm the page cache and the statement cache
                    search_in(session, query)
                timings, hits = [], 0
                for row, query in zip(rows, queries, strict=True):
                    started = time.perf_counter()
                    found = search_in(session, query)
                    timings.append((time.perf_counter() - started) * 1000)
                    hits += len(found)
                    if kind.expected in (SearchKind.ID_EXACT, SearchKind.FILING_NUMBER):
                        assert len(found) == 1, (kind.label, query)
                    if kind.expected is SearchKind.ID_EXACT:
                        assert found[0].id_masked == row[0][:6] + "*" * 8 + row[0][-4:]
                print(
                    f"  {kind.label:<22} {statistics.median(timings):>8.3f} "
                    f"{percentile(timings, 0.95):>8.3f} {max(timings):>8.3f} "
                    f"{hits / len(rows):>6.1f}"
                )
        db.close()
    if failures:
        print("\nFULL SCANS:\n  " + "\n  ".join(failures))
        return 1
    print("\nno search kind scans a table")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--filings", type=int, default=300_000)
    parser.add_argument("--db", help="keep (or reuse) the database here; default: a temporary one")
    parser.add_argument("--queries", type=int, default=1000, help="random queries per kind")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--encrypted", action="store_true", help="an SQLCipher database, as a real office has"
    )
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
