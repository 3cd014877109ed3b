"""PullProgress: one bar per layer (download, verify, extract) plus overall speed and ETA."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui import fmt
from tui.data.pull import PullState

PHASE_STYLE = {"waiting": "dim", "downloading": "cyan", "verifying": "yellow", "downloaded": "yellow",
               "extracting": "magenta", "complete": "green", "exists": "green"}
"""How each phase is coloured."""


class PullProgress(Static):
    """Renders a :class:`PullState`; hidden until a pull starts."""

    DEFAULT_CSS = """
    PullProgress { height: auto; max-height: 14; display: none; border-top: solid $primary; }
    PullProgress.-shown { display: block; }
    """

    state: reactive[PullState | None] = reactive(None, always_update=True)
    """The pull to show."""

    def watch_state(self, state: PullState | None) -> None:
        """Show once there is a pull."""
        self.set_class(state is not None, "-shown")

    def render(self) -> Group | str:
        """The overall line, then one line per layer."""
        state = self.state
        if state is None:
            return ""
        eta = state.eta
        head = Text(no_wrap=True, overflow="ellipsis")
        verb = "Failed" if state.error else ("Pulled" if state.done else "Pulling")
        head.append(f"{verb} {state.reference} ", style="bold")
        head.append(f"{fmt.bar(state.fraction, 12)} {state.fraction * 100:3.0f}% ")
        head.append(f"{fmt.size(state.downloaded)}/{fmt.size(state.total)} ")
        head.append(f"{fmt.rate(state.speed)} ETA {'–' if eta is None else fmt.duration(eta)}", style="dim")
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, width=11)
        table.add_column(no_wrap=True, ratio=1)
        table.add_column(no_wrap=True, justify="right")
        for layer in list(state.layers.values())[-10:]:
            bytes_text = f"{fmt.size(layer.current)}/{fmt.size(layer.total)}" if layer.total else ""
            table.add_row(layer.id[:12], Text(layer.phase, style=PHASE_STYLE.get(layer.phase, "")),
                          Text(fmt.bar(layer.fraction, 16), style=PHASE_STYLE.get(layer.phase, "")), bytes_text)
        tail = Text(state.error or (state.messages[-1] if state.messages else ""),
                    style="bold red" if state.error else "dim", no_wrap=True, overflow="ellipsis")
        return Group(head, table, tail)
