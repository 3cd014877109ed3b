"""The one exception tree of Wharf's engine.

Every error the engine raises on purpose is a :class:`WharfError`. Foreign
errors (``OSError``, ``httpx`` errors, ``json`` errors, …) are translated into
this tree once, at the boundary of the subsystem that met them. The API
server turns each class into Docker's status code via :attr:`WharfError.status`;
the console shows :attr:`WharfError.title` and the message in a dialog.

::

    WharfError
    ├── InvalidArgument                 400  bad input from the user
    │   ├── InvalidReference                 a malformed image reference
    │   └── InvalidSpec                      a container/network spec that cannot be honoured
    ├── NotFound                        404
    │   ├── ImageNotFound                    "No such image: …"
    │   ├── ContainerNotFound                "No such container: …"
    │   ├── NetworkNotFound
    │   ├── VolumeNotFound
    │   └── ManifestUnknown                  the registry has no such repository or tag
    ├── Conflict                        409
    │   ├── InvalidStateTransition           names the current and the wanted state
    │   ├── InUse                            removing something still in use
    │   └── AlreadyExists                    a name already taken
    ├── EngineLocked                         another engine serves this state root
    ├── RegistryError                        the registry or its content misbehaved
    │   ├── Unauthorized                     401: bad or missing credentials
    │   ├── RegistryUnavailable              connection refused, reset, 5xx after retries
    │   ├── DigestMismatch                   content does not hash to its digest
    │   ├── SizeMismatch                     content is shorter or longer than declared
    │   ├── ManifestTooLarge                 over the size cap
    │   └── UnsupportedMediaType             schema1, encrypted layers, artifacts, …
    ├── LayerError                           a layer cannot be unpacked
    │   └── UnsafeLayer                      the tar tries to write outside its layer
    ├── StorageError                         graph driver failures (mounts, disk)
    ├── NetworkError                         network driver failures
    ├── RuntimeFailure                       exec driver failures (namespaces, cgroups, exec)
    │   └── CommandNotFound                  the command is not in the image (exit 127)
    └── EngineUnavailable                    the client cannot reach an engine
"""

from __future__ import annotations


class WharfError(Exception):
    """Base of every error Wharf raises on purpose.

    Args:
        message: one precise sentence for the user, naming what is wrong.
        title: a short heading for a dialog; defaults to the class's :attr:`title`.
    """

    status: int = 500
    """The HTTP status the API answers with for this error."""

    title: str = "Engine error"
    """A short heading for a dialog."""

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class InvalidArgument(WharfError):
    """Bad input from the user (400)."""

    status = 400
    title = "Invalid argument"


class InvalidReference(InvalidArgument):
    """A malformed image reference."""

    title = "Invalid reference"


class InvalidSpec(InvalidArgument):
    """A container, network or volume spec that cannot be honoured."""

    title = "Invalid specification"


class NotFound(WharfError):
    """The named object does not exist (404)."""

    status = 404
    title = "Not found"


class ImageNotFound(NotFound):
    """No image by that reference. Messages read ``No such image: <ref>``."""

    title = "No such image"


class ContainerNotFound(NotFound):
    """No container by that name or ID. Messages read ``No such container: <ref>``."""

    title = "No such container"


class NetworkNotFound(NotFound):
    """No network by that name or ID."""

    title = "No such network"


class VolumeNotFound(NotFound):
    """No volume by that name."""

    title = "No such volume"


class ManifestUnknown(NotFound):
    """The registry has no such repository, tag or digest."""

    title = "Not in the registry"


class Conflict(WharfError):
    """The request conflicts with the object's current state (409)."""

    status = 409
    title = "Conflict"


class InvalidStateTransition(Conflict):
    """A lifecycle move the current state does not allow.

    Args:
        current: the state the object is in.
        wanted: the state (or operation) that was asked for.
        subject: what the object is, e.g. ``container "web"``.
    """

    title = "Not in that state"

    def __init__(self, current: str, wanted: str, subject: str = "object") -> None:
        super().__init__(f"cannot {wanted} {subject}: it is {current}")
        self.current = current
        self.wanted = wanted


class InUse(Conflict):
    """Removing something that is still in use."""

    title = "In use"


class AlreadyExists(Conflict):
    """A name or object that already exists."""

    title = "Already exists"


class EngineLocked(WharfError):
    """Another engine already serves this state root."""

    status = 409
    title = "Engine already running"


class RegistryError(WharfError):
    """The registry, or the content it served, misbehaved."""

    status = 500
    title = "Registry error"


class Unauthorized(RegistryError):
    """The registry refused the credentials, or needs some (401)."""

    status = 401
    title = "Unauthorized"


class RegistryUnavailable(RegistryError):
    """The registry could not be reached, or kept failing after retries."""

    title = "Registry unavailable"


class DigestMismatch(RegistryError):
    """Content that does not hash to the digest it was asked for by."""

    title = "Digest mismatch"


class SizeMismatch(RegistryError):
    """Content shorter or longer than its descriptor says."""

    title = "Size mismatch"


class ManifestTooLarge(RegistryError):
    """A manifest over the size cap."""

    title = "Manifest too large"


class UnsupportedMediaType(RegistryError):
    """A manifest or layer type Wharf refuses (schema1, encrypted, artifacts)."""

    status = 400
    title = "Unsupported content"


class LayerError(WharfError):
    """A layer that cannot be unpacked."""

    title = "Layer error"


class UnsafeLayer(LayerError):
    """A layer whose tar tries to write outside its own directory."""

    title = "Unsafe layer refused"


class StorageError(WharfError):
    """A graph driver failure: a mount, the disk, the store's own files."""

    title = "Storage error"


class NetworkError(WharfError):
    """A network driver failure."""

    title = "Network error"


class RuntimeFailure(WharfError):
    """An exec driver failure: namespaces, cgroups, mounts, exec."""

    title = "Runtime error"


class CommandNotFound(RuntimeFailure):
    """The container's command does not exist in its image (exit 127)."""

    status = 400
    title = "Command not found"


class EngineUnavailable(WharfError):
    """The client cannot reach an engine."""

    status = 503
    title = "Engine unavailable"
