"""The day report (filings by kind, reviews, claims by status with amounts) and its sign-off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from counter_app.rules_engine import build_engine
from counter_app.storage.clerks import sign_in
from counter_app.storage.db import Database
from counter_app.storage.queues import ACTIONS_COUNTED
from counter_app.sync.client import ClientConfig
from counter_app.sync.day_close import DayCloseRefused, close_day, closed, day_report
from counter_app.ui.sync_header import header_text, overdue_days, since_text
from tests.support.demo import demo_database

TODAY = date(2026, 11, 23)
PENDING_EVENTS = 31


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db, _ = demo_database(tmp_path_factory.mktemp("demo") / "demo.db", build_engine("wuhu"), TODAY)
    return db


def test_report_counts_the_business_day(demo: Database) -> None:
    # the demo's recent filings are dated 20 days back, its 承诺书 filings 25 days back
    day = TODAY - timedelta(days=20)
    report = day_report(demo, day)
    (filings, reviews, claims, settled, statuses) = report.sections
    assert filings.title == ACTIONS_COUNTED and filings.rows == [("新增", 4, None)]
    assert day_report(demo, TODAY - timedelta(days=25)).sections[0].rows == [("新增", 6, None)]
    assert statuses.title == "备案状态（日终）"
    assert reviews.rows == [] and settled.rows == []
    assert claims.title == "零星报销（按状态）" and ("已结算", 1, None) in claims.rows
    assert report.pending_events == PENDING_EVENTS  # 20 filings and 11 claim steps
    assert f"未上传事件：{PENDING_EVENTS}" in report.lines()[-1]
    # the claims' own figures against the stored claims: tests/unit/test_claim_printing.py


def test_only_a_supervisor_signs_and_only_once(demo: Database) -> None:
    report = day_report(demo, TODAY)
    clerk = sign_in(demo, "demo", "demo1234")
    supervisor = sign_in(demo, "admin", "admin1234")
    assert clerk is not None and supervisor is not None
    with pytest.raises(DayCloseRefused, match="不是科长"):
        close_day(demo, clerk, report)
    assert closed(demo, TODAY) is None
    close_day(demo, supervisor, report)
    sign_off = closed(demo, TODAY)
    assert sign_off is not None and sign_off.pending_events == PENDING_EVENTS
    with pytest.raises(DayCloseRefused, match="已经日结过"):
        close_day(demo, supervisor, report)


def test_header_shows_terminal_state_and_warns_past_the_days() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert since_text(None) == "从未同步"
    assert since_text(now - timedelta(seconds=20), now) == "刚刚"
    assert since_text(now - timedelta(minutes=5), now) == "5 分钟前"
    assert since_text(now - timedelta(hours=3), now) == "3 小时前"
    assert since_text((now - timedelta(days=2)).replace(tzinfo=None), now) == "2 天前"
    assert overdue_days(now - timedelta(days=2), 3, now) == 0
    assert overdue_days(now - timedelta(days=3), 3, now) == 3
    assert header_text("窗口1", None, None, 1) == "窗口1 · 未配置省平台"
    assert header_text("", False, None, 1) == "离线 · ⚠从未同步"


def test_settings_read_the_sync_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from counter_app.settings import Settings

    config = tmp_path / "config.toml"
    config.write_text('[sync]\nurl = "http://127.0.0.1:9"\nwarn_days = 3\n', encoding="utf-8")
    monkeypatch.setenv("COUNTER_CONFIG", str(config))
    monkeypatch.setenv("COUNTER_SYNC__TOKEN", "secret")
    settings = Settings()
    client = ClientConfig.from_settings(settings.sync)
    assert (client.url, client.secret().get_secret_value(), settings.sync.warn_days) == (
        "http://127.0.0.1:9",
        "secret",
        3,
    )
    assert "secret" not in repr(settings.sync) + repr(client)  # a SecretStr, shown as stars
