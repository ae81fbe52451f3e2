"""The client's protocol revision and version travel with every request; the store refuses a
too-old client with 426 and a Chinese message, and accepts the previous revision during a rollout.
Real server processes on loopback."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

import counter_app
from counter_app.province.server import create_app
from counter_app.province.store import ProvinceStore
from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import SignedIn
from counter_app.storage.db import Database
from counter_app.sync import outbox, protocol
from counter_app.sync.client import SyncError, run_sync
from tests.support.province import ServerProcess, add_events
from tests.unit.sync.conftest import config

TODAY = date(2026, 11, 23)
ENGINE = build_engine("wuhu")
SQLITE = pytest.mark.parametrize("province_url", ["sqlite"], indirect=True)


def old_client_hello(server: ServerProcess, token: str) -> httpx.Response:
    """A revision-1 client: it sends the token and nothing about itself."""
    return httpx.get(
        f"{server.base_url}/v1/hello", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_refusal_rules() -> None:
    def said(*args: object, **kwargs: object) -> str:
        refusal = protocol.client_refusal(*args, **kwargs)  # type: ignore[arg-type]
        return "" if refusal is None else f"{refusal[0]} {refusal[2]}"

    current = str(protocol.CLIENT_PROTOCOL)
    assert said(current, "0.1.0") == ""
    assert said(None, None) == ""  # revision 1, the previous one: accepted during a rollout
    assert said(None, None, min_protocol=2).startswith("426 ") and "过旧" in said(None, None, 2)
    assert said("二", "0.1.0").startswith("400 ") and "不认识" in said("二", "0.1.0")
    assert said("0", "0.1.0").startswith("400 ")
    assert said(str(protocol.CLIENT_PROTOCOL + 1), "9.0").startswith("400 ")  # newer than us
    assert said(current, "0.10.0", min_version="0.9.1") == ""
    assert "0.9.1 及以上" in said(current, "0.9.0", min_version="0.9.1")
    assert said(current, None, min_version="0.9.1").startswith("426 ")
    assert "新版本离线安装包" in said("1", "0.1.0", min_protocol=2)


@SQLITE
def test_the_previous_revision_syncs_during_a_rollout(
    server: ServerProcess, office: tuple[Database, SignedIn], token: str
) -> None:
    server.start()
    answer = old_client_hello(server, token)
    assert answer.status_code == 200 and answer.json()["office"] == office[1].office_code
    db, signed = office
    add_events(db, signed, 2)
    assert run_sync(db, ENGINE, config(server, token), TODAY).tally.accepted == 2


@SQLITE
def test_after_the_rollout_an_old_client_is_refused_with_a_clear_message(
    server: ServerProcess,
    office: tuple[Database, SignedIn],
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTER_PROVINCE_MIN_PROTOCOL", str(protocol.CLIENT_PROTOCOL))
    server.start()
    answer = old_client_hello(server, token)
    assert answer.status_code == 426
    detail = answer.json()["detail"]
    assert detail["code"] == "client_too_old"
    assert "版本过旧" in detail["message"] and "协议 1" in detail["message"]
    db, signed = office
    add_events(db, signed, 2)
    assert run_sync(db, ENGINE, config(server, token), TODAY).tally.accepted == 2  # current: fine


@SQLITE
def test_a_minimum_program_version_stops_the_sync_before_anything_is_sent(
    server: ServerProcess,
    office: tuple[Database, SignedIn],
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTER_PROVINCE_MIN_VERSION", "99.0")
    server.start()
    db, signed = office
    add_events(db, signed, 2)
    with pytest.raises(SyncError) as refused:
        run_sync(db, ENGINE, config(server, token), TODAY)
    message = str(refused.value)
    assert f"本机程序版本 {counter_app.__version__}" in message and "99.0 及以上" in message
    assert "HTTP" not in message
    assert outbox.status(db).pending == 2  # kept for after the update


def test_the_schema_documents_the_headers_and_the_426(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ProvinceStore(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        schema = create_app(store, docs=True).openapi()
    finally:
        store.close()
    for path in ("/v1/hello", "/v1/events", "/v1/pull"):
        operation = next(iter(schema["paths"][path].values()))
        assert "426" in operation["responses"], path
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {protocol.PROTOCOL_HEADER, protocol.VERSION_HEADER} <= headers, path
