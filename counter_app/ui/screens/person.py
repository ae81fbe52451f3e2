"""参保人: the person's record, every filing, and the history of the one under the cursor."""

from __future__ import annotations

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, Static

from counter_app.domain.claim_documents import TREATMENT_LABELS
from counter_app.domain.claim_lifecycle import PENDING
from counter_app.domain.claim_lifecycle import STATUS_LABELS as CLAIM_STATUS_LABELS
from counter_app.domain.idnumber import mask_id, mask_phone
from counter_app.storage.claims import person_claims
from counter_app.storage.clerks import clerk_names
from counter_app.storage.filings import filing_history, person_filings
from counter_app.storage.models import Claim, Filing, FilingHistory, Person
from counter_app.storage.persons import open_person, record_full_view
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.messages import EditPerson, OpenClaim, OpenPrint, StartClaim, StartFiling
from counter_app.ui.services import (
    ACTION_LABELS,
    INSURANCE_LABELS,
    STATUS_LABELS,
    Services,
)
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.workers import load_in_worker
from counter_app.workflows.refusals import REFUSED_LABEL, refused_filings

#: What the page reads: the person, their filings, pending claim numbers, refusals, claims.
Loaded = tuple[Person | None, list[Filing], list[str], dict[str, str], list[Claim]]

#: History actions besides new/change/cancel.
STEP_LABELS = {**ACTION_LABELS, "followup": "补齐材料", "withdraw": "撤回"}


