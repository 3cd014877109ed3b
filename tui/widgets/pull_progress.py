"""PullProgress: one bar per layer (download, verify, extract) plus overall speed and ETA."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui import fmt
from tui.data.pull import PullState

PHASE_STYLE = {"waiting": "dim", "downloading": "cyan", "verifying": "yellow", "downloaded": "yellow",
               "extracting": "magenta", "complete": "green", "exists": "green",
               "pushing": "cyan", "pushed": "green"}
"""How each phase is coloured."""
SHOWN = 8
"""Layers shown at most (the latest)."""


class PullProgress(Static):
    """Renders a :class:`PullState`; hidden until a pull starts.

    A layer's bar fills to half while it downloads and verifies, and the rest
    while it is extracted.
    """

    DEFAULT_CSS = """
    PullProgress { height: auto; max-height: 13; display: none; border-top: solid $primary; }
    PullProgress.-shown { display: block; }
    """

    state: reactive[PullState | None] = reactive(None, always_update=True)
    """The pull to show."""

    def watch_state(self, state: PullState | None) -> None:
        """Show once there is a pull."""
        self.set_class(state is not None, "-shown")

    def render(self) -> Group | str:
        """Two overall lines, then one line per layer."""
        state = self.state
        if state is None:
            return ""
        width = max(30, self.content_size.width or 40)
        verb = "Failed" if state.error else state.VERBS[1 if state.done else 0]
        head = Text(f"{verb} {state.reference}", style="bold", no_wrap=True, overflow="ellipsis")
        eta = state.eta
        numbers = (f" {state.fraction * 100:3.0f}% {fmt.size(state.downloaded)}/{fmt.size(state.total)}"
                   f" {fmt.rate(state.speed)} ETA {'–' if eta is None else fmt.duration(eta)}")
        overall = Text(no_wrap=True, overflow="ellipsis")
        overall.append(fmt.bar(state.fraction, max(6, width - len(numbers))), style="bold")
        overall.append(numbers)
        lines = [head, overall]
        bar_width = max(6, width - 12 - 1 - 11 - 1 - 5)
        for layer in list(state.layers.values())[-SHOWN:]:
            style = PHASE_STYLE.get(layer.phase, "")
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{layer.id[:12]:<12} ")
            line.append(f"{layer.phase:<11}", style=style)
            line.append(fmt.bar(layer.fraction, bar_width), style=style)
            line.append(f" {layer.fraction * 100:3.0f}%")
            lines.append(line)
        tail = state.error or (state.messages[-1] if state.messages else "")
        lines.append(Text(tail, style="bold red" if state.error else "dim", no_wrap=True, overflow="ellipsis"))
        return Group(*lines)
