"""FilterBar: the ``/`` prompt that narrows a table as you type."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterBar(Input):
    """A one-line filter prompt, hidden until ``/``; Esc clears it, Enter keeps it."""

    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    FilterBar.-shown { display: block; }
    """
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter (Enter keeps, Esc clears)", id=id)

    def open(self) -> None:
        """Show and focus the prompt."""
        self.add_class("-shown")
        self.focus()

    def action_clear_filter(self) -> None:
        """Empty and hide the prompt; focus goes back to the table."""
        self.value = ""
        self.remove_class("-shown")
        if self.parent is not None:
            for table in self.parent.query("DataTable"):
                table.focus()
                break
