"""InspectScreen: an object's inspect JSON, fetched in a worker."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.syntax import Syntax
from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui.screens.base import ViewScreen


class InspectScreen(ViewScreen):
    """Pretty JSON; ``j``/``k`` scroll."""

    BINDINGS = [Binding("j", "scroll('down')", "Down", show=False),
                Binding("k", "scroll('up')", "Up", show=False)]

    @dataclass
    class Loaded(Message):
        """The JSON arrived."""

        data: Mapping[str, Any]

    def __init__(self, title: str, load: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__(title)
        self.load = load
        """Fetches the JSON (blocking; run in a worker)."""

    def body(self):
        """The JSON."""
        with VerticalScroll(id="inspect-scroll"):
            yield Static("loading …", id="inspect-json")

    def on_mount(self) -> None:
        """Fetch."""
        self.query_one("#inspect-scroll").focus()
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="inspect")
    def _fetch(self) -> None:
        self.post_message(self.Loaded(self.load()))

    def on_inspect_screen_loaded(self, message: Loaded) -> None:
        """Show it."""
        text = json.dumps(message.data, indent=2, sort_keys=True, default=str)
        self.query_one("#inspect-json", Static).update(
            Syntax(text, "json", theme="ansi_dark", word_wrap=True, background_color="default"))

    def action_scroll(self, direction: str) -> None:
        """Scroll a line."""
        scroll = self.query_one("#inspect-scroll", VerticalScroll)
        scroll.scroll_relative(y=1 if direction == "down" else -1, animate=False)
