"""First run: from an empty database through the set-up wizard to a signed-in dashboard.

The test print goes to a receipt printer listening on loopback TCP; the connection test goes to
the real provincial store (``counter-app province serve``) on loopback.
"""

from __future__ import annotations

import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from counter_app.golive import WARNING
from counter_app.province.store import ProvinceStore
from counter_app.storage.encryption import slot_names, unlock_with_recovery
from counter_app.storage.models import AuditLog, Clerk, Office
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.setup import (
    BackupStep,
    OfficeStep,
    PrinterStep,
    RecoveryKeyScreen,
    RegionStep,
    StoreStep,
    SupervisorStep,
)
from counter_app.ui.screens.setup_golive import ConfirmValueDialog, GoLiveScreen
from counter_app.ui.screens.sign_in import SignInScreen
from tests.functional.conftest import TODAY, open_db
from tests.functional.driving import settle, sign_in, type_text
from tests.support.province import ServerProcess
from tests.unit.test_printing_queue import Listener


@pytest.fixture
def province(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The provincial store on loopback with 镜湖区 (340202) registered: its URL and the token."""
    monkeypatch.setenv("COUNTER_PROVINCE_KEY", str(tmp_path / "province-signing.key"))
    url = f"sqlite:///{tmp_path / 'province.db'}"
    store = ProvinceStore(url)
    token = store.add_office("340202", "镜湖区医疗保障服务中心", "340200")
    store.close()
    server = ServerProcess(url, tmp_path).start()
    yield server.base_url, token
    server.kill()


@pytest.fixture
def printer() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


async def _next(pilot, step_type: type) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f10")
    await settle(pilot)
    assert not isinstance(pilot.app.screen, step_type), pilot.app.screen.query_one(
        "#setup_message"
    ).render()


@pytest.mark.parametrize("encryption", [True, False], ids=["encrypted", "plain"])
async def test_empty_database_to_dashboard_through_the_set_up(
    make_app, tmp_path: Path, province: tuple[str, str], printer: Listener, encryption: bool
) -> None:
    """A real office (encryption on by default) ends with an encrypted database whose recovery key
    was shown once; with ``encryption = false`` the database stays a plain SQLite file."""
    store_url, token = province
    config = tmp_path / "config.toml"
    app = make_app("wuhu", demo=False, encryption=encryption)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.sub_title != "示例县医疗保障服务中心"
        # 1. region and office by code: the home pool is filled in
        assert isinstance(app.screen, RegionStep)
        await type_text(pilot, "镜湖")
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)
        chosen = str(app.screen.query_one("#setup_chosen").render())
        assert "340202" in chosen and "340200" in chosen
        await _next(pilot, RegionStep)
        # 2. office details (name prefilled from the code list)
        assert isinstance(app.screen, OfficeStep)
        await pilot.press("tab")
        await type_text(pilot, "赭山路1号")
        await pilot.press("tab")
        await type_text(pilot, "0553-1234567")
        await _next(pilot, OfficeStep)
        # 3. the supervisor: passwords that differ are refused
        assert isinstance(app.screen, SupervisorStep)
        await type_text(pilot, "王科长")
        await pilot.press("tab")
        await type_text(pilot, "wangke")
        await pilot.press("tab")
        await type_text(pilot, "secret-123")
        await pilot.press("tab")
        await type_text(pilot, "secret-124")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, SupervisorStep)
        assert "两次输入的密码不一致" in str(app.screen.query_one("#setup_message").render())
        await pilot.press("backspace", "3")
        await _next(pilot, SupervisorStep)
        recovery = ""
        if encryption:
            # the recovery key, shown this once, before anything else
            assert isinstance(app.screen, RecoveryKeyScreen)
            recovery = str(app.screen.query_one("#recovery_key").render())
            assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){7}", recovery), recovery
            assert "只显示这一次" in str(app.screen.query_one("#recovery_advice").render())
            assert "抄写" in str(app.screen.query_one("#recovery_advice").render())
            await pilot.press("f10")
            await settle(pilot)
        assert app.services.db.encrypted is encryption
        # 4. a receipt printer on loopback TCP, with a test print
        assert isinstance(app.screen, PrinterStep)
        app.screen.query_one("#setup_paddress").focus()
        await type_text(pilot, f"127.0.0.1:{printer.port}")
        await pilot.press("f5")
        await settle(pilot)
        assert printer.done.wait(10)
        assert "打印测试页".encode("gb18030") in printer.received
        assert "测试页已发送" in str(app.screen.query_one("#setup_message").render())
        # F4 keeps this printer and asks for another: an A4 laser saved as files
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, PrinterStep) and "第 4/7 步" in str(
            app.screen.query_one(".title").render()
        )
        app.screen.query_one("#setup_pname").value = "A4 保存为文件"
        app.screen.query_one("#setup_kind").value = "file"
        app.screen.query_one("#setup_paper").value = "a4"
        app.screen.query_one("#setup_paddress").focus()
        await type_text(pilot, str(tmp_path / "prints"))
        await _next(pilot, PrinterStep)
        # 5. the provincial store: a wrong token is refused, the right one checked by office code
        assert isinstance(app.screen, StoreStep)
        await type_text(pilot, store_url)
        await pilot.press("tab")
        await type_text(pilot, token)
        await pilot.press("f5")
        await settle(pilot)
        message = str(app.screen.query_one("#setup_message").render())
        assert "连接正常" in message and "340202" in message, message
        await _next(pilot, StoreStep)
        # 6. backups: a folder on another disk, the backups' own setting
        assert isinstance(app.screen, BackupStep)
        await type_text(pilot, str(tmp_path / "usb"))
        await _next(pilot, BackupStep)
        # 7. go-live check: confirm one value with the office's own figure
        assert isinstance(app.screen, GoLiveScreen)
        before = len(app.screen.items)
        assert before > 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmValueDialog)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, GoLiveScreen)
        assert len(app.screen.items) == before - 1
        await pilot.press("f10")
        await settle(pilot)
        # signed in as the new supervisor, on the dashboard, warned about the example values
        assert isinstance(app.screen, SignInScreen)
        assert app.title == "镜湖区医疗保障服务中心"
        await sign_in(pilot, "wangke", "secret-123")
        assert isinstance(app.screen, DashboardScreen)
        await settle(pilot)
        assert WARNING in app.sub_title

    header = app.settings.database_path().read_bytes()[:16]
    assert (header == b"SQLite format 3\x00") is not encryption
    db = open_db(app)
    if encryption:
        assert db.locked and slot_names(app.settings.database_path()) == ["wangke"]
        unlock_with_recovery(db, recovery)  # the key shown works
    with db.read() as session:
        office = session.exec(select(Office)).one()
        clerk = session.exec(select(Clerk)).one()
        actions = {row.action for row in session.exec(select(AuditLog))}
    db.close()
    assert (office.code, office.pool_code, office.policy) == ("340202", "340200", "wuhu")
    assert office.address == "赭山路1号" and office.phone == "0553-1234567"
    assert clerk.role == "supervisor" and clerk.password_hash.startswith("$argon2")
    assert {"golive_confirm", "sign_in"} <= actions
    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert settings["policy"] == "wuhu"
    assert settings["sync"] == {"url": store_url, "token": token}
    assert settings["printers"][0]["address"] == f"127.0.0.1:{printer.port}"
    assert settings["printers"][1] == {
        "name": "A4 保存为文件",
        "kind": "file",
        "address": str(tmp_path / "prints"),
        "paper": "a4",
    }
    assert app.settings.sync.url == store_url  # this run uses the store at once
    assert settings["backup"] == {"places": [str(tmp_path / "usb")]}
    assert app.settings.backup_places() == [tmp_path / "usb"]
    assert Path(settings["pack_file"]).exists()
    assert TODAY  # the fixture's fixed day is the app's today


async def test_an_office_made_before_the_set_up_is_encrypted_with_its_first_supervisor(
    make_app, tmp_path: Path
) -> None:
    """An office made with ``counter-app office add`` (a plain file, no clerk): the supervisor
    step converts the database (no plain copy left), shows the recovery key, and the
    supervisor's password opens it at the sign-in."""
    from counter_app.storage.clerks import ensure_office
    from counter_app.storage.db import Database

    path = tmp_path / "real.db"
    db = Database.open(path)
    ensure_office(db, "340202", "镜湖区医疗保障服务中心", "wuhu", "340200")
    db.close()
    app = make_app("wuhu", demo=False, db_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SupervisorStep)
        await type_text(pilot, "王科长")
        await pilot.press("tab")
        await type_text(pilot, "wangke")
        await pilot.press("tab")
        await type_text(pilot, "secret-123")
        await pilot.press("tab")
        await type_text(pilot, "secret-123")
        await _next(pilot, SupervisorStep)
        assert isinstance(app.screen, RecoveryKeyScreen)
        recovery = str(app.screen.query_one("#recovery_key").render())
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, PrinterStep)
        assert not path.read_bytes().startswith(b"SQLite format 3")
        assert not path.with_name("real.db.before-encrypt").exists()
        assert app.services.db.encrypted and not app.services.db.locked
        for _ in range(3):  # printers, store, backups: later
            await pilot.press("f2")
            await settle(pilot)
        assert isinstance(app.screen, GoLiveScreen)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.services.db.locked  # opened again: only a key slot opens it
        await sign_in(pilot, "wangke", "secret-123")
        assert isinstance(app.screen, DashboardScreen)
    db = open_db(app)
    unlock_with_recovery(db, recovery)
    with db.read() as session:
        assert session.exec(select(Clerk.username)).all() == ["wangke"]
    db.close()
