"""Pick the graph driver for a state root: overlay when it works there, else vfs."""

from __future__ import annotations

from engine.errors import InvalidArgument
from engine.images.layers import LayerStore
from engine.storage.driver import GraphDriver
from engine.storage.overlay import OverlayDriver, overlay_works
from engine.storage.vfs import VfsDriver


def select_driver(layers: LayerStore, name: str | None = None) -> tuple[GraphDriver, str]:
    """The driver to use, and why (for the engine's log and ``docker info``).

    Args:
        layers: the layer store of the state root.
        name: ``"overlay2"``/``"overlay"`` or ``"vfs"`` to force one; ``None`` to detect.

    Raises:
        InvalidArgument: an unknown driver name.
    """
    if name in ("overlay", "overlay2"):
        return OverlayDriver(layers), "forced"
    if name == "vfs":
        return VfsDriver(layers), "forced"
    if name is not None:
        raise InvalidArgument(f"unknown storage driver {name!r}: use overlay2 or vfs")
    works, reason = overlay_works(layers.root.path)
    if works:
        return OverlayDriver(layers), "overlay works on the state root"
    return VfsDriver(layers), reason
