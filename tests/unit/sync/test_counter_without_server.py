"""A counter installed without the ``province`` extra starts and syncs (issue 13 item 5).

The child process refuses to import FastAPI, uvicorn, starlette and psycopg (as if they were not
installed), builds the app with the same factory as ``counter-app``, paints its sign-in screen,
shows ``counter-app --help`` and runs a real sync over loopback against the provincial server
started here (which has the extra). It also reports any ``counter_app.province`` module it loaded:
the counter never imports the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from counter_app.province.store import ProvinceStore
from tests.support.province import ServerProcess, add_events, assert_exactly_once, make_office

BLOCKED = ("fastapi", "uvicorn", "starlette", "psycopg", "psycopg_binary", "psycopg_c")

CHILD = """
import asyncio, importlib.abc, json, sys
from datetime import date
from pathlib import Path

BLOCKED = {blocked!r}


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())

from typer.testing import CliRunner

from counter_app.cli import app as command
from counter_app.rules_engine import build_engine
from counter_app.storage.db import Database
from counter_app.sync.client import ClientConfig, run_sync
from counter_app.ui.app import build_app

db_path, url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
today = date(2026, 11, 23)
app = build_app("wuhu", db_path=db_path, today=today)


async def start():
    async with app.run_test() as pilot:
        for _ in range(600):  # the start-up work runs in workers: until the sign-in screen is up
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if type(app.screen).__name__ == "SignInScreen":
                break
        return type(app.screen).__name__


screen = asyncio.run(start())
helped = CliRunner().invoke(command, ["--help"])
report = run_sync(
    Database.open(db_path), build_engine("wuhu"), ClientConfig(url=url, token=token), today
)
# what the counter loaded (the command line registers ``counter-app province``, nothing more)
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in BLOCKED
    or (m.startswith("counter_app.province.") and m != "counter_app.province.commands")
)
serve = CliRunner().invoke(command, ["province", "serve", "--db", "sqlite:///x.db"])
print(json.dumps({{
    "screen": screen,
    "help": helped.exit_code,
    "serve": [serve.exit_code, serve.output],
    "accepted": report.tally.accepted,
    "reconciled": report.reconciled,
    "loaded": loaded,
}}))
"""


def test_counter_without_the_province_extra_starts_and_syncs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'province.db'}"
    store = ProvinceStore(url)
    db, signed = make_office(tmp_path / "office.db")
    token = store.add_office(signed.office_code, signed.office_name, "340200")
    add_events(db, signed, 5)
    server = ServerProcess(url, tmp_path).start()
    try:
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD.format(blocked=BLOCKED),
                str(db.path),
                server.base_url,
                token,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp_path,
        )
    finally:
        server.kill()
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["screen"] == "SignInScreen"
    assert result["help"] == 0
    # Only the server itself needs the extra: it says so in Chinese, no traceback.
    assert result["serve"][0] == 2 and "counter-app[province]" in result["serve"][1]
    assert result["accepted"] == 5 and result["reconciled"]
    assert result["loaded"] == []
    assert_exactly_once(db, url, signed.office_code, 5)
    store.close()
