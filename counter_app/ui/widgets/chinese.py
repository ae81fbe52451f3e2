"""Textual's built-in widgets with their English replaced: the command palette and Select.

Textual 8 hard-codes English in a few places a clerk sees (see PITFALLS.md "Textual's English"):
the palette's placeholder, its "No matches found" line and its key descriptions, and the escape
binding of Select's drop-down ("Dismiss menu"). These subclasses say the same in Chinese; the app
uses them everywhere instead of the originals.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.align import Align
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.widgets import Select
from textual.widgets._select import SelectCurrent, SelectOverlay
from textual.widgets.option_list import Option

PALETTE_PLACEHOLDER = "输入功能名称或拼音查找…"
NO_MATCHES = "没有找到这个功能"


class CounterPalette(CommandPalette):
    """The command palette (Ctrl+P) with Chinese placeholder, keys and "no matches" line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+end, shift+end", "command_list('last')", "最后一项", show=False),
        Binding("ctrl+home, shift+home", "command_list('first')", "第一项", show=False),
        Binding("down", "cursor_down", "下一项", show=False),
        Binding("escape", "escape", "关闭命令面板"),
        Binding("pagedown", "command_list('page_down')", "下一页", show=False),
        Binding("pageup", "command_list('page_up')", "上一页", show=False),
        Binding("up", "command_list('cursor_up')", "上一项", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(placeholder=PALETTE_PLACEHOLDER, id="--command-palette")

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """As Textual's, but the line says it in Chinese."""
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(NO_MATCHES, style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


class ChoiceOverlay(SelectOverlay):
    """Select's drop-down list; Esc closes it (收起)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss",
            "收起列表",
            id="select.dismiss",
            tooltip="收起下拉列表，不改变选择",
        )
    ]


class ChoiceSelect(Select[Any]):
    """A Select whose drop-down speaks Chinese; the prompt defaults to 请选择."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("prompt", "请选择")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def compose(self) -> ComposeResult:
        """As Select's, with the Chinese overlay."""
        yield SelectCurrent(self.prompt)
        yield ChoiceOverlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)
