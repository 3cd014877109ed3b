"""The network driver's list of networks, remembered between two events of the engine's bus.

A container listing needs every network's endpoints; reading them takes the
driver's lock, which a ``network connect`` holds for as long as it sets up
links and firewall rules. :class:`NetworkView` keeps the last list read and
hands it out until the bus publishes anything at all. That is safe because
the driver changes networks and endpoints only inside a job, and a job
publishes its end after the change: a view is only served while no event
was published since it was read, so it never predates a finished change.
"""

from __future__ import annotations

import itertools
from typing import Any

from engine.jobs import Event, EventBus


class NetworkView:
    """``network.list()``, remembered until the next event on ``bus``.

    Args:
        network: the network driver (its ``list()`` returns detached views).
        bus: the engine's event bus; every event it publishes drops the remembered list.
    """

    def __init__(self, network: Any, bus: EventBus) -> None:
        self._network = network
        self._counter = itertools.count(1)
        self._generation = 0
        self._remembered: tuple[int, list[Any]] | None = None
        bus.listen(self._changed)

    def _changed(self, _event: Event) -> None:
        self._generation = next(self._counter)  # atomic under the GIL; it only grows

    def now(self) -> list[Any] | None:
        """The remembered list if no event came since it was read, else ``None`` (never waits)."""
        marked = self.marked()
        return None if marked is None else marked[1]

    def marked(self) -> tuple[int, list[Any]] | None:
        """(generation, list) as :meth:`now`: the generation names this list, and no event came
        since (a cache keyed on it is dropped by the next event)."""
        remembered = self._remembered
        if remembered is not None and remembered[0] == self._generation:
            return remembered
        return None

    def read(self) -> list[Any]:
        """The current list: the remembered one if still valid, else a fresh read (may wait for
        the driver's lock), remembered if no event came while it was read."""
        current = self.now()
        if current is not None:
            return current
        generation = self._generation
        networks = self._network.list()
        if self._generation == generation:
            self._remembered = (generation, networks)
        return networks
