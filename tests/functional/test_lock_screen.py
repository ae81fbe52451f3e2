"""The lock screen holds: every key the app and its screens bind, F1–F12 and the palette do nothing
under it, from every kind of screen, whether locked by Ctrl+L or by the idle time; only the
password (or signing out) leaves it, and wrong passwords there count toward the sign-in lock-out.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlmodel import func, select
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Label

import counter_app.ui
from counter_app.storage.clerks import sign_in as storage_sign_in
from counter_app.storage.models import AuditLog, Clerk, utcnow
from counter_app.ui.app import CounterApp
from counter_app.ui.claims.queue import ClaimsQueueScreen
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.lock import LockScreen
from counter_app.ui.screens.person import PersonScreen
from counter_app.ui.screens.search import SearchScreen
from counter_app.ui.screens.sign_in import SignInScreen
from counter_app.ui.wizard.steps import WizardStep
from tests.functional.conftest import open_db
from tests.functional.driving import open_person, settle, sign_in, type_text


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def every_key(app: CounterApp) -> list[str]:
    """Every key bound by the app (its palette key included) or by any screen of counter_app."""
    for module in pkgutil.walk_packages(counter_app.ui.__path__, "counter_app.ui."):
        importlib.import_module(module.name)
    keys = {f"f{n}" for n in range(1, 13)} | {"ctrl+p"}
    keys |= {key for key, _ in app._bindings}
    keys |= {key for key, _ in CounterApp._merge_bindings()}
    screens = [
        cls
        for cls in _subclasses(Screen)
        if cls.__module__.startswith("counter_app.") and cls is not LockScreen
    ]
    assert len(screens) >= 15, screens  # the enumeration found the screens
    for cls in screens:
        keys |= {key for key, _ in cls._merge_bindings()}
    assert {"f9", "ctrl+l", "slash", "v", "a", "escape", "f10"} <= keys
    return sorted(keys)


def _audit_count(app: CounterApp) -> int:
    db = open_db(app)
    with db.read() as session:
        count = session.exec(select(func.count()).select_from(AuditLog)).one()
    db.close()
    return count


def _within(node: object, lock: LockScreen) -> bool:
    return node is lock or (isinstance(node, Widget) and lock in node.ancestors)


async def assert_nothing_passes(pilot: Pilot, app: CounterApp) -> None:
    """Press every bound key under the lock: no action outside the lock screen, nothing moves."""
    lock = app.screen
    assert isinstance(lock, LockScreen)
    stack = list(app.screen_stack)
    audits = _audit_count(app)
    dispatched: list[tuple[object, str]] = []
    original = app._dispatch_action

    async def spy(namespace, action_name, params):  # type: ignore[no-untyped-def]
        dispatched.append((namespace, action_name))
        return await original(namespace, action_name, params)

    app._dispatch_action = spy  # type: ignore[method-assign]
    password = lock.query_one("#password", Input)
    keys = every_key(app)
    try:
        for key in keys:
            password.value = ""  # no key ends up as a password attempt
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is lock, (key, app.screen)
            assert list(app.screen_stack) == stack, key
            assert not CommandPalette.is_open(app), key
        # The palette by its action too, and through run_action like a click in a footer.
        assert await app.run_action("command_palette") is False
        assert await app.run_action("app.print_queue") is False
        assert list(app.get_system_commands(lock)) == []
        await settle(pilot)
    finally:
        app._dispatch_action = original  # type: ignore[method-assign]
    outside = [(type(ns).__name__, name) for ns, name in dispatched if not _within(ns, lock)]
    assert outside == []
    assert app.screen is lock and list(app.screen_stack) == stack
    assert _audit_count(app) == audits  # nothing viewed, printed or changed


async def unlock(pilot: Pilot, password: str = "demo1234") -> None:
    """Type the password on the lock screen."""
    field = pilot.app.screen.query_one("#password", Input)
    field.value = ""
    await type_text(pilot, password)
    await pilot.press("enter")
    await settle(pilot)


async def lock_by_key(pilot: Pilot, app: CounterApp) -> None:
    """Ctrl+L (a key press, as a clerk locks)."""
    await pilot.press("ctrl+l")
    await settle(pilot)


async def lock_by_idle(pilot: Pilot, app: CounterApp) -> None:
    """The idle time passes."""
    app.last_activity -= app.idle_limit() + 1
    app.check_idle_lock()
    await settle(pilot)


async def _to_dashboard(pilot: Pilot) -> None:
    await sign_in(pilot)


async def _to_search(pilot: Pilot) -> None:
    await sign_in(pilot)
    await pilot.press("slash")
    await settle(pilot)
    await type_text(pilot, "王")
    await settle(pilot)


async def _to_person(pilot: Pilot) -> None:
    await sign_in(pilot)
    await open_person(pilot, _a_demo_name(pilot.app))  # type: ignore[arg-type]


async def _to_claims_queue(pilot: Pilot) -> None:
    await sign_in(pilot)
    await pilot.press("l")
    await settle(pilot)


async def _to_wizard(pilot: Pilot) -> None:
    await _to_person(pilot)
    await pilot.press("n")
    await settle(pilot)


def _a_demo_name(app: CounterApp) -> str:
    """A 身份证号 of the demo data that finds exactly one person."""
    from counter_app.storage.models import Person

    db = open_db(app)
    with db.read() as session:
        person = session.exec(select(Person).order_by(Person.id)).first()
    db.close()
    assert person is not None
    return person.id_number


PLACES: dict[str, tuple[Callable[[Pilot], Awaitable[None]], type[Screen]]] = {
    "dashboard": (_to_dashboard, DashboardScreen),
    "search": (_to_search, SearchScreen),
    "person": (_to_person, PersonScreen),
    "claims_queue": (_to_claims_queue, ClaimsQueueScreen),
    "wizard": (_to_wizard, WizardStep),
}


@pytest.mark.parametrize("how", [lock_by_key, lock_by_idle], ids=["ctrl+l", "idle"])
@pytest.mark.parametrize("place", list(PLACES))
async def test_no_binding_or_palette_command_passes_the_lock(make_app, place: str, how) -> None:
    go, expected = PLACES[place]
    app = make_app("jiangsu", sign_in_attempts=20)
    async with app.run_test(size=(100, 40)) as pilot:
        await go(pilot)
        work = app.screen
        assert isinstance(work, expected), type(work)
        await how(pilot, app)
        assert isinstance(app.screen, LockScreen)
        await assert_nothing_passes(pilot, app)
        await unlock(pilot)
        assert app.screen is work  # back where the clerk was, nothing else on top
        assert not app.locked


async def test_locking_closes_the_palette_and_holds_dialogs_until_unlocked(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert CommandPalette.is_open(app)
        await lock_by_idle(pilot, app)
        assert isinstance(app.screen, LockScreen)
        assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        # A worker finishing under the lock wants a dialog and a notification: both wait.
        answers: list[bool | None] = []
        app.push_screen(
            ConfirmDialog("参保人王某的备案已打印，是否继续？"), callback=answers.append
        )
        app.notify("王某 备案已保存")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert not app._notifications
        await unlock(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert [n.message for n in app._notifications] == ["王某 备案已保存"]
        await pilot.press("y")
        await settle(pilot)
        assert answers == [True]
        assert isinstance(app.screen, DashboardScreen)


async def test_a_dialog_dismissed_under_the_lock_leaves_after_the_unlock(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        dialog = ConfirmDialog("继续？")
        app.push_screen(dialog)
        await settle(pilot)
        await lock_by_key(pilot, app)
        lock = app.screen
        dialog.dismiss(False)  # e.g. a timer of the dialog: it must not take the lock away
        await settle(pilot)
        assert app.screen is lock
        await unlock(pilot)
        assert isinstance(app.screen, DashboardScreen)


def _clerk(app: CounterApp) -> Clerk:
    db = open_db(app)
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == "demo")).one()
    db.close()
    return clerk


async def test_wrong_passwords_on_the_lock_screen_lock_the_account(make_app) -> None:
    app = make_app("jiangsu", sign_in_attempts=3, sign_in_lockout_minutes=30)
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        await lock_by_key(pilot, app)
        message = app.screen.query_one("#message", Label)
        for _ in range(2):
            await unlock(pilot, "wrong-pass")
            assert "密码不正确" in str(message.content)
        assert _clerk(app).failed_logins == 2
        await unlock(pilot, "wrong-pass")
        assert "锁定至" in str(message.content)
        clerk = _clerk(app)
        assert clerk.locked_until is not None
        # The right password is not even checked now.
        await unlock(pilot)
        assert isinstance(app.screen, LockScreen)
        assert "锁定至" in str(message.content)
        # Signing out (Ctrl+O twice) leads to the sign-in, which refuses the same clerk.
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert len(app.screen_stack) == 2  # the work is gone, not hidden
        await pilot.press("ctrl+p", "f9", "ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await sign_in(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert "锁定至" in str(app.screen.query_one("#message", Label).content)
        # Once the time has passed, the password works again and the counter resets.
        db = open_db(app)
        with db.write() as session:
            row = session.exec(select(Clerk).where(Clerk.username == "demo")).one()
            row.locked_until = utcnow() - timedelta(minutes=1)
            session.add(row)
        db.close()
        app.screen.query_one("#username", Input).value = ""
        app.screen.query_one("#username", Input).focus()
        await sign_in(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert _clerk(app).failed_logins == 0


def test_the_lock_out_is_kept_in_the_database(tmp_path) -> None:
    """Counted across restarts (a new connection), refused until the time, reset by success."""
    from counter_app.storage.clerks import AccountLocked, Lockout, add_clerk, ensure_office
    from counter_app.storage.db import Database

    path = tmp_path / "office.db"
    db = Database.open(path)
    ensure_office(db, "320101", "测试中心", "jiangsu", "320100")
    add_clerk(db, "320101", "zhang", "张三", "secret-pass")
    rule = Lockout(attempts=3, minutes=10)
    now = utcnow()
    assert storage_sign_in(db, "zhang", "nope", rule, now) is None
    db.close()
    db = Database.open(path)  # a restart
    assert storage_sign_in(db, "zhang", "nope", rule, now) is None
    with pytest.raises(AccountLocked):
        storage_sign_in(db, "zhang", "nope", rule, now)
    with pytest.raises(AccountLocked) as locked:
        storage_sign_in(db, "zhang", "secret-pass", rule, now + timedelta(minutes=9))
    assert "锁定至" in str(locked.value)
    signed = storage_sign_in(db, "zhang", "secret-pass", rule, now + timedelta(minutes=11))
    assert signed is not None
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == "zhang")).one()
        actions = [a.action for a in session.exec(select(AuditLog)).all()]
    assert clerk.failed_logins == 0 and clerk.locked_until is None
    assert actions.count("lockout") == 1 and actions.count("sign_in_locked") == 1
    # A right password between wrong ones resets the count.
    assert storage_sign_in(db, "zhang", "nope", rule, now + timedelta(minutes=12)) is None
    assert storage_sign_in(db, "zhang", "secret-pass", rule, now + timedelta(minutes=12))
    assert storage_sign_in(db, "zhang", "nope", rule, now + timedelta(minutes=12)) is None
    assert storage_sign_in(db, "zhang", "nope", rule, now + timedelta(minutes=12)) is None
    db.close()
