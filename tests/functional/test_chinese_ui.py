"""No English from Textual's built-ins: footer, command palette, Select drop-down, messages."""

from __future__ import annotations

from textual.widgets import Select

from counter_app.ui.widgets.chinese import NO_MATCHES, PALETTE_PLACEHOLDER
from counter_app.ui.widgets.footer import screen_keys
from tests.functional.driving import focus, settle, sign_in, type_text
from tests.functional.screen_text import BUILT_IN_WORDS, english_words, screen_lines


async def test_footer_and_palette_speak_chinese(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        footer = screen_lines(app)[-1]
        assert "palette" not in footer and "更多" in footer
        keys = {e.description: e.display for e in screen_keys(app.screen)}
        assert keys["命令"] == "^p"  # the palette key is listed under 更多, in Chinese
        await pilot.press("ctrl+p")
        await settle(pilot)
        lines = screen_lines(app)
        assert any(PALETTE_PLACEHOLDER in line for line in lines)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "查找参保人" in titles and "退出" in titles
        assert not {"Keys", "Maximize", "Quit", "Screenshot", "Theme"} & set(titles)
        await type_text(pilot, "xyzxyz")
        for _ in range(200):  # the palette searches after a short delay: until it has answered
            await settle(pilot)
            lines = screen_lines(app)
            if any(NO_MATCHES in line for line in lines):
                break
            await pilot.pause(0.05)
        assert any(NO_MATCHES in line for line in lines)
        assert not english_words(lines) & BUILT_IN_WORDS


async def test_an_open_drop_down_shows_no_english(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        await pilot.press("r")  # the rules screen has drop-downs
        await settle(pilot)
        select = app.screen.query(Select).first()
        await focus(pilot, str(select.id))
        await pilot.press("enter")
        await settle(pilot)
        assert select.expanded
        lines = screen_lines(app)
        assert not english_words(lines) & BUILT_IN_WORDS, lines[-1]
        assert "收起列表" in lines[-1]
