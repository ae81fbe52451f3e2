"""Every sync command fails cleanly: a Chinese message, a non-zero exit, never a traceback.

``sync run`` on a database with no office; ``province import`` of files whose content is not a
signed batch (or is signed but shaped wrong); ``sync import-answer`` of every kind of malformed
answer file. The commands run in-process through Typer's runner, exactly as the script runs them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from counter_app.cli import app
from counter_app.province.keys import signing_key_path, store_key
from counter_app.province.store import ProvinceStore
from counter_app.province.transfer import import_batch
from counter_app.storage.db import Database
from counter_app.sync import protocol, signing
from counter_app.sync.registration import key_dir
from counter_app.sync.transfer import export_batch
from tests.support.province import add_events, local_state, make_office, register

RUNNER = CliRunner()


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user configuration; the umask the command sets is put back afterwards."""
    monkeypatch.setenv("COUNTER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COUNTER_POLICY", "wuhu")
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _invoke(*args: str) -> Any:
    result = RUNNER.invoke(app, list(args))
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result, output


def test_sync_run_on_a_database_without_an_office(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_SYNC__URL", "http://127.0.0.1:9")
    monkeypatch.setenv("COUNTER_SYNC__TOKEN", "t")
    empty = tmp_path / "empty.db"
    result, output = _invoke("sync", "run", "--db", str(empty))
    assert result.exit_code == 1 and "本数据库还没有登记经办机构" in output
    result, output = _invoke("sync", "recover", "--db", str(empty))
    assert result.exit_code == 1 and "还没有登记经办机构" in output
    result, output = _invoke("sync", "export", str(tmp_path / "b.json"), "--db", str(empty))
    assert result.exit_code == 2 and "sync register" in output
    result, output = _invoke("sync", "register", str(tmp_path / "x.json"), "--db", str(empty))
    assert result.exit_code == 2 and "还没有登记经办机构" in output


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[ProvinceStore, Database, Path, Path]]:
    """A registered office with 5 events exported and answered; the store; both files."""
    store = ProvinceStore(f"sqlite:///{tmp_path / 'province.db'}")
    db, signed = make_office(tmp_path / "office.db")
    register(store, db, tmp_path)
    add_events(db, signed, 5)
    batch, answer = tmp_path / "batch.json", tmp_path / "answer.json"
    export_batch(db, key_dir(db.path), batch)
    import_batch(store, batch, answer)
    yield store, db, batch, answer
    store.close()


def _raw(text: str | bytes) -> Callable[[dict[str, Any], Any], bytes]:
    data = text.encode() if isinstance(text, str) else text
    return lambda _document, _key: data


def _doc(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any], Any], bytes]:
    """The real document, changed (its signature no longer fits, or never did)."""

    def make(document: dict[str, Any], _key: Any) -> bytes:
        return json.dumps(change(json.loads(json.dumps(document)))).encode()

    return make


def _resigned(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any], Any], bytes]:
    """The body changed and signed again with the rightful key: intact but shaped wrong."""

    def make(document: dict[str, Any], key: Any) -> bytes:
        body = change(json.loads(json.dumps(document["body"])))
        return json.dumps(signing.sign(body, key)).encode()

    return make


def _set(**values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: {**body, **values}


def _drop(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: {k: v for k, v in body.items() if k != key}


MALFORMED_FILES = {
    "empty": _raw(""),
    "not JSON": _raw("{body: 1,"),
    "binary": _raw(bytes(range(256)) * 4),
    "a JSON list": _raw("[1, 2, 3]"),
    "a JSON string": _raw('"batch"'),
    "NaN": _raw('{"body": {"n": NaN}, "signature": {}}'),
    "deeply nested": _raw("[" * 100_000 + "]" * 100_000),
    "lone surrogate": _raw('{"body": {"office": "\\ud800"}, "signature": {"key_id": "x"}}'),
    "no body": _doc(lambda d: {"signature": d["signature"]}),
    "body a list": _doc(lambda d: {**d, "body": []}),
    "no signature": _doc(lambda d: {"body": d["body"]}),
    "old HMAC signature": _doc(lambda d: {**d, "signature": "0f" * 32}),
    "signature a number": _doc(lambda d: {**d, "signature": 5}),
    "signature value not hex": _doc(
        lambda d: {**d, "signature": {**d["signature"], "value": "zz"}}
    ),
    "altered body": _doc(lambda d: {**d, "body": {**d["body"], "batch_id": "file-other"}}),
}

MALFORMED_ANSWERS = {
    **MALFORMED_FILES,
    "results not a list": _resigned(_set(results={"a": 1})),
    "result without status": _resigned(lambda b: {**b, "results": [{"id": "x"}]}),
    "result with unknown status": _resigned(
        lambda b: {**b, "results": [{**b["results"][0], "status": "maybe"}]}
    ),
    "no batch id": _resigned(_drop("batch_id")),
    "batch id a number": _resigned(_set(batch_id=7)),
    "another office": _resigned(_set(office="340203")),
    "wrong format": _resigned(_set(format=protocol.BATCH_FILE)),
    "unknown batch": _resigned(_set(batch_id="file-never-exported")),
}


@pytest.mark.parametrize("case", list(MALFORMED_ANSWERS))
def test_import_answer_refuses_malformed_files(
    case: str, setup: tuple[ProvinceStore, Database, Path, Path], tmp_path: Path
) -> None:
    store, db, _, answer = setup
    key = store_key(signing_key_path(store.url))
    bad = tmp_path / "bad-answer.json"
    bad.write_bytes(MALFORMED_ANSWERS[case](json.loads(answer.read_text("utf-8")), key))
    result, output = _invoke("sync", "import-answer", str(bad), "--db", str(db.path))
    assert result.exit_code == 2, output
    assert "回执未导入" in output
    assert local_state(db)[1] == set()  # nothing marked


MALFORMED_BATCHES = {
    **MALFORMED_FILES,
    "events not a list": _resigned(_set(events={"id": 1})),
    "no batch id": _resigned(_drop("batch_id")),
    "batch id too long": _resigned(_set(batch_id="x" * 500)),
    "wrong format": _resigned(_set(format=protocol.ANSWER_FILE)),
    "office unknown to the store": _doc(lambda d: {**d, "body": {**d["body"], "office": "999999"}}),
}


@pytest.mark.parametrize("case", list(MALFORMED_BATCHES))
def test_province_import_refuses_malformed_files(
    case: str, setup: tuple[ProvinceStore, Database, Path, Path], tmp_path: Path
) -> None:
    store, db, batch, _ = setup
    key = signing.load_key(key_dir(db.path) / "office.key")
    bad, answer = tmp_path / "bad-batch.json", tmp_path / "new-answer.json"
    bad.write_bytes(MALFORMED_BATCHES[case](json.loads(batch.read_text("utf-8")), key))
    result, output = _invoke(
        "province", "import", str(bad), "--answer", str(answer), "--db", store.url
    )
    assert result.exit_code == 2, output
    assert "未导入" in output and not answer.exists()


def test_missing_file_and_a_folder_are_refused(
    setup: tuple[ProvinceStore, Database, Path, Path], tmp_path: Path
) -> None:
    store, db, _, _ = setup
    for target in (tmp_path / "nowhere.json", tmp_path):
        result, output = _invoke("sync", "import-answer", str(target), "--db", str(db.path))
        assert result.exit_code == 2 and "回执未导入" in output
        result, output = _invoke(
            "province", "import", str(target), "--answer", str(tmp_path / "a.json"),
            "--db", store.url,
        )  # fmt: skip
        assert result.exit_code == 2 and "未导入" in output
