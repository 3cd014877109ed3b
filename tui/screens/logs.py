"""LogsScreen: a container's log, tail N by default, follow, search with highlighting, timestamps, wrap.

The reader thread only appends to a bounded buffer; a 10 Hz timer on the UI
thread drains it, so a chatty container never floods the message queue.
"""

from __future__ import annotations

import collections
import re
import threading

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.widgets import Input, RichLog, Static
from textual.worker import get_current_worker

from tui.data.models import ContainerRow
from tui.data.port import Stream
from tui.screens.base import ViewScreen

TAIL = 200
"""Lines asked for when the view opens (Docker's ``tail``), not a time window."""
KEEP = 5000
"""Lines kept in the view."""
MATCH_STYLE = "bold black on yellow"
"""How search matches are highlighted."""


class LogsScreen(ViewScreen):
    """The log of one container."""

    BINDINGS = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_match", "Next match"),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("f", "toggle_follow", "Follow"),
        Binding("t", "toggle_timestamps", "Timestamps"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("G", "end", "End", show=False),
        Binding("g", "home", "Top", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, row: ContainerRow, tail: int = TAIL) -> None:
        super().__init__(f"Logs of {row.name} ({row.short_id}) · last {tail} lines")
        self.row = row
        """The container."""
        self.tail = tail
        """How many lines to start with."""
        self.lines: collections.deque[str] = collections.deque(maxlen=KEEP)
        """Every kept line, with Docker's timestamp in front."""
        self.follow = True
        """Stay at the end as lines arrive."""
        self.timestamps = False
        """Show each line's timestamp."""
        self.wrap = False
        """Wrap long lines."""
        self.query_text = ""
        """The search."""
        self._incoming: collections.deque[str] = collections.deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._match_cursor = -1
        self._stream: Stream[str] | None = None

    def body(self):
        """Log, status line, search prompt."""
        yield RichLog(id="log", wrap=False, markup=False, highlight=False, max_lines=KEEP, auto_scroll=True,
                      min_width=20)
        yield Static("", id="log-status")
        yield Input(placeholder="search (Enter jumps, Esc closes)", id="log-search")

    def on_mount(self) -> None:
        """Start reading and draining."""
        self.query_one("#log-search").display = False
        self.query_one(RichLog).focus()
        self._status()
        self.set_interval(0.1, self._drain)
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs", description="logs")
    def _read(self) -> None:
        worker = get_current_worker()
        self._stream = stream = self.app.port.logs(self.row.id, tail=self.tail, follow=True)
        for line in stream:
            if worker.is_cancelled:
                return
            with self._lock:
                self._incoming.append(line)

    def on_unmount(self) -> None:
        """End the log stream so its reader thread stops."""
        if self._stream is not None:
            self._stream.close()

    def _drain(self) -> None:
        with self._lock:
            fresh = list(self._incoming)
            self._incoming.clear()
        if not fresh:
            return
        self.lines.extend(fresh)
        log = self.query_one(RichLog)
        for line in fresh:
            log.write(self._render_line(line), scroll_end=self.follow)
        self._status()

    def _pattern(self) -> re.Pattern[str] | None:
        return re.compile(re.escape(self.query_text), re.IGNORECASE) if self.query_text else None

    def _render_line(self, line: str, pattern: re.Pattern[str] | None = None) -> Text:
        stamp, _, message = line.partition(" ")
        if not (stamp[:4].isdigit() and "T" in stamp):
            stamp, message = "", line
        text = Text(no_wrap=not self.wrap)
        if self.timestamps and stamp:
            text.append(stamp[:23].replace("T", " ") + " ", style="dim")
        text.append(message, style="bold red" if " ERROR " in f" {message} " else "")
        pattern = pattern or self._pattern()
        if pattern is not None:
            text.highlight_regex(pattern, style=MATCH_STYLE)
        return text

    def _redraw(self) -> None:
        log = self.query_one(RichLog)
        log.wrap = self.wrap
        log.clear()
        pattern = self._pattern()
        for line in self.lines:
            log.write(self._render_line(line, pattern), scroll_end=self.follow)
        self._status()

    def _matches(self) -> list[int]:
        pattern = self._pattern()
        if pattern is None:
            return []
        return [i for i, line in enumerate(self.lines) if pattern.search(line.partition(" ")[2] or line)]

    def _status(self) -> None:
        flags = [f"follow {'on' if self.follow else 'off'} (f)", f"timestamps {'on' if self.timestamps else 'off'} (t)",
                 f"wrap {'on' if self.wrap else 'off'} (w)", f"{len(self.lines)} lines"]
        if self.query_text:
            flags.append(f"“{self.query_text}”: {len(self._matches())} matching lines (n/N)")
        self.query_one("#log-status", Static).update(Text(" · ".join(flags)))

    # -- keys -------------------------------------------------------------

    def action_search(self) -> None:
        """Open the search prompt."""
        search = self.query_one("#log-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self._match_cursor = -1
        self._redraw()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one(RichLog).focus()
        self.action_next_match()

    def action_back(self) -> None:
        """Esc: close the search prompt first, then the view."""
        search = self.query_one("#log-search", Input)
        if search.display and search.has_focus:
            search.display = False
            self.query_one(RichLog).focus()
            return
        super().action_back()

    def _jump(self, step: int) -> None:
        matches = self._matches()
        if not matches:
            self.notify("No matching lines" if self.query_text else "Search first with /", markup=False, severity="warning")
            return
        self._match_cursor = (self._match_cursor + step) % len(matches)
        self.follow = False
        line = matches[self._match_cursor]
        log = self.query_one(RichLog)
        log.auto_scroll = False
        log.scroll_to(y=max(0, line - log.size.height // 2), animate=False)
        self._status()

    def action_next_match(self) -> None:
        """The next line that matches."""
        self._jump(1)

    def action_previous_match(self) -> None:
        """The previous line that matches."""
        self._jump(-1)

    def action_toggle_follow(self) -> None:
        """Follow new lines, or hold still."""
        self.follow = not self.follow
        log = self.query_one(RichLog)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
        self._status()

    def action_toggle_timestamps(self) -> None:
        """Show or hide timestamps."""
        self.timestamps = not self.timestamps
        self._redraw()

    def action_toggle_wrap(self) -> None:
        """Wrap long lines or not."""
        self.wrap = not self.wrap
        self._redraw()

    def action_end(self) -> None:
        """Go to the end and follow."""
        self.follow = False
        self.action_toggle_follow()

    def action_home(self) -> None:
        """Go to the first line."""
        self.follow = True
        self.action_toggle_follow()
        self.query_one(RichLog).scroll_home(animate=False)

    def action_scroll(self, direction: str) -> None:
        """Scroll a line."""
        self.query_one(RichLog).scroll_relative(y=1 if direction == "down" else -1, animate=False)
