"""The filing-rules screen, driven by keyboard through Textual's Pilot."""

from __future__ import annotations

from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.filing_rules import FilingRulesScreen
from counter_app.ui.widgets.verdict import Verdict
from tests.functional.driving import settle, sign_in


async def _ready(pilot) -> FilingRulesScreen:
    await sign_in(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FilingRulesScreen)
    return screen


def _verdict_text(screen: FilingRulesScreen) -> str:
    return str(screen.query_one(Verdict).render())


async def test_typing_a_person_and_destination_updates_the_verdict(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _ready(pilot)
        assert "姓名" not in _verdict_text(screen)  # a phone enquiry needs no person
        await pilot.press(*"张三", "tab", *"11010519491231002X")
        for _ in range(4):
            await pilot.press("tab")
        await pilot.press(*"hainan")
        await pilot.pause()
        text = _verdict_text(screen)
        assert "暂不能办理" in text
        assert "海南省" in text
        # 芜湖 requires the 备案表 (芜规程 第八条), so it is named among the missing materials.
        assert "安徽省异地就医登记备案表" in text
        assert "芜规程 第八条" in text


async def test_ticking_every_material_makes_the_filing_allowed(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _ready(pilot)
        await pilot.press(*"李四", "tab", *"11010519491231002X")
        for _ in range(4):
            await pilot.press("tab")
        await pilot.press(*"340100")  # 合肥: in-province for 芜湖
        await pilot.pause()
        assert "应按省内异地就医办理" in _verdict_text(screen)
        from textual.widgets import Select, SelectionList

        screen.query_one("#scope", Select).value = "in_province"
        materials = screen.query_one("#materials", SelectionList)
        materials.focus()
        for material in ("id_card", "filing_form", "residence_proof"):
            materials.select(material)
        await pilot.pause()
        text = _verdict_text(screen)
        assert "可以办理" in text, text
        assert "长期有效" in text
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "就医地" in _verdict_text(screen) and "可以办理" not in _verdict_text(screen)


async def test_escape_goes_back_to_the_dashboard(make_app) -> None:
    app = make_app("beijing")
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_a_phone_enquiry_gets_a_verdict_without_a_person(make_app) -> None:
    app = make_app("wuhu")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await _ready(pilot)
        for _ in range(5):
            await pilot.press("tab")
        await pilot.press(*"hainan")
        await pilot.pause()
        text = _verdict_text(screen)
        assert "未填参保人" in text and "海南省" in text
        assert "姓名：请填写" not in text and "身份证号" not in text.split("\n", 1)[1]
        assert "安徽省异地就医登记备案表" in text  # the materials the region asks for
