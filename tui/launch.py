"""Start the console: build the client(s), pick the engine, run the app, restore the terminal.

``run_console(root, host)`` is what ``wharf`` calls. ``python -m tui.launch
[--host URL] [--root DIR]`` does the same without the rest of the CLI.

Two things are built here: the embedded engine (:func:`embedded_target`, via
``engine.api.embedded`` — the only place the console touches the engine's
server) and the registry browser behind the repository pane
(:func:`make_registry_browser`).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tui.data.models import EngineTarget
from tui.data.registry import NoRegistryBrowser, RegistryBrowser

WHARF_SOCKET = "/run/wharf.sock"
"""Where ``wharf daemon`` serves by default."""
DOCKER_SOCKET = "/var/run/docker.sock"
"""Where a real dockerd usually serves."""


def make_client(target: EngineTarget) -> Any:
    """A docker-py-shaped client for ``target`` (``engine.client.DockerClient``)."""
    from engine.client import DockerClient  # noqa: PLC0415 - the console's only client

    return DockerClient(base_url=target.url)


def make_registry_browser(client: Any) -> RegistryBrowser:
    """The registry browser behind the repository pane.

    Registries are browsed from the console's side, as ``docker manifest
    inspect`` does, with the user's docker credentials; hosts in
    ``WHARF_INSECURE_REGISTRIES`` may use plain http (loopback always may).
    """
    from tui.data.registry_engine import EngineRegistryBrowser  # noqa: PLC0415

    insecure = [h for h in os.environ.get("WHARF_INSECURE_REGISTRIES", "").split(",") if h]
    return EngineRegistryBrowser(insecure)


def embedded_target(root: str) -> tuple[EngineTarget | None, Callable[[], None]]:
    """Start (or find) the engine that serves ``root``; returns its target and a stop function.

    ``engine.api.embedded.start_embedded`` serves the engine from a thread of
    this process, or returns the socket of the ``wharf daemon`` serving ``root``.
    """
    from engine.api.embedded import start_embedded  # noqa: PLC0415 - the one place the console starts an engine

    from engine.errors import WharfError  # noqa: PLC0415

    try:
        url, stop = start_embedded(root)
    except (WharfError, OSError) as exc:
        print(f"wharf: the embedded engine on {root} could not start: {exc}", file=sys.stderr)
        return None, lambda: None
    return EngineTarget("embedded", url, f"Wharf's own engine on {root}"), stop


def discover(host: str | None, embedded: EngineTarget | None,
             environ: dict[str, str] | None = None) -> list[EngineTarget]:
    """The engines the picker offers, the one to open first at the front."""
    env = dict(os.environ if environ is None else environ)
    targets: list[EngineTarget] = []
    if host:
        targets.append(EngineTarget("--host", normalise(host), "from the command line"))
    if embedded is not None:
        targets.append(embedded)
    if env.get("DOCKER_HOST"):
        targets.append(EngineTarget("DOCKER_HOST", normalise(env["DOCKER_HOST"]), "from the environment"))
    for name, path, what in (("wharf daemon", WHARF_SOCKET, "wharf daemon's socket"),
                             ("docker", DOCKER_SOCKET, "a Docker daemon")):
        if os.path.exists(path):
            targets.append(EngineTarget(name, f"unix://{path}", what))
    unique: dict[str, EngineTarget] = {}
    for target in targets:
        unique.setdefault(target.url, target)
    return list(unique.values())


def normalise(url: str) -> str:
    """``/run/x.sock`` → ``unix:///run/x.sock``; URLs with a scheme stay."""
    if url.startswith("/"):
        return f"unix://{url}"
    return url


def run_console(root: str, host: str | None) -> int:
    """Run the console on ``host`` (or the embedded engine of ``root``); returns the exit status."""
    embedded, stop = (None, lambda: None) if host else embedded_target(root)
    targets = discover(host, embedded)
    if not targets:
        print("wharf: no engine to manage: the embedded engine is not available in this build; "
              f"pass --host URL (e.g. unix://{DOCKER_SOCKET})", file=sys.stderr)
        return 2
    try:
        first = make_client(targets[0])
    except ImportError as exc:
        print(f"wharf: the client is not available in this build yet ({exc})", file=sys.stderr)
        stop()
        return 2
    clients = {targets[0].url: first}

    def connect(target: EngineTarget) -> Any:
        if target.url not in clients:
            clients[target.url] = make_client(target)
        return clients[target.url]

    from tui.app import WharfApp  # noqa: PLC0415
    app = WharfApp(connect, targets, make_registry_browser(first))
    try:
        code = app.run()
    finally:
        for client in clients.values():
            close = getattr(client, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
        stop()
    return exit_without_stragglers(code or 0)


def exit_without_stragglers(code: int, grace: float = 1.0) -> int:
    """Return ``code``, or end the process now if worker threads are stuck in blocking reads.

    A thread following a log or the journal blocks in a socket read that no
    cancel can interrupt; Python would wait for it at exit. The terminal is
    already restored by then, so ending the process is safe.
    """
    stragglers = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    for thread in stragglers:
        thread.join(grace / max(1, len(stragglers)))
    if any(t.is_alive() and not t.daemon for t in stragglers):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tui.launch [--root DIR] [--host URL]``."""
    parser = argparse.ArgumentParser(prog="python -m tui.launch", description="Wharf's console")
    parser.add_argument("--root", default="/var/lib/wharf")
    parser.add_argument("--host")
    args = parser.parse_args(argv)
    return run_console(args.root, args.host)


if __name__ == "__main__":
    raise SystemExit(main())
