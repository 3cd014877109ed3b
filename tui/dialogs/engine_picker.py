"""EnginePicker: which engine the console manages."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.lists import KeyList

from tui.data.models import EngineTarget


class EnginePicker(ModalScreen[EngineTarget | None]):
    """A list of engines; Enter switches."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, engines: Sequence[EngineTarget], current: EngineTarget) -> None:
        super().__init__()
        self.engines = list(engines)
        """The choices."""
        self.current = current
        """The engine in use."""

    def compose(self):
        """The list."""
        with Vertical(classes="dialog"):
            yield Static("Engine", classes="dialog-title")
            options = []
            for index, engine in enumerate(self.engines):
                label = Text()
                label.append("● " if engine == self.current else "  ", style="green")
                label.append(engine.name, style="bold")
                label.append(f"  {engine.url}")
                if engine.description:
                    label.append(f"\n    {engine.description}", style="dim")
                options.append(Option(label, id=str(index)))
            yield KeyList(*options, id="engines")
            yield Static("Enter switches · Esc cancels · wharf --host URL adds one", classes="dialog-detail")

    def on_mount(self) -> None:
        """Highlight the current engine."""
        engines = self.query_one(OptionList)
        engines.highlighted = self.engines.index(self.current) if self.current in self.engines else 0
        engines.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.engines[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        """Keep the current engine."""
        self.dismiss(None)
