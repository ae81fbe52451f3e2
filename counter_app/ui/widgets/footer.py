"""The footer: the keys of the screen that fit, whole, after one visible 更多 (F1) key.

Textual's footer lays every key out in a row and lets the row run off the right edge, so at 80
columns the last keys are cut in half or not shown at all. This footer shows 更多 first, then as
many whole keys as fit; the 更多 dialog (F1) lists every key that works on the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

MORE_ACTION = "more_keys"


@dataclass(frozen=True)
class KeyEntry:
    """One key that works on a screen: what to press and what it does."""

    key: str
    display: str
    description: str
    tooltip: str
    action: str
    namespace: object
    enabled: bool
    shown: bool


def screen_keys(screen: Screen) -> list[KeyEntry]:
    """Every key of ``screen`` the counter defines (Textual's own Tab, copy, editing left out)."""
    app = screen.app
    merged: dict[tuple[str, str], KeyEntry] = {}
    for namespace, binding, enabled, tooltip in screen.active_bindings.values():
        if not binding.description or not binding.id or not _ours(namespace):
            continue  # Textual's own (Tab, copy) carry no id; every one of ours has one
        marker = (binding.action, binding.description)
        display = app.get_key_display(binding)
        if marker in merged:  # "slash,f2": one entry, both keys
            first = merged[marker]
            merged[marker] = KeyEntry(
                first.key,
                f"{first.display} 或 {display}",
                first.description,
                first.tooltip,
                first.action,
                first.namespace,
                first.enabled,
                first.shown,
            )
            continue
        merged[marker] = KeyEntry(
            key=binding.key,
            display=display,
            description=binding.description,
            tooltip=tooltip or binding.tooltip or "",
            action=binding.action,
            namespace=namespace,
            enabled=enabled,
            shown=binding.show,
        )
    return list(merged.values())


def _ours(namespace: object) -> bool:
    return type(namespace).__module__.startswith("counter_app")


def key_width(display: str, description: str, compact: bool = False) -> int:
    """Cells one footer key takes (padding and margins as in Textual's FooterKey CSS)."""
    return cell_len(display) + cell_len(description) + (2 if compact else 3)


def _drawn(entry: KeyEntry) -> tuple[str, str, str, str, bool, str]:
    """What a footer key shows and does (the binding's owner aside)."""
    return (entry.key, entry.display, entry.description, entry.action, entry.enabled, entry.tooltip)


class KeysFooter(Footer):
    """更多 first, then whole keys only; the rest are in the 更多 dialog."""

    def __init__(self, compact: bool = False) -> None:
        super().__init__(show_command_palette=False, compact=compact)
        self._laid_out: tuple[KeyEntry, ...] | None = None

    def _fitting(self) -> tuple[KeyEntry, ...]:
        """The keys shown, in order: 更多 first, then as many whole keys as the width takes."""
        entries = [e for e in screen_keys(self.screen) if e.shown]
        entries.sort(key=lambda e: e.action != MORE_ACTION)
        width = self.size.width or self.app.size.width
        used = 0
        fitting: list[KeyEntry] = []
        for entry in entries:
            display = entry.display.split(" 或 ")[0]
            needed = key_width(display, entry.description, self.compact)
            if used + needed > width:
                break
            used += needed
            fitting.append(entry)
        return tuple(fitting)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._laid_out = self._fitting()
        for entry in self._laid_out:
            yield FooterKey(
                entry.key,
                entry.display.split(" 或 ")[0],
                entry.description,
                entry.action,
                disabled=not entry.enabled,
                tooltip=entry.tooltip,
            ).data_bind(compact=Footer.compact)
        self.styles.grid_size_columns = max(len(self._laid_out), 1)

    async def recompose(self) -> None:
        """Lay the keys out again only when the keys that fit changed.

        Textual asks for a new footer on every focus move and binding refresh; most leave the keys
        as they were, and re-mounting them costs a style pass per key on every keystroke.
        """
        if (
            self._laid_out is not None
            and self._bindings_ready
            and self.is_attached
            and [_drawn(e) for e in self._fitting()] == [_drawn(e) for e in self._laid_out]
        ):
            return
        await super().recompose()

    def on_resize(self, event: events.Resize) -> None:
        """Which keys fit depends on the width."""
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)
