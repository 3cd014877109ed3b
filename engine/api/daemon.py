"""``wharf daemon`` and the console's embedded engine: serve the API for one state root.

One engine per state root, enforced by :class:`engine.state.EngineLock`
(``<root>/engine.lock``, which also records the socket it serves). Stopping
closes the listeners and ends open connections; containers keep running
(their shims own them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.api.app import build_api
from engine.api.http import HTTPServer
from engine.api.router import Api
from engine.api.listeners import SOCKET_MODE, bind_tcp, bind_unix, remove_socket
from engine.api.system_backend import SystemOnlyBackend
from engine.errors import EngineLocked, WharfError
from engine.jobs import Component, EventBus, Job
from engine.state import EngineLock, StateRoot

log = logging.getLogger("wharf.daemon")

EMBEDDED_SOCKET = "wharf.sock"
"""The embedded engine's socket, inside its state root."""


def build_backend(root: str, bus: EventBus | None = None) -> Any:
    """The engine facade for ``root``: ``engine.engine.Engine`` if present, else system-only."""
    try:
        from engine.engine import Engine  # noqa: PLC0415 - written by the lead; optional until then
    except ImportError:
        return SystemOnlyBackend(root, bus)
    return Engine(root)


def _close_backend(backend: Any) -> None:
    close = getattr(backend, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - shutting down: report, keep going
            log.exception("closing the engine failed")


@dataclass
class _Serving:
    """What one running server holds, for a clean stop."""

    server: HTTPServer
    api: Api
    socket_path: str
    sock: Any
    inode: int


async def _start(backend: Any, socket_path: str, tcp: tuple[str, int] | None,
                 ssl_context: Any) -> _Serving:
    bus: EventBus = backend.bus
    with Job(bus, "serve", socket_path, Component.DAEMON) as job:
        api = build_api(backend)
        server = HTTPServer(api)
        sock = bind_unix(socket_path, SOCKET_MODE)
        inode = os.stat(socket_path).st_ino
        await server.serve_socket(sock)
        job.step("listen", subject=socket_path, mode=oct(SOCKET_MODE), owner="root")
        if tcp is not None:
            tcp_sock = bind_tcp(tcp[0], tcp[1], tls=ssl_context is not None)
            if ssl_context is not None:
                await server.serve_tls(tcp_sock, ssl_context)
            else:
                await server.serve_socket(tcp_sock)
            job.step("listen", subject=f"{tcp[0]}:{tcp[1]}", tls=ssl_context is not None)
    return _Serving(server, api, socket_path, sock, inode)


async def _stop(serving: _Serving) -> None:
    remove_socket(serving.socket_path, serving.inode)  # no new clients find it
    await serving.server.close()
    serving.api.workers.shutdown()


def run_daemon(socket_path: str, root: str, tcp: tuple[str, int] | None = None,
               ssl_context: Any = None) -> int:
    """Serve the Docker Engine API for ``root`` on ``socket_path`` until SIGTERM or SIGINT.

    Args:
        socket_path: the unix socket (created mode 0660, owner root).
        root: the state root.
        tcp: also listen on this (host, port): loopback only unless ``ssl_context`` is given.
        ssl_context: TLS for the TCP listener.

    Returns:
        The process exit status: 0 after a clean stop, 1 if the engine could not start.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per registry request is noise
    socket_path = os.path.abspath(socket_path)
    try:
        state = StateRoot.at(root)
        lock = EngineLock(state, socket_path)
        lock.acquire()
    except WharfError as exc:
        print(f"wharf daemon: {exc}", file=sys.stderr)
        return 1
    try:
        backend = build_backend(str(state.path))
        return asyncio.run(_serve_until_signalled(backend, socket_path, tcp, ssl_context))
    except WharfError as exc:
        print(f"wharf daemon: {exc}", file=sys.stderr)
        return 1
    finally:
        lock.release()


async def _serve_until_signalled(backend: Any, socket_path: str, tcp: tuple[str, int] | None,
                                 ssl_context: Any) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    serving = await _start(backend, socket_path, tcp, ssl_context)
    log.info("serving the Docker Engine API on unix://%s (state root %s)", socket_path,
             getattr(backend, "root", "?"))
    try:
        await stop.wait()
    finally:
        log.info("stopping: closing listeners (containers keep running)")
        await _stop(serving)
        _close_backend(backend)
    return 0


def serve_embedded(root: str) -> tuple[str, Callable[[], None]]:
    """Serve ``root``'s engine on ``<root>/wharf.sock`` from a background thread.

    If a ``wharf daemon`` already serves ``root`` (its lock is held), nothing
    is started: that daemon's socket is returned, with a ``stop`` that does
    nothing.

    Returns:
        (socket path, stop): ``stop()`` closes the listeners, releases the
        lock and joins the thread; it is idempotent.

    Raises:
        EngineLocked: the root is locked but its owner's socket is unknown.
        WharfError: the engine or its socket could not be set up.
    """
    state = StateRoot.at(root)
    socket_path = str(state.path / EMBEDDED_SOCKET)
    lock = EngineLock(state, socket_path)
    try:
        lock.acquire()
    except EngineLocked:
        owner = _owner(lock)
        if owner.get("socket"):
            return str(owner["socket"]), lambda: None
        raise
    try:
        backend = build_backend(str(state.path))
    except BaseException:
        lock.release()
        raise
    return _EmbeddedServer(backend, socket_path, lock).start()


def _owner(lock: EngineLock) -> dict[str, Any]:
    try:
        return lock.owner()
    except WharfError:
        return {}


class _EmbeddedServer:
    """The API served from a thread with its own event loop."""

    def __init__(self, backend: Any, socket_path: str, lock: EngineLock) -> None:
        self.backend = backend
        self.socket_path = socket_path
        self.lock = lock
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="wharf-embedded-api", daemon=True)
        self._stopped = False
        self._stop_lock = threading.Lock()

    def start(self) -> tuple[str, Callable[[], None]]:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self.lock.release()
            raise self._error
        return self.socket_path, self.stop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        serving = await _start(self.backend, self.socket_path, None, None)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await _stop(serving)

    def stop(self) -> None:
        """Close the listeners, release the lock, join the thread (idempotent)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        _close_backend(self.backend)
        self.lock.release()
