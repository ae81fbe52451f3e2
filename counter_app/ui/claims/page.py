"""一件报销: status, the engine's payment with citations, history; the next transition by key.

M 补材料 (待补材料), A 审核 (受理 → 审核), S 结算 (审核 → 已结算, after confirming the payment),
T 退回 (with a reason), G 告知书/回执, F8 打印. Every transition is one transaction
(storage.claims).
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header

from counter_app.domain.claim_documents import TREATMENT_LABELS, one_time_notice
from counter_app.domain.claim_lifecycle import (
    ACCEPTED,
    PENDING,
    REVIEWING,
    STATUS_LABELS,
    TRANSITIONS,
)
from counter_app.domain.claim_lines import ItemLine
from counter_app.domain.results import ClaimResult
from counter_app.printing.sources import claim_record
from counter_app.storage.claims import (
    ClaimRefused,
    ClaimView,
    StaleClaim,
    open_claim,
)
from counter_app.ui.claims.render import history_label, payment_text
from counter_app.ui.dialogs.confirm import ConfirmDialog
from counter_app.ui.dialogs.reason import ReasonDialog
from counter_app.ui.messages import ResumeClaim
from counter_app.ui.services import Services
from counter_app.ui.widgets.footer import KeysFooter
from counter_app.ui.widgets.table import CounterTable
from counter_app.ui.widgets.wrapped import WrappedStatic
from counter_app.ui.workers import load_in_worker
from counter_app.workflows.claims import advance_claim


class ClaimScreen(Screen[None]):
    """One claim; the keys offered depend on its status."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "返回", id="claim.page.back", tooltip="回到上一页"),
        Binding("m", "resume", "补材料", id="claim.page.resume", tooltip="待补材料：补齐后受理"),
        Binding("a", "review", "审核", id="claim.page.review", tooltip="受理 → 审核"),
        Binding("s", "settle", "结算", id="claim.page.settle", tooltip="确认待遇计算并结算"),
        Binding("t", "return", "退回", id="claim.page.return", tooltip="退回并写明原因"),
        Binding("g", "document", "告知书/回执", id="claim.page.document", tooltip="查看文书内容"),
        Binding("f8", "print", "打印", id="claim.page.print", tooltip="打印本报销的文书"),
    ]

    def __init__(self, services: Services, number: str) -> None:
        super().__init__()
        self.services = services
        self.number = number
        self.view: ClaimView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="claim_page"):
            yield WrappedStatic("正在读取…", id="claim_details")
            yield CounterTable(id="claim_history", cursor_type="row", zebra_stripes=True)
            yield WrappedStatic("", id="claim_payment")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("时间", "办理", "状态", "说明")

    def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown: one load (and one audited view) per showing.
        self.load()

    def load(self) -> None:
        """Read the claim (the view is audited)."""

        def read() -> ClaimView | None:
            return open_claim(self.services.db, self.number, self.services.clerk.clerk_id)

        load_in_worker(self, read, self._show, group="claim", description="读取报销")

    @property
    def result(self) -> ClaimResult | None:
        """The engine's stored answer."""
        return ClaimResult.model_validate(self.view.claim.result) if self.view else None

    def _show(self, view: ClaimView | None) -> None:
        if view is None:
            self.notify(f"没有编号为 {self.number} 的报销", severity="error")
            self.app.pop_screen()
            return
        self.view = view
        self.refresh_bindings()
        claim, person = view.claim, view.person
        result = self.result
        assert result is not None
        text = Text()
        text.append(f"{claim.number}  ", style="bold")
        text.append(f"{STATUS_LABELS[claim.status]}\n", style="bold cyan")
        text.append(
            f"{person.name}  {claim_record(view)['person']['id_masked']}  "
            f"{TREATMENT_LABELS.get(claim.treatment, claim.treatment)}  "
            f"{result.case_label or ''}\n"
        )
        if claim.due_date:
            overdue = claim.status in (ACCEPTED, REVIEWING) and claim.due_date < self.services.today
            text.append(
                f"受理 {claim.accepted_on}  办结期限 {claim.due_date}",
                style="bold red" if overdue else "",
            )
            text.append("（逾期）\n" if overdue else "\n", style="bold red")
        if claim.status == PENDING:
            items = one_time_notice(claim_record(view))["items"]
            text.append("待补材料：" + "；".join(i["text"] for i in items) + "\n", style="yellow")
        if claim.return_reason:
            text.append(f"退回原因：{claim.return_reason}\n", style="red")
        if claim.cost_check_candidate:
            text.append("住院费用达到费用协查标准，可提出费用协查\n", style="yellow")
        if claim.ytd_override:
            text.append("本年度累计经经办人修改（已记入审计）\n", style="dim")
        if view.lines:
            text.append(
                "明细：" + "；".join(f"{line.item} {line.amount}" for line in view.lines) + "\n",
                style="dim",
            )
        self.query_one("#claim_details", WrappedStatic).update(text)
        self.query_one("#claim_payment", WrappedStatic).update(
            payment_text(result.payment) if result.payment else "未填写费用金额"
        )
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                (
                    self.services.show_time(h.at),
                    history_label(h.action),
                    STATUS_LABELS.get(h.to_status, h.to_status),
                    h.note[:40],
                )
                for h in view.history
            ]
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only the transitions the claim's status allows (others are hidden)."""
        status = self.view.claim.status if self.view else None
        if action == "resume":
            return status == PENDING
        if action in TRANSITIONS:
            return status in TRANSITIONS[action][0]
        return True

    def _allowed(self, action: str) -> bool:
        sources, _ = TRANSITIONS[action]
        if self.view is None or self.view.claim.status not in sources:
            status = STATUS_LABELS[self.view.claim.status] if self.view else ""
            self.notify(f"当前状态“{status}”不能办理此项", severity="warning")
            return False
        return True

    def action_resume(self) -> None:
        """Take up a 待补材料 claim at the materials step."""
        view = self.view
        if view is None or view.claim.status != PENDING:
            self.notify("只有待补材料的报销可以补材料", severity="warning")
            return
        lines = [ItemLine.from_row(line).as_json() for line in view.lines]
        self.post_message(ResumeClaim(view.person, view.claim, lines))

    def action_review(self) -> None:
        """受理 → 审核, after the clerk confirms what will be recorded."""
        if not self._allowed("review") or self.view is None:
            return
        payment = self.result.payment if self.result is not None else None
        amounts = (
            f"按规则计算：基金支付 {payment.fund_total} 元，个人现金 {payment.personal_cash} 元。"
            if payment is not None
            else ""
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.advance("review")

        self.app.push_screen(
            ConfirmDialog(
                f"审核通过报销 {self.number}（{self.view.person.name}）？",
                f"{amounts}确认后状态改为“已审核”，等待结算；记入办理记录，下次同步时报省平台。",
            ),
            callback=answer,
        )

    def action_settle(self) -> None:
        """Confirm the engine's payment, then settle."""
        result = self.result
        if not self._allowed("settle") or result is None or result.payment is None:
            return
        payment = result.payment
        from counter_app.ui.screens.setup_golive import ask_example_sign_off

        def answer(yes: bool | None) -> None:
            if yes:
                self.advance("settle")

        def confirm() -> None:
            self.app.push_screen(
                ConfirmDialog(
                    f"结算报销 {self.number}：基金支付 {payment.fund_total} 元，"
                    f"个人现金 {payment.personal_cash} 元？",
                    "确认后状态改为“已结算”，出具结算单；记入办理记录，下次同步时报省平台。",
                ),
                callback=answer,
            )

        ask_example_sign_off(self.app, self.services, self.number, confirm)

    def action_return(self) -> None:
        """Ask why, then return the claim."""

        def answer(reason: str | None) -> None:
            if reason:
                self.advance("return", reason)

        if self._allowed("return"):
            self.app.push_screen(
                ReasonDialog("退回原因（将告知参保人）", "如：票据为复印件"), callback=answer
            )

    def action_document(self) -> None:
        """The 一次性告知书 (待补材料) or the 受理回执."""
        from counter_app.ui.claims.documents import DocumentScreen

        if self.view is not None:
            self.app.push_screen(DocumentScreen(self.services, claim_record(self.view)))

    def action_print(self) -> None:
        """The print screen with the claim's documents."""
        from counter_app.ui.claims.documents import print_claim

        if self.view is not None:
            print_claim(self, self.services, claim_record(self.view))

    @work(thread=True, exclusive=True, exit_on_error=False, group="commit", description="办理报销")
    def advance(self, action: str, reason: str = "") -> None:
        """One transition, in one transaction, with the version this page showed."""
        assert self.view is not None
        try:
            advance_claim(
                self.services.db,
                self.services.engine,
                self.services.clerk,
                self.number,
                action,
                expected_version=self.view.claim.version,
                reason=reason,
                today=self.services.today,
            )
        except (StaleClaim, ClaimRefused) as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
        else:
            self.app.call_from_thread(
                self.notify, f"已{history_label(action)}：{self.number}", title="办理完成"
            )
            if action == "settle":  # the slip's content, ready to print with F8
                view = open_claim(self.services.db, self.number, self.services.clerk.clerk_id)
                assert view is not None
                self.app.call_from_thread(self._settled, view)
                return
        self.app.call_from_thread(self.load)

    def _settled(self, view: ClaimView) -> None:
        from counter_app.ui.claims.documents import DocumentScreen

        self._show(view)
        self.app.push_screen(DocumentScreen(self.services, claim_record(view)))
