"""Hostile requests against the real server on loopback, on SQLite and PostgreSQL (issue 12.2).

Every class of malformed input: wrong types, integers past int4 (PostgreSQL) and int8 (SQLite),
NUL and other control characters, lone surrogates, NaN/Infinity, deep nesting, oversized bodies
(refused before the token is even looked up), unknown kinds, pull cursors out of range and
reconcile bodies of the wrong shape. Request-level faults get a 4xx with a Chinese message,
event-level faults a per-event ``bad_event`` naming the field; never a 5xx, nothing stored, and
the office's next good event is accepted (a junk event must not wedge its later syncs).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from counter_app.province import wire
from counter_app.province.store import ProvinceStore
from counter_app.province.tables import events, feed, filings
from tests.support.province import ServerProcess, filing_payload

OFFICE = "340202"
HASH = "0" * 64
OVERFLOW = "__1e999__"  # sent as the literal 1e999, which Python's json reads as inf
_CJK = re.compile("[\u4e00-\u9fff]")


_seqs = itertools.count(1)


def _event(**changes: Any) -> dict[str, Any]:
    """A good filing event of the office with ``changes`` (``p_x`` changes the payload's ``x``)."""
    n = next(_seqs)
    base: dict[str, Any] = {
        "id": f"hostile-{n}",
        "office": OFFICE,
        "seq": n,
        "clerk": "1",
        "kind": "filing.new",
        "payload": filing_payload(OFFICE, n),
    }
    for key, value in changes.items():
        if key.startswith("p_"):
            base["payload"] = {**base["payload"], key[2:]: value}
        elif value is _DROP:
            base.pop(key)
        else:
            base[key] = value
    return base


_DROP = object()


def _person(**changes: Any) -> dict[str, Any]:
    return {"name": "测试", "id_number": "340202198001010011", **changes}


# (label, event, expected code, the field its message must name)
EVENT_CASES: list[tuple[str, Any, str, str]] = [
    ("person a string", _event(p_person="张三"), "bad_event", "payload.person"),
    ("supersedes an int", _event(p_supersedes=7), "bad_event", "payload.supersedes"),
    ("clerk missing", _event(clerk=_DROP), "bad_event", "clerk"),
    ("clerk a number", _event(clerk=1), "bad_event", "clerk"),
    ("clerk an object", _event(clerk={"id": 1}), "bad_event", "clerk"),
    ("seq true", _event(seq=True), "bad_event", "seq"),
    ("seq a float", _event(seq=1.5), "bad_event", "seq"),
    ("seq a string", _event(seq="1"), "bad_event", "seq"),
    ("seq zero", _event(seq=0), "bad_event", "seq"),
    ("seq past int4", _event(seq=2**31), "bad_event", "seq"),
    ("seq past int8", _event(seq=2**63), "bad_event", "seq"),
    ("seq huge", _event(seq=10**40), "bad_event", "seq"),
    ("NUL in id", _event(id="a\x00b"), "bad_event", "id"),
    ("NUL in name", _event(p_person=_person(name="张\x00三")), "bad_event", "payload.person.name"),
    ("ESC in name", _event(p_person=_person(name="张\x1b@")), "bad_event", "payload.person.name"),
    (
        "newline in name",
        _event(p_person=_person(name="张\n三")),
        "bad_event",
        "payload.person.name",
    ),
    ("C1 control in name", _event(p_person=_person(name="张\x85")), "bad_event", "payload.person"),
    ("lone surrogate", _event(p_person=_person(name="\ud800")), "bad_event", "payload.person.name"),
    ("surrogate in a key", _event(p_extra={"\udc00": 1}), "bad_event", "payload.extra"),
    ("infinity by overflow", _event(p_extra=OVERFLOW), "bad_event", "payload.extra"),
    ("int past int8 in payload", _event(p_extra=2**64), "bad_event", "payload.extra"),
    ("name too long", _event(p_person=_person(name="张" * 51)), "bad_event", "payload.person.name"),
    ("id number short", _event(p_person=_person(id_number="3402021980")), "bad_event", "id_number"),
    ("status case game", _event(p_status="ACTIVE"), "bad_event", "payload.status"),
    ("status superseded", _event(p_status="superseded"), "bad_event", "payload.status"),
    ("impossible date", _event(p_valid_from="2026-02-30"), "bad_event", "payload.valid_from"),
    ("date as a number", _event(p_valid_from=20261123), "bad_event", "payload.valid_from"),
    ("category unknown", _event(p_category="vip"), "bad_event", "payload.category"),
    ("multi_place a string", _event(p_multi_place="yes"), "bad_event", "payload.multi_place"),
    ("version past int4", _event(p_version=2**31), "bad_event", "payload.version"),
    ("payload a list", _event(payload=[1]), "bad_event", "payload"),
    ("event a string", "event", "bad_event", "对象"),
    ("event null", None, "bad_event", "对象"),
    ("event a list", [1, 2], "bad_event", "对象"),
    ("kind upper case", _event(kind="FILING.NEW"), "bad_event", "kind"),
    ("kind a number", _event(kind=5), "bad_event", "kind"),
    ("kind unknown", _event(kind="stock.take", payload={}), "unknown_kind", "stock.take"),
    ("office of another", _event(office="340203"), "wrong_office", "340203"),
    ("office with NUL", _event(office="34\x000202"), "bad_event", "office"),
    (
        "review decision case",
        _event(kind="application.review", payload={"application_id": "WS1", "decision": "OK"}),
        "bad_event",
        "payload.decision",
    ),
    (
        "claim total not money",
        _event(kind="claim.settle", payload={"number": "LX1", "total": "1e9"}),
        "bad_event",
        "payload.total",
    ),
    (
        "claim number with NUL",
        _event(kind="claim.settle", payload={"number": "LX\x001"}),
        "bad_event",
        "payload.number",
    ),
]


def _deep(levels: int) -> bytes:
    return b'{"events":' + b"[" * levels + b"]" * levels + b"}"


# (label, method, path, body bytes or JSON, extra headers, expected status)
Raw = bytes | dict[str, Any] | list[Any] | None
REQUEST_CASES: list[tuple[str, str, str, Raw, dict[str, str], int]] = [
    ("not JSON", "POST", "/v1/events", b"{", {}, 400),
    ("not UTF-8", "POST", "/v1/events", b'{"events": ["\xff"]}', {}, 400),
    ("NaN", "POST", "/v1/events", b'{"events": [{"id": NaN}]}', {}, 400),
    ("Infinity", "POST", "/v1/events", b'{"events": [-Infinity]}', {}, 400),
    ("100,000 deep", "POST", "/v1/events", _deep(100_000), {}, 400),
    ("40 deep", "POST", "/v1/events", _deep(40), {}, 400),
    ("body a list", "POST", "/v1/events", [], {}, 422),
    ("events a string", "POST", "/v1/events", {"events": "x"}, {}, 422),
    ("events missing", "POST", "/v1/events", {"batch_id": "b"}, {}, 422),
    ("501 events", "POST", "/v1/events", {"events": [{}] * 501}, {}, 422),
    ("batch_id a number", "POST", "/v1/events", {"batch_id": 5, "events": []}, {}, 422),
    ("batch_id with NUL", "POST", "/v1/events", {"batch_id": "a\x00", "events": []}, {}, 422),
    ("unknown field", "POST", "/v1/events", {"events": [], "sign": "x"}, {}, 422),
    ("text/plain", "POST", "/v1/events", b'{"events": []}', {"content-type": "text/plain"}, 422),
    ("cursor negative", "GET", "/v1/pull?cursor=-1", None, {}, 422),
    ("cursor past int4", "GET", f"/v1/pull?cursor={2**31}", None, {}, 422),
    ("cursor past int8", "GET", f"/v1/pull?cursor={2**63}", None, {}, 422),
    ("cursor text", "GET", "/v1/pull?cursor=abc", None, {}, 422),
    ("cursor NUL", "GET", "/v1/pull?cursor=%00", None, {}, 422),
    ("limit zero", "GET", "/v1/pull?limit=0", None, {}, 422),
    ("limit too big", "GET", "/v1/pull?limit=100000", None, {}, 422),
    ("blocks a list", "POST", "/v1/reconcile", {"blocks": [1, 2]}, {}, 422),
    ("blocks a string", "POST", "/v1/reconcile", {"blocks": "0"}, {}, 422),
    (
        "block key not a number",
        "POST",
        "/v1/reconcile",
        {"blocks": {"x": {"count": 1, "hash": HASH}}},
        {},
        422,
    ),
    (
        "block past int4",
        "POST",
        "/v1/reconcile",
        {"blocks": {"99999999": {"count": 1, "hash": HASH}}},
        {},
        422,
    ),
    (
        "count true",
        "POST",
        "/v1/reconcile",
        {"blocks": {"0": {"count": True, "hash": HASH}}},
        {},
        422,
    ),
    (
        "count past int4",
        "POST",
        "/v1/reconcile",
        {"blocks": {"0": {"count": 2**31, "hash": HASH}}},
        {},
        422,
    ),
    (
        "hash with NUL",
        "POST",
        "/v1/reconcile",
        {"blocks": {"0": {"count": 1, "hash": "\x00" * 64}}},
        {},
        422,
    ),
    ("unknown path", "GET", "/v1/nothing", None, {}, 404),
    ("wrong method", "DELETE", "/v1/events", None, {}, 405),
]


def _send(base: str, method: str, path: str, body: Raw, headers: dict[str, str]) -> httpx.Response:
    content: bytes | None
    # JSON with \u escapes: lone surrogates and controls reach the parser as such.
    if body is None or isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body).replace(f'"{OVERFLOW}"', "1e999").encode()
    sent = {"content-type": "application/json", **headers}
    return httpx.request(method, base + path, content=content, headers=sent, timeout=30)


