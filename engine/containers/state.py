"""A container's lifecycle as an explicit state machine.

Each :class:`Status` allows a fixed set of operations; :func:`transition`
returns the status an operation leads to, or raises
:class:`~engine.errors.InvalidStateTransition` naming both the current state
and the operation. The engine records the new status only after the
operation's work succeeded.

::

    created ──start──► running ──pause──► paused
       │                │  ▲                │
       │              exit restart        unpause
       │                ▼  │                │
       │             exited ◄───────────────┘ (stop/kill of a paused container)
       │                │
       └────remove──────┴──► removing ──► (gone)
"""

from __future__ import annotations

import enum

from engine.errors import InvalidStateTransition


class Status(enum.Enum):
    """Docker's container states."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"

    @property
    def alive(self) -> bool:
        """Whether the container's process exists (running, paused or restarting)."""
        return self in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)


class Operation(enum.Enum):
    """What can happen to a container; ``EXIT`` is its process ending on its own."""

    START = "start"
    STOP = "stop"
    KILL = "kill"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    RESTART = "restart"
    EXIT = "exit"
    SCHEDULE_RESTART = "schedule restart"
    REMOVE = "remove"
    FORCE_REMOVE = "force remove"
    FAIL = "fail"


_S, _O = Status, Operation

TRANSITIONS: dict[Status, dict[Operation, Status]] = {
    _S.CREATED: {_O.START: _S.RUNNING, _O.RESTART: _S.RUNNING, _O.REMOVE: _S.REMOVING,
                 _O.FORCE_REMOVE: _S.REMOVING, _O.FAIL: _S.EXITED, _O.STOP: _S.CREATED},
    _S.RUNNING: {_O.STOP: _S.EXITED, _O.KILL: _S.EXITED, _O.PAUSE: _S.PAUSED,
                 _O.RESTART: _S.RUNNING, _O.EXIT: _S.EXITED, _O.SCHEDULE_RESTART: _S.RESTARTING,
                 _O.FORCE_REMOVE: _S.REMOVING},
    _S.PAUSED: {_O.UNPAUSE: _S.RUNNING, _O.STOP: _S.EXITED, _O.KILL: _S.EXITED,
                _O.RESTART: _S.RUNNING, _O.EXIT: _S.EXITED, _O.FORCE_REMOVE: _S.REMOVING},
    _S.RESTARTING: {_O.START: _S.RUNNING, _O.STOP: _S.EXITED, _O.KILL: _S.EXITED,
                    _O.RESTART: _S.RUNNING, _O.EXIT: _S.EXITED, _O.FORCE_REMOVE: _S.REMOVING,
                    _O.FAIL: _S.EXITED},
    _S.EXITED: {_O.START: _S.RUNNING, _O.RESTART: _S.RUNNING, _O.REMOVE: _S.REMOVING,
                _O.FORCE_REMOVE: _S.REMOVING, _O.SCHEDULE_RESTART: _S.RESTARTING,
                _O.STOP: _S.EXITED},
    _S.DEAD: {_O.REMOVE: _S.REMOVING, _O.FORCE_REMOVE: _S.REMOVING},
    _S.REMOVING: {},
}
"""For each status, the operations it allows and the status each leads to."""

_REASONS = {
    (_S.RUNNING, _O.START): "it is already running",
    (_S.PAUSED, _O.START): "it is paused: unpause it instead",
    (_S.RUNNING, _O.REMOVE): "it is running: stop the container before removing or force remove",
    (_S.PAUSED, _O.REMOVE): "it is paused: stop the container before removing or force remove",
    (_S.RESTARTING, _O.REMOVE): "it is restarting: stop the container before removing or force remove",
    (_S.CREATED, _O.KILL): "it is not running",
    (_S.EXITED, _O.KILL): "it is not running",
    (_S.CREATED, _O.PAUSE): "it is not running",
    (_S.EXITED, _O.PAUSE): "it is not running",
    (_S.PAUSED, _O.PAUSE): "it is already paused",
    (_S.RUNNING, _O.UNPAUSE): "it is not paused",
}


def transition(current: Status, operation: Operation, subject: str = "container") -> Status:
    """The status ``operation`` leads to from ``current``.

    Raises:
        InvalidStateTransition: the operation is not allowed in ``current``;
            the message names both, e.g. ``cannot remove container "web": it is running: …``.
    """
    allowed = TRANSITIONS[current]
    if operation in allowed:
        return allowed[operation]
    error = InvalidStateTransition(current.value, operation.value, subject)
    reason = _REASONS.get((current, operation))
    if reason:
        error.message = f"cannot {operation.value} {subject}: {reason}"
        error.args = (error.message,)
    raise error


def allowed_operations(current: Status) -> list[Operation]:
    """The operations ``current`` allows, for menus and help."""
    return list(TRANSITIONS[current])
