"""The console's embedded engine: ``start_embedded(root) -> (url, stop)``.

Serves ``root``'s engine on ``<root>/wharf.sock`` from a background thread of
the console's process (or finds the ``wharf daemon`` already serving that
root), so the console reaches it through ``engine.client`` like any engine.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.api.daemon import serve_embedded


def start_embedded(root: str) -> tuple[str, Callable[[], None]]:
    """The ``unix://`` URL of the engine serving ``root``, and a function that stops it if we started it."""
    socket_path, stop = serve_embedded(root)
    return f"unix://{socket_path}", stop
