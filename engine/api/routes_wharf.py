"""Wharf's own batched routes: ``GET /wharf/stats``, every container's stats in one stream.

Docker streams stats one container per connection. A console that shows
hundreds of containers would hold hundreds of streams, so Wharf also
serves them batched: one line per interval holding the newest Docker-shaped
stats object of every running container (``precpu_stats`` from the previous
line, as in Docker's own stream). A real dockerd answers 404 here, and
clients fall back to Docker's per-container endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.api.convert_runtime import stats_json
from engine.api.http import Request
from engine.api.responses import AnyResponse
from engine.api.router import Api
from engine.api.timefmt import rfc3339_nano
from engine.errors import InvalidArgument
from engine.model import StatsSample

INTERVALS = (0.2, 60.0)
"""The shortest and longest interval a client may ask for, in seconds."""


def _interval(request: Request) -> float:
    raw = request.arg("interval")
    if raw is None or raw.strip() == "":
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"invalid value for interval: {raw!r} is not a number of seconds") from None
    low, high = INTERVALS
    if not low <= value <= high:
        raise InvalidArgument(f"invalid value for interval: {value:g} is not between {low:g} and {high:g} seconds")
    return value


class _Batches:
    """Renders each batch, remembering every container's previous sample for ``precpu_stats``."""

    def __init__(self) -> None:
        self.previous: dict[str, StatsSample] = {}

    def render(self, batch: dict[str, StatsSample]) -> dict[str, Any]:
        stats = []
        for container_id, sample in batch.items():
            previous = self.previous.get(container_id)
            if previous is not None and previous.cpu_total > sample.cpu_total:
                previous = None  # it restarted (a new cgroup): the old counters are no base
            line = stats_json(sample, previous, container_id, "")
            del line["name"]  # the batch is keyed by ID; names are the list's business
            stats.append(line)
        self.previous = dict(batch)
        newest = max((s.time for s in batch.values()), default=0.0)
        return {"read": rfc3339_nano(newest) if newest else None, "stats": stats}


async def stats(api: Api, request: Request) -> AnyResponse:
    """``GET /wharf/stats[?interval=SECONDS]``: one JSON line per interval, every running container.

    Each line is ``{"read": TIME, "stats": [OBJECT, …]}`` where every object
    is what ``GET /containers/{id}/stats`` streams for that container.
    """
    interval = _interval(request)
    method = api.method("all_container_stats")

    def batches() -> Iterator[dict[str, StatsSample]]:
        return method(interval, request.cancel)

    return api.json_stream(api.iterate(batches, request.cancel), _Batches().render)


def register(api: Api) -> None:
    """Add Wharf's batched routes to ``api``."""
    api.add("GET", r"/wharf/stats", stats)
