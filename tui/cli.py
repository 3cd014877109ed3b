"""The ``wharf`` command: the console, ``wharf daemon`` and ``wharf serve``.

This is the one entry point that may import the engine's server (to run an
embedded engine or a daemon); the console itself talks to engines only
through :mod:`engine.client`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.version import API_VERSION, __version__

DEFAULT_ROOT = "/var/lib/wharf"
"""The engine's default state root."""

DEFAULT_SOCKET = "/run/wharf.sock"
"""Where ``wharf daemon`` serves the API by default."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``wharf`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="wharf",
        description=(
            "A terminal console for containers that carries its own engine. "
            "With no command, opens the console on the embedded engine."
        ),
    )
    parser.add_argument(
        "--version", action="version",
        version=f"wharf {__version__} (Docker Engine API {API_VERSION})",
    )
    parser.add_argument("--root", default=DEFAULT_ROOT, metavar="DIR",
                        help=f"the embedded engine's state root (default {DEFAULT_ROOT})")
    parser.add_argument("--host", metavar="URL",
                        help="manage another Docker-API engine instead (unix://PATH, tcp://HOST:PORT)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    daemon = commands.add_parser("daemon", help="serve the Docker Engine API on a unix socket")
    daemon.add_argument("--socket", default=DEFAULT_SOCKET, metavar="PATH",
                        help=f"the unix socket to serve on (default {DEFAULT_SOCKET})")
    daemon.add_argument("--root", dest="daemon_root", default=None, metavar="DIR",
                        help=f"the state root (default {DEFAULT_ROOT})")

    serve = commands.add_parser("serve", help="serve the console to a browser on loopback")
    serve.add_argument("--port", type=int, default=8000, help="the loopback port (default 8000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wharf``; returns the process's exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "daemon":
        return _run_daemon(args)
    if args.command == "serve":
        from tui.serve import serve_console  # noqa: PLC0415

        return serve_console(args.port, root=args.root, host=args.host)
    return _run_console(args)


def _run_daemon(args: argparse.Namespace) -> int:
    try:
        from engine.api.daemon import run_daemon  # noqa: PLC0415 - the engine is optional here
    except ImportError:
        return _unavailable("wharf daemon")
    return run_daemon(socket_path=args.socket, root=args.daemon_root or args.root)


def _run_console(args: argparse.Namespace) -> int:
    try:
        from tui.launch import run_console  # noqa: PLC0415
    except ImportError:
        return _unavailable("the console")
    return run_console(root=args.root, host=args.host)


def _unavailable(what: str) -> int:
    print(f"wharf: {what} is not available in this build yet (engine not implemented)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
