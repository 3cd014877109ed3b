"""Docker's push progress stream folded into per-layer state, ending with the pushed digest.

``api.push(..., stream=True, decode=True)`` yields objects such as
``{"status": "Pushing", "id": "a1b2c3d4e5f6", "progressDetail": {"current": 1024, "total": 4096}}``.
A layer goes ``Preparing`` / ``Waiting`` → ``Pushing`` → ``Pushed`` (or straight
to ``Layer already exists`` / ``Mounted from <repo>``). The last line without an
``id`` is ``<tag>: digest: sha256:… size: N``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tui.data.pull import PullState

_STATUS_TO_PHASE = {
    "preparing": "waiting",
    "waiting": "waiting",
    "pushing": "pushing",
    "pushed": "pushed",
    "layer already exists": "exists",
}

_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@dataclass
class PushState(PullState):
    """A whole push as it unfolds (the layer bars of :class:`PullState`, push phases)."""

    STATUSES: ClassVar[Mapping[str, str]] = _STATUS_TO_PHASE
    VERBS: ClassVar[tuple[str, str]] = ("Pushing", "Pushed")

    def feed(self, event: Mapping[str, Any]) -> None:
        """Fold one decoded progress object in (``Mounted from …`` counts as already there)."""
        status = str(event.get("status", ""))
        if event.get("id") and status.lower().startswith("mounted from"):
            event = {**event, "status": "Layer already exists"}
        super().feed(event)

    @property
    def digest(self) -> str:
        """The manifest digest the registry now has under the tag, once the push said it."""
        for line in reversed(self.messages):
            found = _DIGEST.search(line)
            if found:
                return found.group(1)
        return ""
