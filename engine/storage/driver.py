"""The graph driver interface: stack an image's layers into a container's root.

Two implementations share it: :class:`engine.storage.overlay.OverlayDriver`
(overlayfs: the layers are lower dirs, the container writes into an upper dir)
and :class:`engine.storage.vfs.VfsDriver` (copies the layers, for filesystems
where overlay does not work, e.g. an engine root that is itself on overlay).
:func:`select_driver` picks one for a state root.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field

from engine.images.layers import LayerStore
from engine.jobs import Job


class ChangeKind(enum.IntEnum):
    """What happened to a path, numbered as Docker's ``/containers/{id}/changes``."""

    MODIFIED = 0
    ADDED = 1
    DELETED = 2


@dataclass(frozen=True)
class Change:
    """One path a container changed (``docker diff``).

    Attributes:
        path: absolute inside the container, e.g. ``/etc/hosts``.
        kind: modified, added or deleted.
    """

    path: str
    kind: ChangeKind


@dataclass(frozen=True)
class MountInfo:
    """How a container's root was assembled.

    Attributes:
        driver: ``"overlay"`` or ``"vfs"``.
        target: the merged root the container sees.
        lowerdir: the lower layers as passed to overlay, uppermost first
            (``l/<short-id>`` links), or the copied layers' folders for vfs.
        upperdir: where the container's writes go.
        workdir: overlay's work folder (empty for vfs).
        options: the option string, as ``mount -o`` would take it.
        method: ``"fsconfig"`` (new mount API), ``"mount(2)"`` or ``"copy"``.
    """

    driver: str
    target: str
    lowerdir: list[str] = field(default_factory=list)
    upperdir: str = ""
    workdir: str = ""
    options: str = ""
    method: str = ""


class GraphDriver(abc.ABC):
    """Assembles containers' root filesystems from layers in a :class:`LayerStore`.

    Args:
        layers: where the layers live.
    """

    name: str = ""
    """The driver's name as Docker reports it (``GraphDriver.Name``)."""

    def __init__(self, layers: LayerStore) -> None:
        self.layers = layers

    @abc.abstractmethod
    def mount(self, container_id: str, chain_ids: list[str], upper: str, work: str,
              target: str, *, job: Job | None = None) -> MountInfo:
        """Make ``target`` show the layers ``chain_ids`` with ``upper`` on top.

        Args:
            container_id: whose root this is (for events).
            chain_ids: the image's chain IDs, **base first** (``RootFS.Layers`` order);
                an empty list mounts just the upper dir over an empty lower.
            upper: an existing folder for the container's changes.
            work: an existing, empty folder on the same filesystem as ``upper``.
            target: an existing folder to mount on.
            job: where to publish the ``overlay mount`` step.

        Raises:
            NotFound: a layer is missing.
            StorageError: the mount failed (the message names the options).
        """

    @abc.abstractmethod
    def unmount(self, target: str) -> None:
        """Undo :meth:`mount` (lazily if busy); nothing mounted is fine.

        Raises:
            StorageError: the kernel refused.
        """

    @abc.abstractmethod
    def diff(self, upper: str, chain_ids: list[str]) -> list[Change]:
        """What the container changed relative to its image, sorted by path.

        Args:
            upper: the container's upper folder (for vfs: its root folder).
            chain_ids: the image's chain IDs, base first.
        """

    def metadata(self, info: MountInfo) -> dict[str, str]:
        """``GraphDriver.Data`` as Docker shows it in inspect."""
        return {"LowerDir": ":".join(info.lowerdir), "UpperDir": info.upperdir,
                "WorkDir": info.workdir, "MergedDir": info.target}
