"""The domain stays pure: importing it pulls in no UI, storage, printing or network library."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import counter_app.domain

FORBIDDEN = ("textual", "sqlalchemy", "sqlmodel", "reportlab", "escpos", "httpx")
DOMAIN_MODULES = sorted(
    f"counter_app.domain.{m.name}" for m in pkgutil.iter_modules(counter_app.domain.__path__)
)

#: The folder holding the ``counter_app`` under test; the probe imports that one, not whatever
#: the probe's working directory happens to hold.
SOURCE_ROOT = Path(counter_app.__file__).resolve().parents[1]

PROBE = """
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after_importing(names: list[str], workdir: Path) -> set[str]:
    """The modules loaded by a fresh interpreter that imports ``names`` and nothing else."""
    path = os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(names)],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def offenders(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


def test_the_domain_modules_are_found() -> None:
    expected = {"engine", "filing", "claim", "payment", "checklist", "policy", "requests"}
    assert {f"counter_app.domain.{n}" for n in expected} <= set(DOMAIN_MODULES)


def test_importing_the_domain_loads_no_forbidden_library(tmp_path: Path) -> None:
    modules = loaded_after_importing(["counter_app.domain", *DOMAIN_MODULES], tmp_path)
    assert set(DOMAIN_MODULES) <= modules
    assert offenders(modules) == []
    assert not any(m == "counter_app.ui" or m.startswith("counter_app.ui.") for m in modules)
    assert "counter_app.cli" not in modules


def test_the_probe_would_notice_a_forbidden_import(tmp_path: Path) -> None:
    """Guard against a probe that cannot fail: importing textual is seen."""
    assert offenders(loaded_after_importing(["textual"], tmp_path)) != []
