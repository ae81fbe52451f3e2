"""The Textual application of the counter."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Label
from textual.worker import Worker, WorkerState

from counter_app.domain.engine import RulesEngine
from counter_app.settings import Settings
from counter_app.ui.screens.filing_rules import FilingRulesScreen


class CounterApp(App[None]):
    """The counter app: loads the region's rules in a worker, then opens the first screen."""

    CSS_PATH = "app.tcss"
    TITLE = "异地就医经办窗口"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.sub_title = settings.office_name

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("正在加载策略包…", id="loading")
        yield Footer()

    def on_mount(self) -> None:
        self.load_engine()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", description="加载规则")
    def load_engine(self) -> RulesEngine:
        """Read the policy pack, region codes and holiday table off the UI thread."""
        from counter_app.rules_engine import build_engine

        return build_engine(self.settings.policy, self.settings.pack_file)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Open the first screen once the engine is ready; say clearly what failed if not."""
        worker = event.worker
        if worker.state == WorkerState.SUCCESS and worker.group == "load":
            self.push_screen(FilingRulesScreen(worker.result))
        elif worker.state == WorkerState.ERROR:
            message = f"{worker.description}失败：{worker.error}"
            self.query_one("#loading", Label).update(message)
            self.notify(message, severity="error", timeout=30)


def run_app(policy: str | None = None) -> None:
    """Start the UI with the office's settings (``policy`` overrides them)."""
    settings = Settings() if policy is None else Settings(policy=policy)
    CounterApp(settings).run()
