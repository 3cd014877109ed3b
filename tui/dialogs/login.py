"""LoginDialog: user name and password for a registry (the engine keeps the credentials)."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class LoginDialog(ModalScreen[tuple[str, str] | None]):
    """Returns ``(username, password)`` or ``None``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host
        """The registry."""

    def compose(self):
        """Two inputs."""
        with Vertical(classes="dialog"):
            yield Static(f"Log in to {self.host}", classes="dialog-title")
            yield Input(placeholder="user name", id="login-user")
            yield Input(placeholder="password or token", password=True, id="login-password")
            yield Static("Enter on the password logs in · Esc cancels", classes="dialog-detail")

    @on(Input.Submitted, "#login-user")
    def _next(self, event: Input.Submitted) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    def _done(self, event: Input.Submitted) -> None:
        user = self.query_one("#login-user", Input).value.strip()
        if user and event.value:
            self.dismiss((user, event.value))

    def action_cancel(self) -> None:
        """Give up."""
        self.dismiss(None)
