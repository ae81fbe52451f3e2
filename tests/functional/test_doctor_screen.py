"""系统检查 in the TUI: the supervisor reaches it from the command palette; it shows every check
of ``counter-app doctor`` with what to do; clerks are not offered it."""

from __future__ import annotations

import pytest

from counter_app.ui.screens.doctor import DoctorScreen
from tests.functional.driving import settle, sign_in, type_text
from tests.functional.screen_text import BUILT_IN_WORDS, english_words, screen_lines
from tests.functional.test_every_screen import SIZES, problems


@pytest.mark.parametrize("size", SIZES)
async def test_the_supervisor_runs_the_health_check_from_the_palette(make_app, size) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=size) as pilot:
        await sign_in(pilot, "admin", "admin1234")
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "系统检查")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DoctorScreen)
        await app.workers.wait_for_complete()
        await settle(pilot)
        text = "\n".join(screen_lines(app))
        for name in ("数据库完整性", "数据结构版本", "磁盘剩余空间", "最新备份", "数据库加密"):
            assert name in text, name
        assert "共 " in text and "项：" in text
        # Paths and commands (counter-app backup now) are English on purpose; nothing else is.
        found = problems(pilot, "health check")
        assert [p for p in found if "English words" not in p] == []
        assert not english_words(screen_lines(app)) & BUILT_IN_WORDS
        await pilot.press("f5")  # runs again
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "正在检查" not in "\n".join(screen_lines(app))


async def test_a_clerk_is_not_offered_the_health_check(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "系统检查" not in titles
        app.action_doctor()
        await settle(pilot)
        assert not isinstance(app.screen, DoctorScreen)
