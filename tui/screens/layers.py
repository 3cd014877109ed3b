"""LayersScreen: an image's layer stack, each layer's size and the history line that made it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from tui import fmt
from tui.data.models import ImageRow, LayerLine
from tui.screens.base import ViewScreen
from tui.widgets.table import SyncTable


class LayersScreen(ViewScreen):
    """Newest step on top; metadata-only steps dimmed."""

    @dataclass
    class Loaded(Message):
        """The history arrived."""

        lines: Sequence[LayerLine]

    def __init__(self, image: ImageRow) -> None:
        super().__init__(f"Layers of {image.reference} ({image.short_id}) · newest first")
        self.image = image
        """The image."""

    def body(self):
        """The table and a summary."""
        yield SyncTable(id="layers-table")
        yield Static("", id="layers-summary")

    def on_mount(self) -> None:
        """Columns, then fetch."""
        self.query_one(SyncTable).set_columns([("n", "#", 2), ("size", "SIZE", 9), ("created", "CREATED", 8),
                                              ("layer", "LAYER", 12), ("by", "CREATED BY", None)])
        self.query_one(SyncTable).focus()
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False, group="layers", description="image history")
    def _fetch(self) -> None:
        self.post_message(self.Loaded(self.app.port.layers(self.image.id)))

    def on_layers_screen_loaded(self, message: Loaded) -> None:
        """Fill the table."""
        rows = {}
        count = len(message.lines)
        for index, line in enumerate(message.lines):
            style = "dim" if line.empty else ""
            created_by = line.created_by.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ").strip()
            layer = line.diff_id.removeprefix("sha256:")[:12] if line.diff_id else ("(no layer)" if line.empty else "?")
            rows[str(index)] = [str(count - index), Text(fmt.size(line.size), justify="right", style=style),
                                fmt.ago(line.created), Text(layer, style=style), Text(created_by, style=style)]
        self.query_one(SyncTable).sync(rows)
        made = sum(1 for line in message.lines if not line.empty)
        total = sum(line.size for line in message.lines)
        self.query_one("#layers-summary", Static).update(
            f"{made} layers from {count} steps · {fmt.size(total)} · dim rows changed only metadata")
