"""TopScreen and DiffScreen: ``docker top`` and ``docker diff`` as tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from tui.data.models import ContainerRow, FileChange, ProcessTable
from tui.screens.base import ViewScreen
from tui.widgets.table import SyncTable

KIND_STYLE = {"A": "green", "C": "yellow", "D": "red"}
KIND_WORD = {"A": "added", "C": "changed", "D": "deleted"}


class TopScreen(ViewScreen):
    """The container's processes; ``ctrl+r`` refreshes."""

    BINDINGS = [Binding("ctrl+r", "refresh_top", "Refresh")]

    @dataclass
    class Loaded(Message):
        """Processes arrived."""

        table: ProcessTable

    def __init__(self, row: ContainerRow) -> None:
        super().__init__(f"Processes in {row.name} ({row.short_id}) · PIDs as the host sees them")
        self.row = row
        """The container."""

    def body(self):
        """The table."""
        yield SyncTable(id="top-table")

    def on_mount(self) -> None:
        """Fetch."""
        self.query_one(SyncTable).focus()
        self._fetch()

    def action_refresh_top(self) -> None:
        """Fetch again."""
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False, group="top", description="top")
    def _fetch(self) -> None:
        self.post_message(self.Loaded(self.app.port.top(self.row.id)))

    def on_top_screen_loaded(self, message: Loaded) -> None:
        """Fill the table."""
        table = self.query_one(SyncTable)
        if not table.column_keys:
            table.set_columns([(title, title, None) for title in message.table.titles])
        table.sync({str(i): list(p) for i, p in enumerate(message.table.processes)})


class DiffScreen(ViewScreen):
    """Files the container changed in its upper layer."""

    @dataclass
    class Loaded(Message):
        """Changes arrived."""

        changes: Sequence[FileChange]

    def __init__(self, row: ContainerRow) -> None:
        super().__init__(f"Changes in {row.name} ({row.short_id}) · its upper (writable) layer")
        self.row = row
        """The container."""

    def body(self):
        """The table and a count."""
        yield SyncTable(id="diff-table")
        yield Static("", id="diff-summary")

    def on_mount(self) -> None:
        """Fetch."""
        self.query_one(SyncTable).set_columns([("kind", "KIND", 8), ("path", "PATH", None)])
        self.query_one(SyncTable).focus()
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False, group="diff", description="diff")
    def _fetch(self) -> None:
        self.post_message(self.Loaded(self.app.port.diff(self.row.id)))

    def on_diff_screen_loaded(self, message: Loaded) -> None:
        """Fill the table."""
        self.query_one(SyncTable).sync({c.path: [Text(KIND_WORD.get(c.kind, c.kind), style=KIND_STYLE.get(c.kind, "")),
                                                 c.path] for c in message.changes})
        counts = {k: sum(1 for c in message.changes if c.kind == k) for k in "ACD"}
        self.query_one("#diff-summary", Static).update(
            f"{counts['A']} added · {counts['C']} changed · {counts['D']} deleted (whiteouts)")
