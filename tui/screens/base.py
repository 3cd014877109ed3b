"""ViewScreen: a full-screen view pushed over the panes (Esc goes back)."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.widgets.worker_errors import ReportsWorkerErrors


class ViewScreen(ReportsWorkerErrors, Screen[None]):
    """A titled view with a footer; subclasses compose :meth:`body`."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.view_title = title
        """The line at the top."""

    def compose(self):
        """Title, body, footer."""
        yield Static(self.view_title, classes="view-title")
        yield from self.body()
        yield Footer()

    def body(self):
        """The view's widgets."""
        return iter(())

    def action_back(self) -> None:
        """Close the view."""
        self.dismiss()
