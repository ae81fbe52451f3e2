"""QR signatures: genuine payloads verify, forged or altered ones are refused; the office key is
generated once and kept; ``counter-app print`` and ``counter-app verify`` from the shell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from counter_app.printing.qr import looks_like_payload, office_key, parse, sign
from counter_app.printing.sources import PrintContext, build, load_record
from counter_app.printing.verify import verify_payload
from tests.support.cli import Ran, run_cli
from tests.support.printing import TODAY, office_of, pdf_text, seeded


def test_sign_and_parse_round_trip() -> None:
    payload = sign(b"k" * 32, "filing_form", "BA3201022026112300001", "320102", "A" * 16)
    assert payload.startswith("YB2:BAB:BA3201022026112300001:320102:" + "A" * 16 + ":")
    assert len(payload) <= 70 and payload == payload.upper()  # QR alphanumeric mode
    parsed = parse(payload.lower())
    assert parsed is not None and parsed.kind == "filing_form"
    assert looks_like_payload(" " + payload) and not looks_like_payload("BA3201")
    assert parse("YB1:XXX:1:2:3") is None and parse("YB1:BAB::2:3") is None
    assert parse("YB2:BAB:1:2::3") is None and parse("YB2:BAB:1:2:3") is None


def test_genuine_forged_and_altered(tmp_path: Path) -> None:
    db, number, _ = seeded(tmp_path, "jiangsu")
    document = build("filing_form", load_record(db, "filing_form", number), PrintContext(db, TODAY))
    good = verify_payload(db, document.qr_payload)
    assert good.genuine and good.person_id is not None and number in good.message
    parts = document.qr_payload.split(":")
    altered = ":".join([*parts[:2], parts[2][:-1] + "9", *parts[3:]])
    assert not verify_payload(db, altered).genuine
    kind_swapped = document.qr_payload.replace(":BAB:", ":CNS:")
    assert not verify_payload(db, kind_swapped).genuine
    forged = sign(b"someone else's key", "filing_form", number, parts[3], parts[4])
    result = verify_payload(db, forged)
    assert not result.genuine and "伪造" in result.message and result.person_id is None
    assert not verify_payload(db, "hello").genuine
    other_office = sign(b"x", "filing_form", number, "999999", parts[4])
    assert "无法核验" in verify_payload(db, other_office).message


def test_office_key_is_generated_once_and_stored(tmp_path: Path) -> None:
    db, _, _ = seeded(tmp_path, "beijing")
    code = office_of(db)["code"]
    first = office_key(db, code)
    assert first is not None and len(first) == 32
    assert office_key(db, code) == first
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM office_key")).scalar_one() == 1
    assert office_key(db, code, "configured-secret") == b"configured-secret"


def _cli(*args: str, db: Path, env: dict[str, str] | None = None) -> Ran:
    """``counter-app`` on this office database (in this process; see tests/support/cli.py)."""
    environment = {"COUNTER_DB": str(db), "COUNTER_CONFIG": str(db.with_suffix(".toml"))}
    return run_cli(*args, env={**environment, **(env or {})})


@pytest.mark.parametrize("suffix", [".pdf", ".png", ".bin"])
def test_cli_print_and_verify(tmp_path: Path, suffix: str) -> None:
    db, number, _ = seeded(tmp_path, "wuhu")
    db.close()
    path = tmp_path / "wuhu.db"
    out = tmp_path / f"form{suffix}"
    done = _cli("print", "filing_form", number, "--out", str(out), "--paper", "58", db=path)
    assert done.returncode == 0, done.stderr + done.stdout
    data = out.read_bytes()
    assert data.startswith({".pdf": b"%PDF", ".png": b"\x89PNG", ".bin": b"\x1b@"}[suffix])
    if suffix == ".pdf":
        found = re.search(r"扫码核验：(YB2:[A-Z0-9:]+)", pdf_text(out))
        assert found is not None
        payload = found.group(1)
        genuine = _cli("verify", payload, db=path)
        assert genuine.returncode == 0 and "真实有效" in genuine.stdout
        forged = _cli("verify", payload[:-1] + ("A" if payload[-1] != "A" else "B"), db=path)
        assert forged.returncode == 2 and "伪造" in forged.stdout


def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    db, _, _ = seeded(tmp_path, "hunan")
    db.close()
    path = tmp_path / "hunan.db"
    out = tmp_path / "slip.pdf"
    missing = _cli("print", "filing_form", "BA404", "--out", str(out), db=path)
    assert missing.returncode == 2 and "没有编号为 BA404 的备案记录" in missing.stdout
    wrong = _cli("print", "filing_form", "BA404", "--out", str(tmp_path / "x.txt"), db=path)
    assert wrong.returncode == 2 and ".pdf" in wrong.stdout
