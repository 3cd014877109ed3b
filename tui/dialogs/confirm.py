"""ConfirmDialog: yes or no before anything destructive."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    """Asks; ``y``/Enter on the red button confirms, ``n``/Esc cancels."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, detail: str = "", verb: str = "yes") -> None:
        super().__init__()
        self.question = question
        """The question."""
        self.detail = detail
        """A line of context."""
        self.verb = verb
        """The confirm button's label."""

    def compose(self):
        """Question, detail, buttons."""
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            yield Static(self.detail, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.verb.capitalize()} (y)", variant="error", id="yes", compact=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        """Focus Cancel: destructive actions need a deliberate key."""
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """Answer."""
        self.dismiss(yes)
