"""What the cheaper sync path (issue 17, item 3) must keep: the same canonical JSON, the same
refusals of control characters, one TLS context per CA file as it stands."""

from __future__ import annotations

import json
import os
import shutil
import ssl
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from counter_app.province import api_models, wire
from counter_app.sync import client, protocol

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_canonical_is_the_documented_json_dumps(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert protocol.canonical(value) == expected


# A valid value of each type whose pattern alone keeps control characters out.
PATTERNED = [
    (wire.EventId, "9f1c2d3e-0000-4000-8000-00000000abcd"),
    (wire.OfficeCode, "340202"),
    (wire.Kind, "filing.new"),
    (wire.Number, "BA340202202611230001"),
    (wire.IdNumber, "34020219900101001X"),
    (wire.RegionCode, "460100"),
    (wire.Money, "-12.50"),
    (wire.BatchId, "340202-1-500"),
    (wire.Hash, "a" * 64),
    (api_models.BlockKey, "12"),
]


@pytest.mark.parametrize(("kind", "good"), PATTERNED)
def test_patterns_refuse_control_characters_without_a_separate_check(kind: Any, good: str) -> None:
    adapter = TypeAdapter(kind, config={"strict": True})
    assert adapter.validate_python(good) == good
    for bad in (
        good[:-1] + "\n",  # Python's re would let "$" match before a final newline
        good[:-1] + "\x00",
        good[:-1] + "\x85",
        good[:-1] + "\x7f",
        good[:-1] + "\ud800",
        "\n" + good[1:],
    ):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_clean_text_is_value_problem_of_a_text() -> None:
    for text in ("张三", "", "a\x00", "a\n", "\x9f", "\ud800", "x" * wire.TEXT_MAX, "x" * 2001):
        assert wire.clean_text(text) == (wire.value_problem(text) == "")


def test_one_tls_context_per_ca_file_as_it_stands(tmp_path: Path) -> None:
    system = client._tls_context(None)
    assert client._tls_context(None) is system
    assert system.verify_mode == ssl.CERT_REQUIRED and system.check_hostname
    cafile = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    if not cafile or not Path(cafile).is_file():
        pytest.skip("no CA bundle file on this machine")
    pinned = tmp_path / "ca.pem"
    shutil.copyfile(cafile, pinned)
    first = client._tls_context(pinned)
    assert client._tls_context(pinned) is first
    assert first is not system
    stat = pinned.stat()
    os.utime(pinned, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert client._tls_context(pinned) is not first  # a changed file is read again
    pinned.write_text("not a certificate")
    with pytest.raises(client.SyncError, match="CA 证书文件"):
        client._tls_context(pinned)


def test_canonical_refuses_what_json_dumps_refuses() -> None:
    from datetime import date

    with pytest.raises(TypeError, match="not JSON serializable"):
        protocol.canonical({"day": date(2026, 12, 3)})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        protocol.canonical(loop)


def test_push_slots_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from counter_app.province import server

    monkeypatch.delenv("COUNTER_PROVINCE_PUSH_SLOTS", raising=False)
    assert server.push_slots() == 2
    for raw, slots in (("4", 4), (" 1 ", 1), ("0", 2), ("abc", 2), ("-3", 2), ("999", 2)):
        monkeypatch.setenv("COUNTER_PROVINCE_PUSH_SLOTS", raw)
        assert server.push_slots() == slots
