"""The sync screens driven by keys against a real provincial server on loopback.

A demo office (芜湖 镜湖区 340202) syncs its day from the sync screen (F9, progress in a worker),
reviews the online application it pulled (Y), sends the answer, and a supervisor signs the day
close (F10) after a clerk was refused; the header shows the terminal, online and the last sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from textual.widgets import DataTable, Label, Static

from counter_app.province.store import ProvinceStore
from counter_app.storage.db import Database
from counter_app.storage.models import Filing, OutboxEvent, Person
from counter_app.ui.screens.dashboard import DashboardScreen
from counter_app.ui.screens.person import PersonScreen
from tests.functional.conftest import TODAY
from tests.functional.driving import open_person, settle, sign_in
from tests.support.province import ServerProcess

OFFICE = "340202"
APPLICATION = {
    "person": {"name": "韩宝驹", "id_number": "110105194912310038"},
    "insurance": "employee",
    "category": "long_term_resident",
    "scope": "cross_province",
    "destination": "460105",
    "basis": "commitment",
    "materials": ["id_card", "filing_form", "commitment_letter"],
    "submitted_on": TODAY.isoformat(),
}


@pytest.fixture
def province(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, str]]:
    """A running server with the demo office registered and one application for it."""
    url = f"sqlite:///{tmp_path / 'province.db'}"
    store = ProvinceStore(url)
    token = store.add_office(OFFICE, "镜湖区", "340200")
    store.add_office("340203", "弋江区", "340200")
    app_id = store.add_application(OFFICE, APPLICATION)
    # 身份证号 with a wrong check digit: the engine will not let it be approved.
    store.add_application(
        OFFICE, {**APPLICATION, "person": {"name": "全金发", "id_number": "110105195001010011"}}
    )
    store.close()
    server = ServerProcess(url, tmp_path).start()
    yield server, token, app_id
    server.kill()


def _filed_elsewhere_first(server: ServerProcess, db: Database) -> str:
    """弋江区 files, before 镜湖区 syncs, for a person 镜湖区 filed for: returns the number."""
    with db.read() as session:
        filing, person = session.exec(
            # A long-term filing: it stays in force whatever today's date is at the store.
            select(Filing, Person)
            .join(Person, col(Person.id) == Filing.person_id)
            .where(col(Filing.valid_until).is_(None), Filing.status == "active")
        ).first()
    store = ProvinceStore(server.url)
    other = store.office("340203")
    assert other is not None
    payload = {
        "number": "BA340203202611230001",
        "status": "active",
        "person": {"name": person.name, "id_number": person.id_number},
        "category": filing.category,
        "destination": filing.destination_code,
        "valid_from": filing.valid_from.isoformat(),
    }
    event = {
        "id": "other-1",
        "office": "340203",
        "seq": 1,
        "clerk": "9",
        "kind": "filing.new",
        "payload": payload,
    }
    assert store.apply_batch(other, [event], "other")[0]["status"] == "accepted"
    store.close()
    return filing.number


def _text(pilot, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(pilot.app.screen.query_one(selector, Label).render())


async def test_sync_review_and_day_close(province, make_app) -> None:  # type: ignore[no-untyped-def]
    server, token, app_id = province
    sync = {"url": server.base_url, "token": token, "terminal": "窗口1"}
    app = make_app("wuhu", sync=sync)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert app.services.clerk.office_code == OFFICE
        assert app.sub_title == "窗口1 · 在线 · ⚠从未同步"  # warned: never synced

        refused = _filed_elsewhere_first(server, app.services.db)
        with app.services.db.read() as session:  # the demo's filings and claim steps
            pending = session.exec(select(func.count()).select_from(OutboxEvent)).one()

        await pilot.press("s")
        await settle(pilot)
        assert f"待上传 {pending}" in _text(pilot, "#summary")
        await pilot.press("f9")
        await settle(pilot)
        stage = _text(pilot, "#stage")
        assert f"上传接收 {pending - 1}" in stage and "退回 1" in stage and "线上申请 2" in stage
        assert "对账一致" in stage
        assert "待上传 0    待处理退回 1" in _text(pilot, "#summary")
        assert app.sub_title == "窗口1 · 在线 · 刚刚同步"
        problems = app.screen.query_one(DataTable)
        number = problems.get_row_at(0)[2]
        # The table clips a long reason; the detail line under it holds the whole of it.
        reason = _text(pilot, "#problem_detail")
        assert number == refused and "在其他经办机构已有有效备案" in reason and "弋江区" in reason
        # Settled with the other office: withdrawn here with a reason, never sent.
        await pilot.press("x", *"参保人已在弋江区备案", "enter")
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 0
        with app.services.db.read() as session:
            withdrawn = session.exec(select(Filing).where(Filing.number == refused)).one()
        assert withdrawn.status == "withdrawn"

        await pilot.press("o")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["韩宝驹", "全金发"]
        assert rows[0][0] == "2026-11-25" and rows[0][2] == "110105********0038"
        await pilot.press("y", "y")  # approve 韩宝驹
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("y", "y")  # 全金发: the engine refuses, the application stays
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 1
        assert any("校验位" in n.message for n in app._notifications)
        await pilot.press("n", "enter")  # a reason is required
        await settle(pilot)
        await pilot.press(*"身份证号有误", "enter")
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 0

        # O replaced the sync screen (no chain of screens): Esc to the dashboard, S again.
        await pilot.press("escape", "s")
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert "上传接收 2" in _text(pilot, "#stage")

        await pilot.press("j")
        await settle(pilot)
        assert _text(pilot, "#warning") == "全部事件已上传省平台"
        report = str(app.screen.query_one("#report", Static).render())
        assert "【零星报销（按状态）】" in report and "已结算：1 笔" in report
        await pilot.press("f10")
        await settle(pilot)
        dialog = app.screen
        assert "演示科长" in _text(pilot, "#who")  # who signs
        await pilot.press(*"demo", "enter", *"demo1234", "enter")  # a clerk, not a supervisor
        await settle(pilot)
        assert app.screen is dialog and "不是科长" in _text(pilot, "#message")
        await pilot.press(*"wrong", "enter")  # the user name field keeps "demo"
        await settle(pilot)
        assert app.screen is dialog
        await pilot.press("shift+tab", *["backspace"] * 4, *"admin", "enter", *"admin1234")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is not dialog
        assert _text(pilot, "#signed").startswith("已日结") and "演示科长" in _text(
            pilot, "#signed"
        )

    served = {f["number"]: f for f in _filings(server, token)}
    assert served[app_id]["status"] == "active" and len(served) == 20 and refused not in served


def _filings(server: ServerProcess, token: str) -> list[dict]:
    import httpx

    answer = httpx.get(
        f"{server.base_url}/v1/filings", headers={"Authorization": f"Bearer {token}"}
    )
    return json.loads(answer.text)["filings"]


async def test_approved_online_application_is_found_at_the_counter(  # type: ignore[no-untyped-def]
    province, make_app
) -> None:
    """Pulled, opened (materials and verdict), approved, synced: then a filing at the counter,
    found by 身份证号, name, pinyin and the application number, 海南 filed at province level."""
    server, token, app_id = province
    app = make_app("wuhu", sync={"url": server.base_url, "token": token, "terminal": "窗口1"})
    async with app.run_test(size=(100, 40)) as pilot:
        await sign_in(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("enter")  # open 韩宝驹's application before deciding
        await settle(pilot)
        detail = str(app.screen.query_one("#application_detail", Static).render())
        assert app_id in detail and "110105********0038" in detail
        assert "居民身份证" in detail or "身份证" in detail
        verdict = str(app.screen.query_one("#application_verdict", Static).render())
        assert "可以办理" in verdict and "芜规程" in verdict
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y", "y")  # approve 韩宝驹
        await settle(pilot)
        await pilot.press("escape")  # the applications replaced the sync screen: back home
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("f9")  # the answer goes to the store
        await settle(pilot)
        assert "上传接收 " in _text(pilot, "#stage")
        await pilot.press("escape")
        await settle(pilot)
        for query in ("110105194912310038", "韩宝驹", "hanbaoju", app_id):
            while not isinstance(app.screen, DashboardScreen):
                await pilot.press("escape")
                await settle(pilot)
            await open_person(pilot, query)
            screen = app.screen
            assert isinstance(screen, PersonScreen), (query, screen)
            assert [(f.number, f.destination_code, f.status) for f in screen.filings] == [
                (app_id, "460000", "active")
            ]
    served = {f["number"]: f for f in _filings(server, token)}
    assert served[app_id]["status"] == "active"


async def test_header_shows_the_sync_as_soon_as_it_ends_after_leaving_the_screen(  # type: ignore[no-untyped-def]
    province, make_app
) -> None:
    """F9 on the sync screen, then Esc at once: the sync finishes and the header says so
    without waiting for its minute timer (no "从未同步" after a success)."""
    server, token, _ = province
    app = make_app("wuhu", sync={"url": server.base_url, "token": token, "terminal": "窗口1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert app.sub_title == "窗口1 · 在线 · ⚠从未同步"
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("f9", "escape")
        for _ in range(300):
            if "刚刚同步" in app.sub_title:
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, DashboardScreen)
        assert app.sub_title == "窗口1 · 在线 · 刚刚同步"
