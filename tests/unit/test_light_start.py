"""Cold start and the store's fast paths (issue 17): same answers as the slow ways they replace.

* the app module imports no database, rules, wizard or pinyin code before the sign-in screen,
  nor the settings or the command line;
* the pinyin table reads names and region names as pypinyin did, surnames as surnames;
* ``Database.open`` checks the schema with one query and imports alembic only to migrate;
* the store's one-pass value check, hash and ``IN`` lists agree with the general ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from counter_app.pinyin import SURNAMES, char_table, pinyin_keys, pinyin_match
from counter_app.province import wire
from counter_app.province.store import event_texts
from counter_app.province.tables import among, events, metadata
from counter_app.regions_data import load_region_table
from counter_app.storage.db import Database, schema_at_head
from counter_app.sync import protocol

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "pypinyin",
    "argon2",
    "counter_app.storage.models",
    "counter_app.domain.engine",
    "counter_app.ui.claims.flow",
    "counter_app.ui.wizard.flow",
    "counter_app.ui.filings.flow",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_app_module_imports_nothing_heavy() -> None:
    loaded = _modules_after("import counter_app.ui.app")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_first_frame_needs_no_settings_database_rules_or_command_line() -> None:
    """What ``counter-app`` loads to paint the sign-in screen: the settings, the database and the
    rules are read behind it (``CounterApp.start_up``), the Typer commands never built."""
    loaded = _modules_after(
        "import counter_app.launch, counter_app.ui.app, counter_app.ui.screens.sign_in"
    )
    later = {
        *HEAVY,
        "pydantic",
        "pydantic_settings",
        "typer",
        "counter_app.cli",
        "counter_app.settings",
        "counter_app.storage.db",
        "counter_app.storage.clerks",
        "counter_app.ui.services",
        "counter_app.ui.screens.lock",
        "textual.widgets._text_area",
    }
    assert not loaded & later, sorted(loaded & later)


# -- pinyin ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("单雄信", "shanxiongxin", "sxx"),  # 单 as a surname: shàn, not dān
        ("曾小明", "zengxiaoming", "zxm"),  # 曾 zēng, not céng
        ("解缙", "xiejin", "xj"),
        ("尉迟恭", "yuchigong", "ycg"),  # a compound surname
        ("张三", "zhangsan", "zs"),
        ("吕布", "lvbu", "lb"),  # ü written v
        ("阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt"),  # the dot has no reading
    ],
)
def test_names_read_with_surnames(name: str, full: str, initials: str) -> None:
    assert pinyin_keys(name) == (full, initials)


@pytest.mark.parametrize(
    ("place", "full"),
    [
        ("六安市", "luanshi"),
        ("乐山市", "leshanshi"),
        ("厦门市", "xiamenshi"),
        ("重庆市", "chongqingshi"),
    ],
)
def test_region_names_read_as_phrases(place: str, full: str) -> None:
    assert pinyin_keys(place)[0] == full
    assert pinyin_match(full[:4], place)


def test_every_region_name_reads_as_pypinyin_reads_it() -> None:
    """The table (built once by ``pinyin_build``) gives what pypinyin's phrase dictionary did."""
    pypinyin = pytest.importorskip("pypinyin")
    names = {r.name for r in load_region_table()._regions.values()}
    for name in names:
        syllables = pypinyin.lazy_pinyin(name, style=pypinyin.Style.NORMAL, errors="ignore")
        assert pinyin_keys(name)[0] == "".join(syllables), name


def test_single_characters_read_as_pypinyin_reads_them() -> None:
    pypinyin = pytest.importorskip("pypinyin")
    table = char_table()
    for ch in "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘单":
        assert table[ch] == pypinyin.lazy_pinyin(ch, style=pypinyin.Style.NORMAL)[0], ch
    assert all(len(s) in (1, 2) and all(syllables) for s, syllables in SURNAMES.items())


# -- schema check ----------------------------------------------------------------------------


def test_schema_checked_by_one_query(tmp_path: Path) -> None:
    path = tmp_path / "office.db"
    Database.open(path).close()
    database = Database.open(path, migrate=False)
    assert schema_at_head(database)
    with database.writer.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    assert not schema_at_head(database)
    database.close()
    fresh = Database.open(tmp_path / "new.db", migrate=False)
    assert not schema_at_head(fresh)  # no alembic_version yet
    fresh.close()
    other = tmp_path / "other.db"
    opening = f"from counter_app.storage.db import Database; Database.open({str(other)!r}).close()"
    assert "alembic" in _modules_after(opening)  # a new database: migrated
    loaded = _modules_after(opening)
    assert "alembic" not in loaded  # at head now: one query, no alembic


# -- the store's fast paths ------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.text(min_size=1990, max_size=2010, alphabet="ab"),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=70), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json, st.integers(min_value=1, max_value=6))
def test_value_check_agrees_with_the_path_naming_one(value: object, limit: int) -> None:
    assert wire.value_problem(value, limit) == wire._first_problem(value, limit)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {"id": st.text(max_size=10), "office": st.text(max_size=6), "clerk": st.text(max_size=5)},
        optional={"seq": st.integers(), "kind": st.text(max_size=8), "payload": _json},
    )
)
def test_event_hash_put_together_is_the_protocol_hash(raw: dict) -> None:
    raw = json.loads(json.dumps(raw))  # as received: JSON values only
    digest, payload = event_texts(raw)
    assert digest == protocol.event_hash(raw)
    assert payload == protocol.canonical(raw.get("payload"))


def test_among_finds_what_in_finds(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {
                    "id": f"e{i}",
                    "office": "340202",
                    "seq": i,
                    "clerk": "1",
                    "kind": "filing.new",
                    "hash": "0" * 64,
                    "payload": "{}",
                    "batch_id": "b",
                    "received_at": protocol_time(),
                }
                for i in range(1, 30)
            ],
        )
        wanted_ids, wanted_seqs = {"e3", "e7", "x", "e29"}, {1, 2, 40, 17}
        by_id = set(
            conn.execute(select(events.c.id).where(among(events.c.id, wanted_ids, False))).scalars()
        )
        by_seq = set(
            conn.execute(
                select(events.c.seq).where(among(events.c.seq, wanted_seqs, False))
            ).scalars()
        )
        none = conn.execute(select(events.c.id).where(among(events.c.id, [], False))).all()
    assert by_id == {"e3", "e7", "e29"}
    assert by_seq == {1, 2, 17}
    assert none == []
    engine.dispose()


def protocol_time():  # type: ignore[no-untyped-def]
    from counter_app.province.apply import now

    return now()
