"""An encrypted office database in the app: nothing is read before sign-in, a clerk's password
opens it, a wrong one says so in Chinese and leaves it closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label

from counter_app.rules_engine import build_engine
from counter_app.storage import keyslots
from counter_app.storage.clerks import add_clerk, ensure_office
from counter_app.storage.demo import seed_demo
from counter_app.storage.encryption import create_encrypted, file_state
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.sign_in import SignInScreen
from tests.functional.conftest import TODAY
from tests.functional.driving import settle, sign_in, type_text


@pytest.fixture
def encrypted_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo office's data, in an encrypted database (``demo`` has a slot)."""
    monkeypatch.setattr(keyslots, "DEFAULT_COST", keyslots.KdfCost(1, 1024, 1))
    path = tmp_path / "office.db"
    db, _ = create_encrypted(path, "demo", "demo1234")
    seed_demo(db, build_engine("jiangsu"), TODAY)
    ensure_office(db, "320102", "玄武区医保中心", "jiangsu", "320100")
    add_clerk(db, "320102", "li", "李经办", "li-pass-01")
    db.close()
    assert file_state(path) == "encrypted"
    return path


async def test_sign_in_opens_the_encrypted_database(make_app, encrypted_office: Path) -> None:
    app = make_app("jiangsu", demo=False, db_path=encrypted_office)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.services is not None and app.services.db.locked
        await sign_in(pilot, "demo", "wrong-password")
        assert isinstance(app.screen, SignInScreen)
        for _ in range(60):  # the slot's argon2 check may still be running on a loaded machine
            if "正在验证" not in str(app.screen.query_one("#message", Label).content):
                break
            await settle(pilot)
        assert "用户名或密码不正确" in str(app.screen.query_one("#message", Label).content)
        assert app.services.db.locked
        # The password field is cleared and focused; the user name stays.
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen), type(app.screen)
        assert not app.services.db.locked


async def test_the_automatic_backup_of_an_encrypted_database_is_encrypted(
    make_app, encrypted_office: Path, tmp_path: Path
) -> None:
    from counter_app.storage.backup import check_file, list_backups
    from counter_app.storage.keyslots import slot_file_path

    usb = tmp_path / "usb"
    app = make_app(
        "jiangsu",
        demo=False,
        db_path=encrypted_office,
        backup={"enabled": True, "places": [usb], "interval_minutes": 60},
    )
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await sign_in(pilot, "demo", "demo1234")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen), type(app.screen)
        found = list_backups(encrypted_office, [usb])
        assert len(found) == 1, [n.message for n in app._notifications]
        file = found[0].path
        assert file_state(file) == "encrypted" and slot_file_path(file).exists()
        assert check_file(file, app.services.db.key) is None
        assert not [n for n in app._notifications if "自动备份未完成" in n.message]
