"""The footer (or its 更多 list) says what F10 does on each step of both wizards: the next
step's name, or 提交 / 受理 on the last (issue 14 item 5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from counter_app.ui.widgets.footer import screen_keys
from counter_app.ui.wizard.steps import WizardStep
from tests.functional.driving import choose, fill, settle, sign_in, type_text
from tests.functional.test_claim_flows import scenarios


def f10_says(pilot: Pilot) -> str:
    """The description of F10 on the current screen (footer or 更多)."""
    return next(e.description for e in screen_keys(pilot.app.screen) if e.key == "f10")


async def walk(
    pilot: Pilot,
    key: str,
    steps: int,
    fill_in: Callable[[Pilot, int], Awaitable[None]] | None = None,
) -> list[tuple[str, str]]:
    """Open a wizard with ``key`` on the person page, press F10 through it (``fill_in`` fills
    a step that needs values to go on); each step's title and what its F10 says."""
    await pilot.press("slash")
    await settle(pilot)
    await type_text(pilot, "z")
    for k in ("enter", "enter", key):
        await pilot.press(k)
        await settle(pilot)
    seen: list[tuple[str, str]] = []
    for index in range(steps):
        screen = pilot.app.screen
        assert isinstance(screen, WizardStep), screen
        assert screen.index == index, (screen.STEP_TITLE, seen)
        seen.append((screen.STEP_TITLE, f10_says(pilot)))
        if fill_in is not None:
            await fill_in(pilot, index)
        if index < steps - 1:
            await pilot.press("f10")
            await settle(pilot)
    return seen


async def test_f10_names_the_next_step_on_every_filing_step(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        seen = await walk(pilot, "n", 5)
    assert seen == [
        ("人员类别", "下一步：就医地"),
        ("就医地", "下一步：材料"),
        ("材料", "下一步：日期"),
        ("日期", "下一步：核对提交"),
        ("核对提交", "提交"),
    ]


async def test_f10_names_the_next_step_on_every_claim_step(make_app) -> None:
    app = make_app("jiangsu")
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot)
        scenario = scenarios("jiangsu")[0]

        async def fill_in(pilot: Pilot, index: int) -> None:
            if index == 1:  # 就医: the treatment and its dates
                await choose(pilot, "treatment", scenario.treatment)
                await choose(pilot, "hospital_level", scenario.level)
                for name in ("admission", "discharge", "visit"):
                    value = getattr(scenario, name)
                    if value:
                        await fill(
                            pilot, f"{name}_date" if name != "visit" else "visit_date", value
                        )
            elif index == 5:  # 金额
                for name, value in scenario.amounts.items():
                    await fill(pilot, name, value)

        seen = await walk(pilot, "b", 7, fill_in)
    assert seen == [
        ("情形", "下一步：就医"),
        ("就医", "下一步：特殊情况"),
        ("特殊情况", "下一步：材料"),
        ("材料", "下一步：明细（补材料齐全即受理）"),
        ("明细", "下一步：金额"),
        ("金额", "下一步：核对"),
        ("核对", "受理"),
    ]
