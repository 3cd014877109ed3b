"""``wharf serve``: the console in a browser, on loopback only (textual-serve).

textual-serve runs one console process per browser tab (the command below)
and relays its terminal over a websocket. The shell and attach keys need a
real terminal, so in a browser they say so instead of suspending.
"""

from __future__ import annotations

import shlex
import sys

LOOPBACK = "127.0.0.1"
"""The only address served: the console can stop and remove containers."""


def console_command(root: str, host: str | None) -> str:
    """The command each browser tab runs."""
    argv = [sys.executable, "-m", "tui.launch", "--root", root]
    if host:
        argv += ["--host", host]
    return shlex.join(argv)


def serve_console(port: int, root: str = "/var/lib/wharf", host: str | None = None) -> int:
    """Serve the console on ``http://127.0.0.1:port`` until interrupted; returns the exit status."""
    try:
        from textual_serve.server import Server  # noqa: PLC0415 - optional dependency (extra "serve")
    except ImportError:
        print("wharf serve needs textual-serve: pip install 'wharf[serve]'", file=sys.stderr)
        return 2
    Server(console_command(root, host), host=LOOPBACK, port=port, title="Wharf").serve()
    return 0
