"""Docker's pull progress stream folded into per-layer state, speed and ETA.

``api.pull(..., stream=True, decode=True)`` yields objects such as
``{"status": "Downloading", "id": "a1b2c3d4e5f6", "progressDetail": {"current": 1024, "total": 4096}}``.
A layer goes ``Pulling fs layer`` / ``Waiting`` → ``Downloading`` →
``Verifying Checksum`` → ``Download complete`` → ``Extracting`` → ``Pull complete``
(or straight to ``Already exists``). Lines without an ``id`` are about the
whole pull (``Pulling from library/alpine``, ``Digest: …``, ``Status: …``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tui import clock

PHASES = ("waiting", "downloading", "verifying", "downloaded", "extracting", "complete", "exists")
"""Where a layer can be, in order."""

_STATUS_TO_PHASE = {
    "pulling fs layer": "waiting",
    "waiting": "waiting",
    "downloading": "downloading",
    "verifying checksum": "verifying",
    "download complete": "downloaded",
    "extracting": "extracting",
    "pull complete": "complete",
    "already exists": "exists",
}


@dataclass
class LayerProgress:
    """One layer of a pull.

    Attributes:
        id: the short layer ID Docker prints.
        phase: one of :data:`PHASES`.
        current: bytes done in the current phase.
        total: bytes in the current phase (0 when unknown).
        size: the layer's compressed size once known.
    """

    id: str
    phase: str = "waiting"
    current: int = 0
    total: int = 0
    size: int = 0

    @property
    def fraction(self) -> float:
        """How far along the layer is, 0..1 (download counts half, extraction half)."""
        if self.phase in ("complete", "exists", "pushed"):
            return 1.0
        part = (self.current / self.total) if self.total else 0.0
        if self.phase == "pushing":
            return part
        if self.phase == "downloading":
            return 0.5 * part
        if self.phase in ("verifying", "downloaded"):
            return 0.5
        if self.phase == "extracting":
            return 0.5 + 0.5 * part
        return 0.0

    @property
    def downloaded(self) -> int:
        """Compressed bytes fetched so far."""
        if self.phase in ("downloading", "pushing"):
            return self.current
        if self.phase in ("verifying", "downloaded", "extracting", "complete", "pushed"):
            return self.size
        return 0


@dataclass
class PullState:
    """A whole pull as it unfolds.

    Attributes:
        reference: what is being pulled.
        layers: layer ID → progress, in the order first seen.
        messages: lines about the whole pull.
        error: the engine's error message, if the pull failed.
        done: whether the stream ended.
        started: monotonic time of the first event (``None`` before it).
        now: monotonic time of the latest event.
    """

    STATUSES: ClassVar[Mapping[str, str]] = _STATUS_TO_PHASE
    """Docker's status text (lower case) → layer phase."""
    VERBS: ClassVar[tuple[str, str]] = ("Pulling", "Pulled")
    """What the progress head says while it runs and once it is done."""

    reference: str
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    error: str = ""
    done: bool = False
    started: float | None = None
    now: float = 0.0

    def feed(self, event: Mapping[str, Any]) -> None:
        """Fold one decoded progress object in."""
        moment = clock.monotonic()
        if self.started is None:
            self.started = moment
        self.now = moment
        if event.get("error") or event.get("errorDetail"):
            detail = event.get("errorDetail") or {}
            self.error = str(event.get("error") or detail.get("message") or "pull failed")
            return
        status = str(event.get("status", ""))
        layer_id = event.get("id")
        phase = self.STATUSES.get(status.lower())
        if not layer_id or phase is None:
            if status:
                line = f"{layer_id}: {status}" if layer_id else status
                if not self.messages or self.messages[-1] != line:
                    self.messages.append(line)
            return
        layer = self.layers.setdefault(str(layer_id), LayerProgress(str(layer_id)))
        detail = event.get("progressDetail") or {}
        layer.phase = phase
        layer.current = int(detail.get("current") or 0)
        layer.total = int(detail.get("total") or 0)
        if phase in ("downloading", "pushing") and layer.total:
            layer.size = layer.total

    def finish(self) -> None:
        """Mark the stream as ended."""
        self.done = True
        self.now = clock.monotonic()

    @property
    def downloaded(self) -> int:
        """Compressed bytes fetched over all layers."""
        return sum(layer.downloaded for layer in self.layers.values())

    @property
    def total(self) -> int:
        """Compressed bytes of all layers whose size is known."""
        return sum(layer.size for layer in self.layers.values())

    @property
    def fraction(self) -> float:
        """Overall progress, 0..1."""
        if not self.layers:
            return 1.0 if self.done and not self.error else 0.0
        return sum(layer.fraction for layer in self.layers.values()) / len(self.layers)

    @property
    def speed(self) -> float:
        """Average download speed in bytes per second since the pull began."""
        span = self.now - (self.started if self.started is not None else self.now)
        return self.downloaded / span if span > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left for the download at the current speed, or ``None`` when unknown."""
        remaining = self.total - self.downloaded
        if self.done or remaining <= 0:
            return 0.0 if self.done or self.total else None
        speed = self.speed
        return remaining / speed if speed > 0 else None
