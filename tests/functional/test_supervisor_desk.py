"""The supervisor's desk in the UI: clerk management, the audit trail screen, and what the
sign-in says (a disabled account, a reset password, a lock-out counted across the sign-in and
the lock screen, until when)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from textual.widgets import Input, Label

from counter_app.storage.demo import SUPERVISOR_PASSWORD, SUPERVISOR_USER
from counter_app.storage.models import AuditLog, Clerk
from counter_app.ui.messages import OpenClaim
from counter_app.ui.screens.audit import AuditScreen
from counter_app.ui.screens.clerks import ClerkDialog, ClerksScreen
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.lock import LockScreen
from counter_app.ui.screens.sign_in import ChangePasswordDialog, SignInScreen
from tests.functional.conftest import open_db
from tests.functional.driving import settle, sign_in, type_text


def _clerk(app, username: str) -> Clerk:  # type: ignore[no-untyped-def]
    db = open_db(app)
    with db.read() as session:
        row = session.exec(select(Clerk).where(Clerk.username == username)).one()
    db.close()
    return row


def _message(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#message", Label).content)


async def _sign_out(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+l")
    await settle(pilot)
    await pilot.press("ctrl+o", "ctrl+o")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SignInScreen)


async def _fresh_sign_in(pilot, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    screen.query_one("#username", Input).value = ""
    screen.query_one("#password", Input).value = ""
    screen.query_one("#username", Input).focus()
    await sign_in(pilot, username, password)


async def test_supervisor_adds_resets_and_disables_a_clerk(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, SUPERVISOR_USER, SUPERVISOR_PASSWORD)
        assert isinstance(app.screen, DashboardScreen)
        app.open_clerks()
        await settle(pilot)
        assert isinstance(app.screen, ClerksScreen)
        # add
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ClerkDialog)
        await type_text(pilot, "李四")
        await pilot.press("tab")
        await type_text(pilot, "lisi")
        await pilot.press("tab", "tab")
        await type_text(pilot, "first-pass")
        await pilot.press("tab")
        await type_text(pilot, "first-pass")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ClerksScreen)
        screen = app.screen
        assert "lisi" in [row.username for row in screen.rows]
        # reset the new clerk's password
        index = [row.username for row in screen.rows].index("lisi")
        screen.query_one("#clerks_table").move_cursor(row=index)
        await pilot.press("r")
        await settle(pilot)
        await type_text(pilot, "temp-pass-1")
        await pilot.press("tab")
        await type_text(pilot, "temp-pass-1")
        await pilot.press("f10")
        await settle(pilot)
        assert _clerk(app, "lisi").must_change_password
        # the clerk must choose a new password at the next sign-in
        await _sign_out(pilot)
        await _fresh_sign_in(pilot, "lisi", "temp-pass-1")
        assert isinstance(app.screen, ChangePasswordDialog)
        await type_text(pilot, "own-pass-22")
        await pilot.press("enter")
        await type_text(pilot, "own-pass-22")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not _clerk(app, "lisi").must_change_password
        # the supervisor disables the clerk: the sign-in says so, history is kept
        await _sign_out(pilot)
        await _fresh_sign_in(pilot, SUPERVISOR_USER, SUPERVISOR_PASSWORD)
        app.open_clerks()
        await settle(pilot)
        screen = app.screen
        index = [row.username for row in screen.rows].index("lisi")
        screen.query_one("#clerks_table").move_cursor(row=index)
        await pilot.press("x")
        await settle(pilot)
        assert not _clerk(app, "lisi").active
        await _sign_out(pilot)
        await _fresh_sign_in(pilot, "lisi", "own-pass-22")
        assert isinstance(app.screen, SignInScreen)
        assert "已停用" in _message(app)
    db = open_db(app)
    with db.read() as session:
        lisi = session.exec(select(Clerk).where(Clerk.username == "lisi")).one()
        boss = session.exec(select(Clerk).where(Clerk.username == SUPERVISOR_USER)).one()
        entries = session.exec(select(AuditLog).where(AuditLog.entity == "clerk")).all()
    db.close()
    by_boss = {(e.action, e.entity_id) for e in entries if e.clerk_id == boss.id}
    assert {("create", str(lisi.id)), ("reset_password", str(lisi.id))} <= by_boss
    assert ("disable", str(lisi.id)) in by_boss
    assert any(e.action == "sign_in" and e.clerk_id == lisi.id for e in entries)


async def test_lock_out_counts_the_lock_screen_and_the_sign_in_together(make_app) -> None:
    app = make_app("jiangsu", sign_in_attempts=3, sign_in_lockout_minutes=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        for _ in range(2):  # two wrong at the lock screen
            await type_text(pilot, "wrong-pass")
            await pilot.press("enter")
            await settle(pilot)
        assert _clerk(app, "demo").failed_logins == 2
        await pilot.press("ctrl+o", "ctrl+o")
        await settle(pilot)
        await _fresh_sign_in(pilot, "demo", "wrong-pass")  # the third, at the sign-in
        clerk = _clerk(app, "demo")
        assert clerk.locked_until is not None
        until = app.settings.local(clerk.locked_until)
        message = _message(app)
        assert "连续输错 3 次" in message and f"锁定至 {until:%Y-%m-%d %H:%M}" in message
        await _fresh_sign_in(pilot, "demo", "demo1234")  # the right one is not checked now
        assert isinstance(app.screen, SignInScreen)
        assert "锁定至" in _message(app)


async def test_audit_screen_filters_and_exports_and_is_audited(make_app, tmp_path: Path) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, SUPERVISOR_USER, SUPERVISOR_PASSWORD)
        app.open_audit()
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        screen = app.screen
        # the app's today is fixed in tests, the log's times are real: the whole log
        screen.query_one("#audit_start", Input).value = ""
        screen.query_one("#audit_end", Input).value = ""
        await type_text(pilot, "demo")  # the clerk filter has the focus
        await pilot.press("enter")
        await settle(pilot)
        assert screen.lines and {line.clerk for line in screen.lines} == {"演示经办人（demo）"}
        await pilot.press("f6")
        await settle(pilot)
        message = str(screen.query_one("#audit_message", Label).content)
        assert "已导出" in message
        exported = next((tmp_path / "audit-exports").glob("*.csv"))
        text = exported.read_text(encoding="utf-8-sig")
        assert "演示经办人（demo）" in text and "演示科长" not in text
        assert oct(exported.stat().st_mode & 0o777) == "0o600"
    db = open_db(app)
    with db.read() as session:
        actions = [e.action for e in session.exec(select(AuditLog))]
    db.close()
    assert "audit_view" in actions and "audit_export" in actions


async def test_settling_on_example_values_asks_a_supervisor(make_app, tmp_path: Path) -> None:
    from counter_app.domain.claim_lifecycle import REVIEWING
    from counter_app.golive import WARNING
    from counter_app.rules_engine import build_engine
    from counter_app.storage.db import Database
    from counter_app.storage.demo import seed_demo
    from counter_app.storage.models import Claim
    from counter_app.ui.claims.page import ClaimScreen
    from counter_app.ui.dialogs.confirm import ConfirmDialog
    from counter_app.ui.dialogs.text_input import SupervisorDialog
    from tests.functional.conftest import TODAY

    path = tmp_path / "real.db"
    db = Database.open(path)
    seed_demo(db, build_engine("jiangsu"), TODAY)
    with db.read() as session:
        number = session.exec(select(Claim.number).where(Claim.status == REVIEWING)).first()
    db.close()
    assert number is not None
    # a real office (not the demo) still on the shipped pack's example values
    app = make_app("jiangsu", demo=False, db_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await settle(pilot)
        assert WARNING in app.sub_title
        app.post_message(OpenClaim(number))
        await settle(pilot)
        assert isinstance(app.screen, ClaimScreen)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SupervisorDialog)
        await type_text(pilot, "demo")  # a clerk may not confirm
        await pilot.press("enter")
        await type_text(pilot, "demo1234")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SupervisorDialog)
        assert "不是本机构的科长" in _message(app)
        app.screen.query_one("#username", Input).value = SUPERVISOR_USER
        app.screen.query_one("#password", Input).value = ""
        app.screen.query_one("#password", Input).focus()
        await type_text(pilot, SUPERVISOR_PASSWORD)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
    db = open_db(app)
    with db.read() as session:
        claim = session.exec(select(Claim).where(Claim.number == number)).one()
        assert claim.status == "settled"
        signed = session.exec(
            select(AuditLog).where(AuditLog.action == "golive_example_sign_off")
        ).all()
    db.close()
    assert [entry.entity_id for entry in signed] == [number]


async def test_the_header_warning_goes_once_every_value_is_confirmed(
    make_app, tmp_path: Path
) -> None:
    from counter_app.golive import (
        WARNING,
        confirm_value,
        example_values,
        start_office_pack,
    )
    from counter_app.packs import load_pack
    from counter_app.rules_engine import build_engine
    from counter_app.storage.db import Database
    from counter_app.storage.demo import seed_demo
    from tests.functional.conftest import TODAY

    path = tmp_path / "real.db"
    db = Database.open(path)
    seed_demo(db, build_engine("jiangsu"), TODAY)
    db.close()
    pack_file = start_office_pack("jiangsu", tmp_path / "own.toml", "320100", "南京市")
    items = example_values(load_pack(pack_file))
    for item in items[1:]:
        confirm_value(pack_file, item)

    async def header() -> str:
        app = make_app("jiangsu", demo=False, db_path=path, pack_file=pack_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot)
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            return app.sub_title

    assert WARNING in await header()  # one left
    confirm_value(pack_file, items[0])
    assert WARNING not in await header()


async def test_an_office_without_a_clerk_opens_the_set_up_at_the_supervisor(
    make_app, tmp_path: Path
) -> None:
    """An office made with ``counter-app office add`` but no clerk: the set-up asks for the
    supervisor (the office steps are done); with no clerk the sign-in would say how to make one."""
    from counter_app.storage.clerks import NO_CLERK_MESSAGE, ensure_office
    from counter_app.storage.db import Database
    from counter_app.ui.screens.setup import SupervisorStep

    path = tmp_path / "real.db"
    db = Database.open(path)
    ensure_office(db, "340202", "镜湖区医疗保障服务中心", "wuhu", "340200")
    db.close()
    app = make_app("wuhu", demo=False, db_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SupervisorStep)
        assert "第 1/5 步" in str(app.screen.query_one(".title", Label).content)
        assert app.title == "设置向导"
        # the sign-in itself, were it reached with no clerk, says how to make one
        app.push_screen(SignInScreen(app.services))
        await settle(pilot)
        await sign_in(pilot, "anyone", "whatever-1")
        assert _message(app) == NO_CLERK_MESSAGE


async def test_a_supervisor_reopens_the_set_up_from_the_palette(make_app) -> None:
    from counter_app.ui.screens.setup import BackupStep, PrinterStep, StoreStep
    from counter_app.ui.screens.setup_golive import GoLiveScreen

    app = make_app("jiangsu")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, SUPERVISOR_USER, SUPERVISOR_PASSWORD)
        await pilot.press("ctrl+p")
        await type_text(pilot, "设置向导")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PrinterStep)  # the office and its supervisor exist
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, StoreStep)
        await type_text(pilot, "http://127.0.0.1:9")
        await pilot.press("tab")
        await type_text(pilot, "token")
        await pilot.press("f5")
        await settle(pilot)
        assert "连接失败" in str(app.screen.query_one("#setup_message", Label).content)
        await pilot.press("f2", "f2")
        await settle(pilot)
        assert isinstance(app.screen, GoLiveScreen)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not isinstance(app.screen, BackupStep)
