"""ConnectionBanner: says the engine is gone and when the console tries again."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class ConnectionBanner(Static):
    """A red line under the header while the engine does not answer."""

    DEFAULT_CSS = """
    ConnectionBanner { height: auto; background: $error; color: $text; padding: 0 1; display: none; }
    ConnectionBanner.-shown { display: block; }
    """

    reason: reactive[str] = reactive("")
    """What the client said, or "" when the engine is fine."""
    retry_in: reactive[float] = reactive(0.0)
    """Seconds until the next attempt."""
    attempt: reactive[int] = reactive(0)
    """How many reconnects were tried."""

    def watch_reason(self, reason: str) -> None:
        """Show while there is a reason."""
        self.set_class(bool(reason), "-shown")

    def render(self) -> str:
        """The banner text."""
        tries = f" (attempt {self.attempt})" if self.attempt else ""
        return (f"Engine not answering: {self.reason}. The console keeps working on what it knows; "
                f"reconnecting every {self.retry_in:.0f} s{tries}.")