class PersonScreen(Screen[None]):
    """One person: details (masked), filings, history; the place to start a filing step."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="person.back", tooltip="回到上一页"),
        Binding("n", "new_filing", "新增备案", id="person.new", tooltip="为此人办理新增备案"),
        # Right after N so that it stays in view in an 80-column footer.
        Binding("b", "new_claim", "报销", id="person.claim", tooltip="为此人办理零星报销"),
        Binding("c", "change_filing", "变更", id="person.change", tooltip="变更光标所在的备案"),
        Binding("x", "cancel_filing", "取消备案", id="person.cancel", tooltip="取消光标所在的备案"),
        Binding(
            "v",
            "reveal",
            "显示证件号",
            id="person.reveal",
            tooltip="显示完整身份证号和电话（记入审计）",
        ),
        Binding("e", "edit", "修改信息", id="person.edit", tooltip="修改参保人信息"),
        Binding(
            "m",
            "complete_followup",
            "补齐材料",
            id="person.followup",
            tooltip="以承诺书办理的备案：登记补交的认定材料",
            show=False,
        ),
        Binding(
            "f8",
            "print",
            "打印",
            id="person.print",
            tooltip="打印光标所在备案的备案表、承诺书或备案回执",
        ),
    ]

    def __init__(self, services: Services, person_id: int) -> None:
        super().__init__()
        self.services = services
        self.person_id = person_id
        self.person: Person | None = None
        self.filings: list[Filing] = []
        self.pending_claims: list[str] = []
        #: Filing number → the provincial store's reason, while a refusal is unresolved.
        self.refused: dict[str, str] = {}
        self.claims: list[Claim] = []
        self.revealed = False
        self.history_notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("正在读取…", id="details")
        with Vertical(id="filings_pane"):
            yield Label("备案记录", classes="section")
            yield CounterTable(id="filings", cursor_type="row", zebra_stripes=True)
            yield Static("", id="filing_detail", classes="detail-line")
            yield Label("零星报销（回车打开）", classes="section")
            yield CounterTable(id="person_claims", cursor_type="row", zebra_stripes=True)
            yield Label("办理历史", classes="section")
            yield CounterTable(id="history", cursor_type="row", zebra_stripes=True)
            yield Static("", id="history_detail", classes="detail-line")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#filings", DataTable).add_columns(
            "备案编号", "人员类别", "就医地", "有效至", "状态"
        )
        self.query_one("#history", DataTable).add_columns("时间", "办理", "经办人", "说明")
        self.query_one("#person_claims", DataTable).add_columns(
            "报销编号", "就医", "状态", "办结时限"
        )

    def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown; loading on mount as well would audit the
        # view twice and start a second exclusive worker that cancels the first.
        self.load()

    def load(self) -> None:
        """Read the person (audited), the filings and the claims."""
        services = self.services

        def read() -> Loaded:
            person = open_person(services.db, self.person_id, services.clerk.clerk_id)
            filings = person_filings(services.db, self.person_id)
            claims = person_claims(services.db, self.person_id)
            pending = [c.number for c in claims if c.status == PENDING]
            refused = refused_filings(services.db, [f.number for f in filings])
            return person, filings, pending, refused, claims

        load_in_worker(self, read, self._show_loaded, group="person", description="读取参保人")

    def _show_loaded(self, loaded: Loaded) -> None:
        person, filings, pending, refused, claims = loaded
        self._show_claims(claims)
        self._show(person, filings, pending, refused)

    def _show_claims(self, claims: list[Claim]) -> None:
        """The person's claims: number, treatment, status and due date; Enter opens one."""
        self.claims = claims
        table = self.query_one("#person_claims", DataTable)
        table.clear()
        table.add_rows(
            [
                (
                    c.number,
                    TREATMENT_LABELS.get(c.treatment, c.treatment),
                    CLAIM_STATUS_LABELS.get(c.status, c.status),
                    str(c.due_date) if c.due_date else "—",
                )
                for c in claims
            ]
        )
        if not claims:
            table.add_row("（无）", "", "", "")

    @on(DataTable.RowSelected, "#person_claims")
    def _open_claim(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.claims):
            self.post_message(OpenClaim(self.claims[event.cursor_row].number))

    def _show(
        self,
        person: Person | None,
        filings: list[Filing],
        pending: list[str],
        refused: dict[str, str] | None = None,
    ) -> None:
        if person is None:
            self.notify("参保人不存在", severity="error")
            self.app.pop_screen()
            return
        self.person, self.filings, self.pending_claims = person, filings, pending
        self.refused = refused or {}
        self._render_details()
        table = self.query_one("#filings", DataTable)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(
            [
                (
                    f.number,
                    self.services.category_label(f.category),
                    f.destination_name,
                    str(f.valid_until or "长期"),
                    REFUSED_LABEL
                    if f.number in self.refused
                    else STATUS_LABELS[f.status_on(self.services.today)],
                )
                for f in filings
            ]
        )
        if filings:
            table.move_cursor(row=min(cursor, len(filings) - 1))
            self._show_filing_detail(filings[table.cursor_row])
            self._load_history(filings[table.cursor_row].id)  # type: ignore[arg-type]
        else:
            self.query_one("#filing_detail", Static).update("")
            self.query_one("#history", DataTable).clear()
            self._show_history_detail()

    def _show_filing_detail(self, filing: Filing) -> None:
        """The highlighted filing in full: the table clips a long destination, not this line."""
        period = f"有效期 {filing.valid_from} 至 {filing.valid_until or '长期'}"
        if filing.number in self.refused:
            status = f"{period}  {REFUSED_LABEL}"
        else:
            text = filing.status_text(self.services.today)
            # The status names the period itself when it explains it (有效, 已过期): once.
            status = str(text) if period in text.detail else f"{period}  {text}"
        self.query_one("#filing_detail", Static).update(
            escape(
                f"{filing.number}  {self.services.category_label(filing.category)}  "
                f"就医地 {filing.destination_name}  {status}"
            )
        )

    def _render_details(self) -> None:
        person = self.person
        assert person is not None
        id_text = person.id_number if self.revealed else mask_id(person.id_number)
        phone = person.phone if self.revealed else mask_phone(person.phone)
        flags = "、".join(
            label
            for label, on_ in (("有参保单位", person.has_employer), ("已退休", person.retired))
            if on_
        )
        self.query_one("#details", Static).update(
            f"[b]{person.name}[/b]  {person.sex}  出生 {person.birth_date or '—'}  "
            f"{INSURANCE_LABELS.get(person.insurance, person.insurance)}  {flags}\n"
            f"身份证号 {id_text}   电话 {phone or '—'}\n"
            f"住址 {person.address or '—'}"
            + "".join(
                f"\n[b red]备案 {number} {REFUSED_LABEL}[/b red]：{escape(reason)}"
                "（同步界面 R 冲突解决后重新上传，X 撤回）"
                for number, reason in self.refused.items()
            )
        )

    @on(DataTable.RowHighlighted, "#filings")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.filings):
            self._show_filing_detail(self.filings[event.cursor_row])
            self._load_history(self.filings[event.cursor_row].id)  # type: ignore[arg-type]

    def _load_history(self, filing_id: int) -> None:

        def read() -> tuple[list[FilingHistory], dict[int, str]]:
            rows = filing_history(self.services.db, filing_id)
            names = clerk_names(self.services.db)
            return rows, names

        load_in_worker(
            self,
            read,
            lambda loaded: self._show_history(*loaded),
            group="history",
            description="读取办理历史",
        )

    def _show_history(self, rows: list[FilingHistory], names: dict[int, str]) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        self.history_notes = []
        for entry in rows:
            note = "；".join(r["message"] for r in entry.reasons if r.get("severity") != "error")
            when = self.services.show_time(entry.at)
            action = STEP_LABELS.get(entry.action, entry.action)
            table.add_row(when, action, names.get(entry.clerk_id, str(entry.clerk_id)), note)
            self.history_notes.append(f"{when} {action}：{note}" if note else "")
        self._show_history_detail(table.cursor_row)

    @on(DataTable.RowHighlighted, "#history")
    def _history_highlight(self, event: DataTable.RowHighlighted) -> None:
        self._show_history_detail(event.cursor_row)

    def _show_history_detail(self, row: int = -1) -> None:
        """The highlighted step's whole note, wrapped: the table shows its start only."""
        note = self.history_notes[row] if 0 <= row < len(self.history_notes) else ""
        self.query_one("#history_detail", Static).update(escape(note))

    def _selected(self) -> Filing | None:
        table = self.query_one("#filings", DataTable)
        if not self.filings or not 0 <= table.cursor_row < len(self.filings):
            self.notify("请先用方向键选中一条备案", severity="warning")
            return None
        return self.filings[table.cursor_row]

    def action_new_filing(self) -> None:
        """Start the wizard for a new filing."""
        if self.person is not None:
            self.post_message(StartFiling(self.person, "new", None, self.filings))

    def action_change_filing(self) -> None:
        """Start the wizard to change the selected filing."""
        filing = self._selected()
        if filing is not None and self.person is not None:
            self.post_message(StartFiling(self.person, "change", filing, self.filings))

    def action_cancel_filing(self) -> None:
        """Start the wizard to cancel the selected filing."""
        filing = self._selected()
        if filing is not None and self.person is not None:
            self.post_message(StartFiling(self.person, "cancel", filing, self.filings))

    def action_new_claim(self) -> None:
        """Start the claim wizard (零星报销); a claim waiting for materials is offered first."""
        person = self.person
        if person is None:
            return
        if not self.pending_claims:
            self.post_message(StartClaim(person, self.filings))
            return
        number = self.pending_claims[0]

        def answer(open_it: bool | None) -> None:
            if open_it:
                self.post_message(OpenClaim(number))
            else:
                self.post_message(StartClaim(person, self.filings))

        self.app.push_screen(
            ConfirmDialog(
                "此人有一笔待补材料的报销，是否打开？",
                f"{number}：Y 打开（再按 M 补材料）；N 办理新的报销。",
            ),
            callback=answer,
        )

    def action_complete_followup(self) -> None:
        """Record the materials a 承诺书 filing owed (居住证明 …), handed in now."""
        filing = self._selected()
        if filing is None:
            return
        if filing.basis != "commitment" or filing.followup_due is None:
            self.notify(f"备案 {filing.number} 无须补齐承诺材料", severity="warning")
            return
        from counter_app.domain.followup import followup_materials
        from counter_app.ui.dialogs.materials import MaterialsDialog

        pack = self.services.engine.pack
        labels = pack.material_labels
        options = [(labels.get(m, m), m) for m in followup_materials(pack, filing.category)]
        number = filing.number

        def chosen(materials: list[str] | None) -> None:
            if materials is not None:
                self._complete_followup(number, materials)

        self.app.push_screen(
            MaterialsDialog(
                f"备案 {number} 补齐材料（期限 {filing.followup_due}）：勾选交来的材料",
                options,
            ),
            callback=chosen,
        )

    @work(thread=True, exit_on_error=False, group="followup", description="补齐材料")
    def _complete_followup(self, number: str, materials: list[str]) -> None:
        from counter_app.storage.followups import FollowupRefused, complete_followup

        services = self.services
        try:
            done = complete_followup(
                services.db, services.clerk, services.engine.pack, number, materials, services.today
            )
        except FollowupRefused as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=12)
            return
        note = "；".join(r.message for r in done.reasons)
        self.app.call_from_thread(
            self.notify, f"备案 {number} 已补齐材料。{note}", severity="information"
        )
        self.app.call_from_thread(self.load)

    def action_edit(self) -> None:
        """Edit the person's details."""
        if self.person is not None:
            self.post_message(EditPerson(self.person))

    def action_print(self) -> None:
        """Print the selected filing's documents."""
        filing = self._selected()
        if filing is not None and self.person is not None:
            self._open_print(filing.number, self.person.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="print", description="读取文书")
    def _open_print(self, number: str, name: str) -> None:
        from counter_app.printing.sources import filing_documents

        kinds = filing_documents(self.services.db, number)
        self.post_message(OpenPrint(number, kinds, name))  # thread-safe

    def action_reveal(self) -> None:
        """Show the full numbers; the view is audited."""
        if self.person is None:
            return
        self.revealed = not self.revealed
        self._render_details()
        if self.revealed:
            self._audit_reveal()

    @work(thread=True, exit_on_error=False, group="audit", description="记录审计")
    def _audit_reveal(self) -> None:
        record_full_view(self.services.db, self.services.clerk.clerk_id, self.person_id, "person")
