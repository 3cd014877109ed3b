"""ShellDialog: which shell to exec in the container."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.lists import KeyList

SHELLS = ("/bin/sh", "/bin/bash", "/bin/ash", "/bin/zsh", "/busybox/sh")
"""The usual shells; any other path can be typed."""


class ShellDialog(ModalScreen[str | None]):
    """Pick a shell or type a command."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, last: str = "/bin/sh") -> None:
        super().__init__()
        self.last = last
        """The shell chosen last time."""

    def compose(self):
        """The list and a free-form input."""
        with Vertical(classes="dialog"):
            yield Static("Shell to run (exec with a TTY)", classes="dialog-title")
            yield KeyList(*[Option(s, id=s) for s in SHELLS], id="shells")
            yield Input(placeholder="or type a command, Enter", id="shell-input")
            yield Static("The console steps aside while the shell runs; exit it to come back.",
                         classes="dialog-detail")

    def on_mount(self) -> None:
        """Highlight the last choice."""
        shells = self.query_one(OptionList)
        shells.highlighted = SHELLS.index(self.last) if self.last in SHELLS else 0
        shells.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Give up."""
        self.dismiss(None)
