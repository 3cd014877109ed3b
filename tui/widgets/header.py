"""EngineHeader: which engine, its version and its health, on one line."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.data.models import EngineInfo, EngineTarget, Health


class EngineHeader(Static):
    """The top line: ``Wharf ▸ embedded unix://… │ Wharf 0.1.0 API 1.50 │ ● ok 2 ms``."""

    DEFAULT_CSS = """
    EngineHeader { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    target: reactive[EngineTarget | None] = reactive(None)
    """The engine being managed."""
    info: reactive[EngineInfo | None] = reactive(None)
    """What the engine said about itself."""
    health: reactive[Health | None] = reactive(None)
    """The latest ping."""

    def render(self) -> Text:
        """The header line."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Wharf", style="bold")
        if self.target is not None:
            text.append(f" > {self.target.name} ", style="bold")
        if self.health is None:
            text.append("○ connecting", style="yellow")
        elif self.health.ok:
            text.append(f"● ok {self.health.latency_ms:.0f} ms", style="bold green")
        else:
            text.append("✖ unreachable", style="bold red")
        text.append(" │ ")
        if self.info is not None:
            text.append(f"{self.info.product} {self.info.version}", style="bold")
            text.append(f" · API {self.info.api_version} · {self.info.os_arch} · {self.info.ncpu} CPU")
        else:
            text.append("engine: –", style="dim")
        if self.target is not None:
            text.append(" │ ")
            text.append(self.target.url, style="dim")
        return text
