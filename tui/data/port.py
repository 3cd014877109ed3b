"""EnginePort: the one place the console calls a docker-py-shaped client.

Every method blocks (call it from a thread worker), returns the small frozen
dataclasses of :mod:`tui.data.models` and raises only :mod:`tui.data.errors`.
The client is :class:`engine.client.DockerClient` in production and the
deterministic fake in ``tests/tui/fake_engine.py`` for snapshots.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from tui.data import convert
from tui.data.errors import InvalidInput, Missing, translate
from tui.data.models import (
    Anatomy,
    ContainerRow,
    DiskUsage,
    EngineInfo,
    FileChange,
    Health,
    ImageRow,
    JournalEntry,
    LayerLine,
    ProcessTable,
)
from tui.data.runspec import RunSpec

T = TypeVar("T")

ACTIONS = ("start", "stop", "restart", "kill", "pause", "unpause", "remove")
"""Container lifecycle actions, named like docker-py's ``Container`` methods."""


def _translated(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - this is the one translation boundary
            raise translate(exc) from exc
    return wrapper


class Stream(Iterator[T]):
    """A streaming answer: iterate it in a worker, :meth:`close` it from anywhere to end it.

    Closing ends the connection, so a worker blocked in a read wakes up and
    stops (the client's streams are ``CancellableStream``s). Errors raised
    while iterating are translated like every other call's.
    """

    def __init__(self, items: Iterator[T], raw: Any = None) -> None:
        self._items = items
        self._raw = raw
        self.closed = False
        """Whether :meth:`close` was called."""

    def __iter__(self) -> Stream[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._items)
        except StopIteration:
            raise
        except Exception as exc:  # noqa: BLE001 - the translation boundary for streams
            if self.closed:
                raise StopIteration from None
            raise translate(exc) from exc

    def close(self) -> None:
        """End the stream (thread-safe; never raises)."""
        self.closed = True
        close = getattr(self._raw, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def _host_file(path: str, mode: str) -> Any:
    """``open(path, mode)``, with a host file error as :class:`InvalidInput` (not a lost engine)."""
    try:
        return open(path, mode)  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from exc


def _host_io(path: str, operation: Callable[[Any], T], argument: Any) -> T:
    try:
        return operation(argument)
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror or exc}") from exc


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class EnginePort:
    """A docker-py-shaped client seen through the console's dataclasses.

    Args:
        client: ``engine.client.DockerClient`` (or anything with its shape).
        url: where it points, for the header.
    """

    def __init__(self, client: Any, url: str = "") -> None:
        self.client = client
        """The client; only this module touches it."""
        self.url = url
        """The engine's address."""

    # -- the engine -------------------------------------------------------

    @_translated
    def info(self) -> EngineInfo:
        """Product, versions and host facts (``version()`` and ``info()``)."""
        return convert.engine_info(self.client.version(), self.client.info())

    def ping(self) -> Health:
        """One round trip; never raises."""
        started = time.monotonic()
        try:
            self.client.ping()
        except Exception as exc:  # noqa: BLE001
            return Health(False, 0.0, translate(exc).message)
        return Health(True, (time.monotonic() - started) * 1000.0)

    @_translated
    def disk_usage(self) -> DiskUsage:
        """``docker system df`` totals."""
        return convert.disk_usage(self.client.df())

    # -- containers -------------------------------------------------------

    @_translated
    def containers(self) -> list[ContainerRow]:
        """Every container, from one list call (sparse: no inspect per container)."""
        try:
            found = self.client.containers.list(all=True, sparse=True)
        except TypeError:
            found = self.client.containers.list(all=True)
        return [convert.container_row(c.attrs) for c in found]

    @_translated
    def container_action(self, container_id: str, action: str) -> None:
        """``start``, ``stop``, ``restart``, ``kill``, ``pause``, ``unpause`` or ``remove``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        container = self.client.containers.get(container_id)
        getattr(container, action)()

    @_translated
    def inspect_container(self, container_id: str) -> Mapping[str, Any]:
        """The container's inspect JSON."""
        return self.client.containers.get(container_id).attrs

    @_translated
    def top(self, container_id: str) -> ProcessTable:
        """``docker top``."""
        answer = self.client.containers.get(container_id).top()
        return ProcessTable(tuple(answer.get("Titles") or ()),
                            tuple(tuple(str(c) for c in row) for row in answer.get("Processes") or ()))

    @_translated
    def diff(self, container_id: str) -> list[FileChange]:
        """``docker diff``."""
        kinds = {0: "C", 1: "A", 2: "D"}
        changes = self.client.containers.get(container_id).diff() or []
        return [FileChange(str(c.get("Path", "")), kinds.get(c.get("Kind"), "?")) for c in changes]

    @_translated
    def logs(self, container_id: str, tail: int, follow: bool = True) -> Stream[str]:
        """Log lines with Docker's RFC 3339 timestamps, the last ``tail`` first."""
        chunks = self.client.api.logs(container_id, stream=True, follow=follow, tail=tail, timestamps=True)
        return Stream(convert.lines(chunks), chunks)

    @_translated
    def stats_once(self, container_id: str) -> Mapping[str, Any]:
        """One stats object, without waiting for a second sample (``one_shot``)."""
        try:
            return self.client.api.stats(container_id, stream=False, decode=False, one_shot=True)
        except TypeError:
            return self.client.api.stats(container_id, stream=False)

    @_translated
    def stats_stream(self, interval: float = 1.0) -> Stream[Mapping[str, Mapping[str, Any]]]:
        """Every running container's stats in one stream: one mapping (ID → stats object) per tick.

        Wharf's ``/wharf/stats``; :class:`Missing` on an engine without it (a
        real dockerd), where :meth:`stats_once` per container is the fallback.
        """
        api = self.client.api
        if not hasattr(api, "stats_all"):
            raise Missing("this client has no batched stats (not a Wharf engine)", 404)
        raw = api.stats_all(interval=interval)
        batches = ({str(item.get("id", "")): item for item in batch.get("stats") or ()} for batch in raw)
        return Stream(batches, raw)

    @_translated
    def run(self, spec: RunSpec) -> ContainerRow:
        """Create and start a container (``containers.run(detach=True)``)."""
        container = self.client.containers.run(spec.image, **spec.run_kwargs())
        try:
            container.reload()
        except Exception:  # noqa: BLE001 - the row can come from what run returned
            pass
        return convert.container_row(container.attrs)

    # -- images -----------------------------------------------------------

    @_translated
    def images(self, containers: Sequence[ContainerRow] = ()) -> list[ImageRow]:
        """Every image tag, with how many of ``containers`` use it."""
        used: dict[str, int] = {}
        for row in containers:
            used[row.image_id] = used.get(row.image_id, 0) + 1
        rows: list[ImageRow] = []
        for image in self.client.images.list():
            rows.extend(convert.image_rows(image.attrs, used))
        return rows

    @_translated
    def inspect_image(self, image_id: str) -> Mapping[str, Any]:
        """The image's inspect JSON."""
        return self.client.images.get(image_id).attrs

    @_translated
    def layers(self, image_id: str) -> list[LayerLine]:
        """The image's history, newest first, each line matched to its layer when possible."""
        image = self.client.images.get(image_id)
        return convert.layer_lines(image.history(), image.attrs)

    @_translated
    def tag_image(self, image_id: str, repository: str, tag: str) -> None:
        """Give the image another ``repository:tag``."""
        self.client.images.get(image_id).tag(repository, tag or "latest")

    @_translated
    def remove_image(self, reference: str, force: bool = False) -> None:
        """Untag (and delete when the last tag goes) an image."""
        self.client.images.remove(image=reference, force=force)

    @_translated
    def prune_images(self) -> tuple[int, int]:
        """Remove dangling images; returns ``(images deleted, bytes reclaimed)``."""
        answer = self.client.images.prune() or {}
        return len(answer.get("ImagesDeleted") or ()), int(answer.get("SpaceReclaimed") or 0)

    @_translated
    def pull(self, repository: str, tag: str) -> Stream[Mapping[str, Any]]:
        """Docker's JSON progress objects for a pull."""
        raw = self.client.api.pull(repository, tag, stream=True, decode=True)
        return Stream(iter(raw), raw)

    @_translated
    def push(self, repository: str, tag: str) -> Stream[Mapping[str, Any]]:
        """Docker's JSON progress objects for a push to the registry named in ``repository``."""
        raw = self.client.images.push(repository, tag=tag, stream=True, decode=True)
        return Stream(iter(raw), raw)

    @_translated
    def save_image(self, reference: str, path: str) -> int:
        """Write Docker's archive of ``reference`` to the host file ``path``; returns its size.

        Raises:
            InvalidInput: ``path`` cannot be written (the file is not left half written).
        """
        image = self.client.images.get(reference)
        named = reference if reference in image.tags else False
        written = 0
        with _host_file(path, "wb") as handle:
            try:
                for chunk in image.save(named=named):
                    _host_io(path, handle.write, chunk)
                    written += len(chunk)
            except BaseException:
                _discard(path)
                raise
        return written

    @_translated
    def load_images(self, path: str) -> list[str]:
        """Load the archive at the host file ``path``; the tags (or IDs) of what it held.

        Raises:
            InvalidInput: ``path`` cannot be read.
        """
        with _host_file(path, "rb") as handle:
            chunks = iter(lambda: _host_io(path, handle.read, 1 << 20), b"")
            images = self.client.images.load(chunks)
        return [image.tags[0] if image.tags else image.id for image in images]

    @_translated
    def commit(self, container_id: str, repository: str, tag: str, message: str = "") -> str:
        """Make an image of the container (``Container.commit``); returns the new image's ID."""
        container = self.client.containers.get(container_id)
        image = container.commit(repository=repository, tag=tag or "latest", message=message or None)
        return str(image.id)

    @_translated
    def login(self, registry: str, username: str, password: str) -> str:
        """Log the engine in to a registry; returns the engine's status line."""
        answer = self.client.login(username=username, password=password, registry=registry)
        return str((answer or {}).get("Status") or "Login Succeeded")

    # -- Wharf's teaching extensions (404 on a real dockerd) -------------

    @_translated
    def journal(self, since: int = 0) -> Stream[JournalEntry]:
        """Wharf's engine journal after ``since``, then live; :class:`Missing` on a real dockerd."""
        api = self.client.api
        if not hasattr(api, "journal"):
            raise Missing("this client has no journal (not a Wharf engine)", 404)
        raw = api.journal(since=since)
        return Stream((convert.journal_entry(event) for event in raw), raw)

    @_translated
    def events(self) -> Stream[JournalEntry]:
        """Docker's ``/events`` as journal entries (the fallback on a real dockerd)."""
        raw = self.client.api.events(decode=True)
        return Stream((convert.docker_event(event) for event in raw), raw)

    @_translated
    def anatomy(self, container_id: str) -> Anatomy:
        """Namespaces, cgroup, overlay dirs, network and PIDs of a container."""
        api = self.client.api
        if not hasattr(api, "anatomy"):
            raise Missing("this client has no anatomy (not a Wharf engine)", 404)
        return convert.anatomy(container_id, api.anatomy(container_id))

    # -- terminals --------------------------------------------------------

    @_translated
    def exec_shell(self, container_id: str, shell: str, size: tuple[int, int]) -> tuple[str, Any]:
        """Create and start a TTY exec of ``shell``; returns ``(exec id, socket)``."""
        api = self.client.api
        created = api.exec_create(container_id, [shell], stdin=True, tty=True)
        exec_id = created["Id"] if isinstance(created, Mapping) else str(created)
        sock = api.exec_start(exec_id, tty=True, socket=True)
        self.resize_exec(exec_id, size)
        return exec_id, sock

    def resize_exec(self, exec_id: str, size: tuple[int, int]) -> None:
        """Tell the exec's TTY the terminal's size ``(columns, rows)``; never raises."""
        try:
            self.client.api.exec_resize(exec_id, height=size[1], width=size[0])
        except Exception:  # noqa: BLE001 - resizing is best effort
            pass

    @_translated
    def attach_socket(self, container_id: str) -> Any:
        """A socket attached to the container's stdio (docker-py's ``attach_socket``)."""
        api = self.client.api
        if not hasattr(api, "attach_socket"):
            raise Missing("this client cannot attach", 404)
        return api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