def _stored(store: ProvinceStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (events, filings, feed)
        )


def _chinese_detail(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    assert set(detail) == {"code", "message"}, detail
    assert _CJK.search(detail["message"]), detail
    return str(detail["message"])


@pytest.fixture
def running(server: ServerProcess, store: ProvinceStore) -> tuple[ServerProcess, dict[str, str]]:
    """The server process, an office registered; its auth header."""
    token = store.add_office(OFFICE, "镜湖区", "340200")
    store.add_office("340203", "弋江区", "340200")
    server.start()
    return server, {"authorization": f"Bearer {token}"}


def test_hostile_requests_get_4xx_and_store_nothing(
    running: tuple[ServerProcess, dict[str, str]], store: ProvinceStore
) -> None:
    server, auth = running
    for label, method, path, body, headers, status in REQUEST_CASES:
        response = _send(server.base_url, method, path, body, {**auth, **headers})
        assert response.status_code == status, (label, response.status_code, response.text)
        _chinese_detail(response)
    assert _stored(store) == (0, 0, 0)


def test_hostile_events_are_refused_one_by_one(
    running: tuple[ServerProcess, dict[str, str]], store: ProvinceStore
) -> None:
    server, auth = running
    batch = [case[1] for case in EVENT_CASES]
    response = _send(server.base_url, "POST", "/v1/events", {"events": batch}, auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(EVENT_CASES)
    for (label, _, code, field), answer in zip(EVENT_CASES, results, strict=True):
        assert answer["status"] == "rejected", (label, answer)
        assert answer["code"] == code, (label, answer)
        assert field in answer["message"] and _CJK.search(answer["message"]), (label, answer)
    assert _stored(store) == (0, 0, 0)
    # The office's next good event goes through: no junk was left to wedge later syncs.
    good = _send(server.base_url, "POST", "/v1/events", {"events": [_event()]}, auth)
    assert [r["status"] for r in good.json()["results"]] == ["accepted"]
    assert _stored(store)[:2] == (1, 1)


def test_size_is_capped_before_the_token_is_looked_up(
    running: tuple[ServerProcess, dict[str, str]], store: ProvinceStore
) -> None:
    server, auth = running
    big = b'{"events": ["' + b"x" * (wire.BODY_MAX + 1) + b'"]}'
    for headers in ({}, {"authorization": "Bearer wrong"}, auth):
        response = _send(server.base_url, "POST", "/v1/events", big, headers)
        assert response.status_code == 413, response.text
        _chinese_detail(response)

    def chunks() -> Any:  # no Content-Length: counted while it streams
        for _ in range(wire.BODY_MAX // 65536 + 2):
            yield b"x" * 65536

    streamed = httpx.post(
        server.base_url + "/v1/events", content=chunks(), headers={**auth}, timeout=30
    )
    assert streamed.status_code == 413
    # Unauthenticated requests of a normal size are refused with 401 and a challenge.
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic eA=="}):
        response = _send(server.base_url, "POST", "/v1/events", {"events": []}, headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        _chinese_detail(response)
    assert _stored(store) == (0, 0, 0)


def test_docs_and_schema_are_off_by_default(running: tuple[ServerProcess, dict[str, str]]) -> None:
    server, auth = running
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert httpx.get(server.base_url + path, headers=auth).status_code == 404


def test_tls_with_a_test_certificate(tmp_path: Path) -> None:
    """``province serve --tls-cert/--tls-key``: HTTPS with the certificate, plain HTTP refused."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    url = f"sqlite:///{tmp_path / 'province.db'}"
    store = ProvinceStore(url)
    token = store.add_office(OFFICE, "镜湖区", "340200")
    store.close()
    server = ServerProcess(url, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    server.start()
    try:
        assert server.base_url.startswith("https://")
        answer = httpx.get(
            f"{server.base_url}/v1/hello",
            headers={"authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(cert)),
        )
        assert answer.status_code == 200 and answer.json()["office"] == OFFICE
        with pytest.raises(httpx.ConnectError):  # not our certificate: refused by the client
            httpx.get(f"{server.base_url}/v1/hello")
        plain = server.base_url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{plain}/v1/hello", headers={"authorization": f"Bearer {token}"})
    finally:
        server.kill()


def test_serve_wants_both_tls_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    run = subprocess.run(
        [sys.executable, "-m", "counter_app", "province", "serve", "--tls-cert", str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0 and "--tls-key" in run.stderr
