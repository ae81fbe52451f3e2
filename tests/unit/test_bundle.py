"""The offline bundle: built by ``scripts/bundle.sh``, installed into a fresh virtual environment
with networking off (a network namespace, ``unshare -n``), and the app starts from it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import counter_app

ROOT = Path(counter_app.__file__).resolve().parents[1]

#: Started inside the installed environment: the real app, headless, up to the sign-in screen.
START_APP = """
import asyncio, sys
from counter_app.ui.app import build_app

async def main():
    app = build_app("wuhu", True, db_path=sys.argv[1])
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        print("screen:", type(app.screen).__name__, "services:", app.services is not None)

asyncio.run(main())
"""


def _offline_prefix() -> list[str]:
    """A command prefix that runs without any network, or skip saying why there is none."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which("unshare") and subprocess.run([*prefix, "true"]).returncode == 0:
            return prefix
    pytest.skip("unshare -n is not permitted here: cannot run the install without a network")


@pytest.mark.slow
def test_the_bundle_installs_offline_and_the_app_starts(tmp_path: Path) -> None:
    offline = _offline_prefix()
    out = tmp_path / "bundle"
    built = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "bundle.sh"),
            "--out",
            str(out),
            "--platforms",
            "linux-x86_64",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if built.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"bundle.sh failed: {built.stderr[-2000:]}")
        pytest.skip(f"package index unreachable, no bundle built: {built.stderr[-500:]}")
    assert (out / "wheels" / "linux-x86_64").is_dir() and (tmp_path / "bundle.tar.gz").exists()
    assert "linux-x86_64" in (out / "MANIFEST.txt").read_text("utf-8")

    # Unpacked elsewhere (as from a USB stick), installed with no network at all.
    target = tmp_path / "stick"
    target.mkdir()
    subprocess.run(["tar", "-C", str(target), "-xzf", str(tmp_path / "bundle.tar.gz")], check=True)
    venv = tmp_path / "venv"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "COUNTER_"))
    }
    env |= {
        "PIP_CONFIG_FILE": os.devnull,  # no index configured either: --no-index must suffice
        "HOME": str(tmp_path),
        "COUNTER_CONFIG": str(tmp_path / "config.toml"),
    }
    env["PYTHON"] = "python3"
    installed = subprocess.run(
        [*offline, "bash", str(target / "bundle" / "install.sh"), str(venv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"counter-app {counter_app.__version__}" in installed.stdout

    started = subprocess.run(
        [*offline, str(venv / "bin" / "python"), "-c", START_APP, str(tmp_path / "demo.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the source tree: the installed package must be the one imported
        timeout=300,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    assert "screen: SignInScreen services: True" in started.stdout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import counter_app; print(counter_app.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert str(venv) in where.stdout  # installed from the bundle, not the checkout

    broken = target / "bundle" / "VERSION"
    broken.write_text("0.0.0\n")  # a file changed after building: the install refuses
    refused = subprocess.run(
        [*offline, "bash", str(target / "bundle" / "install.sh"), str(tmp_path / "venv2")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode != 0 and "不完整或被改动" in refused.stderr
