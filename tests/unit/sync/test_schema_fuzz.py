"""Schemathesis with all checks against the real server on loopback (issue 12.2), both databases.

The server runs as ``province serve --docs`` (the schema is off by default); the store holds an
office with filings, an online application and a registry update, so the answers that are checked
against their schemas are not empty. Every check is on: no 5xx, every status code and body as
documented, schema-invalid data refused with a 4xx, schema-valid data accepted, authentication
enforced, unsupported methods answered 405. A fixed seed keeps a failure reproducible.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from counter_app.province.store import ProvinceStore
from tests.support.province import ServerProcess, filing_payload

EXAMPLES = 40
SEED = 20261202


def _populate(store: ProvinceStore) -> str:
    token = store.add_office("340202", "镜湖区", "340200")
    office = store.office("340202")
    assert office is not None
    batch = [
        {
            "id": f"seed-{i}",
            "office": "340202",
            "seq": i,
            "clerk": "1",
            "kind": "filing.new",
            "payload": filing_payload("340202", i),
        }
        for i in range(1, 4)
    ]
    assert {a["status"] for a in store.apply_batch(office, batch, "seed")} == {"accepted"}
    store.add_application(
        "340202",
        {
            "person": {"name": "韩宝驹", "id_number": "110105194912310038"},
            "category": "long_term_resident",
            "destination": "460105",
            "submitted_on": "2026-11-23",
        },
    )
    store.add_registry_update("340200", {"id_number": "340202198001010011", "status": "停保"})
    return token


@pytest.mark.slow
def test_schemathesis_all_checks_pass(
    province_url: str, store: ProvinceStore, tmp_path: Path
) -> None:
    token = _populate(store)
    server = ServerProcess(province_url, tmp_path, "--docs").start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--request-timeout",
                "30",
            ],
            cwd=tmp_path,  # schemathesis keeps its example database in the working directory
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
    finally:
        server.kill()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "No issues found" in output and "7 selected" in output, output[-3000:]
