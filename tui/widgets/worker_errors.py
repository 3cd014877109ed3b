"""One place where a failed worker becomes a banner (engine gone) or a notification."""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from tui.data.errors import EngineGone, translate
from tui.messages import EngineLost


class ReportsWorkerErrors:
    """Mixin for widgets and screens that run workers with ``exit_on_error=False``."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Turn a worker's exception into :class:`EngineLost` or an error notification."""
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        error = translate(event.worker.error)
        if isinstance(error, EngineGone):
            self.post_message(EngineLost(error.message))  # type: ignore[attr-defined]
        else:
            label = event.worker.description or event.worker.name
            self.notify(f"{label}: {error.message}", markup=False, severity="error", timeout=6)  # type: ignore[attr-defined]
