"""审计日志: the supervisor filters the audit log by clerk, person, action and date, and exports a
period to a file for an inspection. Viewing and exporting are audited too."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label

from counter_app.storage.audit_trail import (
    SCREEN_LIMIT,
    AuditFilter,
    AuditLine,
    export_audit,
    query_audit,
    record_view,
)
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter

FIELDS = {
    "clerk": ("经办人", "用户名或姓名"),
    "person": ("参保人", "身份证号或姓名"),
    "action": ("操作", "如 打印"),
    "start": ("起", "YYYY-MM-DD"),
    "end": ("止", "YYYY-MM-DD"),
}


def parse_filter(values: dict[str, str]) -> AuditFilter:
    """The filter from the form; a malformed date raises ``ValueError`` with a Chinese message."""
    days: dict[str, date | None] = {}
    for key in ("start", "end"):
        text = values.get(key, "").strip()
        try:
            days[key] = date.fromisoformat(text) if text else None
        except ValueError:
            raise ValueError(f"日期“{text}”应写作 YYYY-MM-DD") from None
    return AuditFilter(
        clerk=values.get("clerk", ""),
        person=values.get("person", ""),
        action=values.get("action", ""),
        start=days["start"],
        end=days["end"],
    )


def export_path(folder: Path, wanted: AuditFilter, today: date) -> Path:
    """Where an export goes: beside the database, named for its period."""
    start = wanted.start.isoformat() if wanted.start else "始"
    end = (wanted.end or today).isoformat()
    return folder / "audit-exports" / f"审计日志_{start}_{end}.csv"


class AuditScreen(Screen[None]):
    """Filters on top, the entries below; F5 applies the filter, F6 exports it."""

    CSS_PATH = "setup.tcss"
    BINDINGS = [
        Binding("f5", "search", "查询", id="audit.search", tooltip="按条件查询"),
        Binding("f6", "export", "导出", id="audit.export", tooltip="导出所选期间到文件"),
        Binding("escape", "app.pop_screen", "返回", id="audit.back", tooltip="返回"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.lines: list[AuditLine] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="audit"):
            for keys in (("clerk", "person"), ("action", "start", "end")):
                with Horizontal(classes="row"):
                    for key in keys:
                        yield Label(FIELDS[key][0], classes="audit-label")
                        yield Input(placeholder=FIELDS[key][1], id=f"audit_{key}", compact=True)
            yield Label("", id="audit_message")
            yield DataTable(id="audit_table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("时间", "经办人", "操作", "对象", "详情")
        today = self.services.today.isoformat()
        self.query_one("#audit_start", Input).value = today
        self.query_one("#audit_end", Input).value = today
        self.query_one("#audit_clerk", Input).focus()
        self.action_search()

    def _values(self) -> dict[str, str]:
        return {key: self.query_one(f"#audit_{key}", Input).value for key in FIELDS}

    @on(Input.Submitted)
    def action_search(self) -> None:
        """查询."""
        try:
            wanted = parse_filter(self._values())
        except ValueError as exc:
            self._say(str(exc))
            return
        self._search(wanted)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="audit", description="查询审计日志"
    )
    def _search(self, wanted: AuditFilter) -> None:
        services = self.services
        lines = query_audit(services.db, wanted, services.settings.zone())
        record_view(services.db, services.clerk.clerk_id, wanted, len(lines))
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[AuditLine]) -> None:
        self.lines = lines
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                (
                    self.services.show_time(line.at, "%m-%d %H:%M"),
                    line.clerk,
                    line.action_label,
                    f"{line.entity} {line.entity_id}".strip(),
                    line.detail_text()[:40],
                )
                for line in lines
            ]
        )
        more = (
            f"（只显示最近 {SCREEN_LIMIT} 条，导出可得全部）" if len(lines) >= SCREEN_LIMIT else ""
        )
        self._say(f"共 {len(lines)} 条{more}")

    def _say(self, text: str) -> None:
        self.query_one("#audit_message", Label).update(text)

    def action_export(self) -> None:
        """导出: the whole period the filter selects, to a CSV file (0600)."""
        try:
            wanted = parse_filter(self._values())
        except ValueError as exc:
            self._say(str(exc))
            return
        self._export(wanted)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="audit", description="导出审计日志"
    )
    def _export(self, wanted: AuditFilter) -> None:
        services = self.services
        target = export_path(services.settings.database_path().parent, wanted, services.today)
        rows = export_audit(
            services.db, services.clerk.clerk_id, wanted, target, services.settings.zone()
        )
        self.app.call_from_thread(self._say, f"已导出 {rows} 条到 {target}")
