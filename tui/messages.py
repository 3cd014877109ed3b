"""App-wide messages; a widget's own messages are nested in the widget."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class EngineLost(Message):
    """A client call found the engine unreachable.

    Attributes:
        reason: what the client said.
    """

    reason: str


@dataclass
class Notice(Message):
    """Something for the user (a worker finished or failed).

    Attributes:
        text: the sentence.
        severity: ``information``, ``warning`` or ``error``.
    """

    text: str
    severity: str = "information"


@dataclass
class ShowContainer(Message):
    """Switch to the containers pane and put the cursor on a container.

    Attributes:
        container_id: the container.
    """

    container_id: str


class RefreshRequested(Message):
    """Something changed engine state; panes should re-list."""
