"""打印: choose the document, the printer and the copies; and the print queue (retry, reprint,
another printer). Rendering and sending run in workers, so a printer that is off never freezes
the window; the job stays in the queue with the reason."""

from __future__ import annotations

from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Select

from counter_app.printing.forms import DOCUMENT_KINDS
from counter_app.printing.gate import NotPrintable
from counter_app.printing.jobs import Outcome, list_jobs, reprint, retry, submit
from counter_app.printing.sources import NotFound
from counter_app.storage.models import PrintJob
from counter_app.ui.services import Services
from counter_app.ui.widgets.chinese import ChoiceSelect
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker

STATUS = {"queued": "待打印", "done": "已打印"}


def _printer_options(services: Services) -> list[tuple[str, str]]:
    return [
        (f"{p.name}（{'A4' if p.paper == 'a4' else p.paper + 'mm 小票'}）", p.name)
        for p in services.settings.printer_list()
    ]


class PrintScreen(Screen[None]):
    """Print one record's documents: document, printer, copies, then F8."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="print.back", tooltip="回到上一页"),
        Binding("f8", "print", "打印", id="print.go", tooltip="按所选文书、打印机和份数打印"),
        Binding("f9", "app.print_queue", "打印队列", id="print.queue", tooltip="查看打印队列"),
    ]

    def __init__(self, services: Services, number: str, kinds: list[str], subject: str) -> None:
        super().__init__()
        self.services = services
        self.number = number
        self.kinds = kinds
        self.subject = subject

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="print_form"):
            yield Label(f"打印 {self.number}  {self.subject}", classes="title")
            with Horizontal(classes="print-row"):
                yield Label("文书", classes="field-label")
                yield ChoiceSelect(
                    [(DOCUMENT_KINDS[k], k) for k in self.kinds],
                    value=self.kinds[0],
                    allow_blank=False,
                    id="kind",
                )
            with Horizontal(classes="print-row"):
                yield Label("打印机", classes="field-label")
                options = _printer_options(self.services)
                yield ChoiceSelect(options, value=options[0][1], allow_blank=False, id="printer")
            with Horizontal(classes="print-row"):
                yield Label("份数", classes="field-label")
                yield Input("1", id="copies", type="integer", max_length=2)
            two_copies = "备案表每份一式两联。" if "filing_form" in self.kinds else ""
            yield Label(f"{two_copies}按 F8 打印。", id="print_hint")
            yield Label("", id="print_status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#kind", Select).focus()

    @on(Input.Submitted, "#copies")
    def _submitted(self) -> None:
        self.action_print()

    def action_print(self) -> None:
        """Check the copies, then print in a worker."""
        text = self.query_one("#copies", Input).value.strip()
        if not text.isdigit() or not 1 <= int(text) <= 20:
            self._status("份数：请输入 1 到 20 之间的整数", error=True)
            self.query_one("#copies", Input).focus()
            return
        kind = str(self.query_one("#kind", Select).value)
        printer = str(self.query_one("#printer", Select).value)
        self._status(f"正在打印{DOCUMENT_KINDS[kind]}到“{printer}”…")
        self.run_print(kind, printer, int(text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="print", description="打印")
    def run_print(self, kind: str, printer: str, copies: int) -> None:
        """Record the job, render and send it off the UI thread."""
        services = self.services
        try:
            outcome = submit(
                services.db, services.settings, services.clerk, printer, kind, self.number, copies
            )
        except (NotPrintable, NotFound) as exc:  # the gate: this state does not allow it
            self.app.call_from_thread(self._status, f"不能打印：{exc}", error=True)
            return
        self.app.call_from_thread(self._done, outcome)

    def _done(self, outcome: Outcome) -> None:
        self._status(outcome.message, error=not outcome.ok)
        for warning in outcome.warnings:
            self.notify(warning, title="请核对", severity="warning", timeout=12)
        severity: Literal["information", "error"] = "information" if outcome.ok else "error"
        self.notify(outcome.message, title="打印", severity=severity, timeout=8)

    def _status(self, message: str, *, error: bool = False) -> None:
        label = self.query_one("#print_status", Label)
        label.update(message)
        label.set_class(error, "error")


class PrintQueueScreen(Screen[None]):
    """The office's print jobs, newest first: retry a waiting job, reprint, switch printer."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="queue.back", tooltip="回到上一页"),
        Binding("r", "retry", "重试", id="queue.retry", tooltip="在上方所选打印机上重试该任务"),
        Binding("p", "reprint", "重印", id="queue.reprint", tooltip="再打印一次（记入审计）"),
        Binding("f5", "reload", "刷新", id="queue.reload", tooltip="重新读取打印队列"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.jobs: list[PrintJob] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("打印队列", classes="title")
        with Horizontal(classes="print-row"):
            yield Label("打印机", classes="field-label")
            options = _printer_options(self.services)
            yield ChoiceSelect(options, value=options[0][1], allow_blank=False, id="queue_printer")
        yield CounterTable(id="jobs", cursor_type="row", zebra_stripes=True)
        yield Label("", id="queue_status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#jobs", DataTable).add_columns(
            "序号", "时间", "文书", "编号", "份数", "打印机", "状态", "原因"
        )
        self.action_reload()
        self.query_one("#jobs", DataTable).focus()

    def action_reload(self) -> None:
        """Read the queue again."""
        self.load()

    def load(self) -> None:
        """Read the newest jobs off the UI thread."""

        def read() -> list[PrintJob]:
            return list_jobs(self.services.db)

        load_in_worker(self, read, self._show, group="queue", description="读取队列")

    def _show(self, jobs: list[PrintJob]) -> None:
        self.jobs = jobs
        table = self.query_one("#jobs", DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(
            [
                (
                    str(job.id),
                    self.services.show_time(job.created_at, "%m-%d %H:%M"),
                    DOCUMENT_KINDS.get(job.kind, job.kind),
                    job.number,
                    str(job.copies),
                    job.printer,
                    STATUS.get(job.status, job.status) + ("（重印）" if job.reprint_of else ""),
                    job.error[:40],
                )
                for job in jobs
            ]
        )
        if jobs:
            table.move_cursor(row=min(max(cursor, 0), len(jobs) - 1))

    @on(DataTable.RowHighlighted, "#jobs")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        """The whole reason of a waiting job (the column shows only its start)."""
        if 0 <= event.cursor_row < len(self.jobs):
            job = self.jobs[event.cursor_row]
            status = self.query_one("#queue_status", Label)
            status.update(f"任务 {job.id}：{job.error}" if job.error else "")
            status.set_class(bool(job.error), "error")

    def _selected(self) -> PrintJob | None:
        table = self.query_one("#jobs", DataTable)
        if not self.jobs or not 0 <= table.cursor_row < len(self.jobs):
            self.notify("请先用方向键选中一个打印任务", severity="warning")
            return None
        return self.jobs[table.cursor_row]

    def action_retry(self) -> None:
        """Retry the selected job on the printer chosen above."""
        job = self._selected()
        if job is not None and job.id is not None:
            self.query_one("#queue_status", Label).update(f"正在重试任务 {job.id}…")
            self.run_job("retry", job.id, str(self.query_one("#queue_printer", Select).value))

    def action_reprint(self) -> None:
        """Print the selected job's document again, on the printer chosen above."""
        job = self._selected()
        if job is not None and job.id is not None:
            self.query_one("#queue_status", Label).update(f"正在重印任务 {job.id}…")
            self.run_job("reprint", job.id, str(self.query_one("#queue_printer", Select).value))

    @work(thread=True, exclusive=True, exit_on_error=False, group="print", description="打印")
    def run_job(self, what: str, job_id: int, printer: str) -> None:
        """Retry or reprint off the UI thread, then show the queue again."""
        services = self.services
        try:
            if what == "retry":
                outcome = retry(services.db, services.settings, job_id, printer)
            else:
                outcome = reprint(services.db, services.settings, services.clerk, job_id, printer)
        except (NotPrintable, NotFound) as exc:  # the gate refused a reprint
            self.app.call_from_thread(self.notify, f"不能打印：{exc}", severity="error")
            return
        self.app.call_from_thread(self._done, outcome)

    def _done(self, outcome: Outcome) -> None:
        status = self.query_one("#queue_status", Label)
        status.update(outcome.message)
        status.set_class(not outcome.ok, "error")
        severity: Literal["information", "error"] = "information" if outcome.ok else "error"
        self.notify(outcome.message, title="打印", severity=severity, timeout=8)
        self.load()
