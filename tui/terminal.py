"""Attach the real terminal to a container's TTY socket while the app is suspended.

Bytes go both ways between the terminal and the socket; the terminal is in
raw mode so the container's shell gets every key (Ctrl-C included); window
resizes are forwarded. ``ctrl+p ctrl+q`` detaches, like ``docker attach``.

The socket is whatever ``exec_start(socket=True)`` or ``attach_socket``
returned: Wharf's client gives a ``HijackedSocket`` (``recv``/``sendall``,
which also hands over bytes the HTTP layer already buffered), docker-py a
socket. A reader thread copies the container's output; the calling thread
copies keys.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any

DETACH = b"\x10\x11"
"""ctrl+p ctrl+q."""


def _reader(sock: Any) -> Callable[[], bytes]:
    for name in ("recv", "read"):
        method = getattr(sock, name, None)
        if method is not None:
            return lambda: method(65536)
    fd = sock.fileno()
    return lambda: os.read(fd, 65536)


def _writer(sock: Any) -> Callable[[bytes], None]:
    for name in ("sendall", "write"):
        method = getattr(sock, name, None)
        if method is not None:
            return method
    fd = sock.fileno()
    return lambda data: os.write(fd, data) and None


def pump(sock: Any, on_resize: Callable[[tuple[int, int]], None] | None = None,
         stdin_fd: int | None = None, stdout_fd: int | None = None) -> str:
    """Relay until the container side closes or the user detaches; returns why it ended."""
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    recv, send = _reader(getattr(sock, "_sock", None) or sock), _writer(getattr(sock, "_sock", None) or sock)
    ended = threading.Event()

    def copy_output() -> None:
        try:
            while True:
                data = recv()
                if not data:
                    return
                os.write(stdout_fd, data)
        except OSError:
            return
        finally:
            ended.set()

    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    previous_handler = None
    if on_resize is not None:
        def resized(signum: int, frame: object) -> None:
            size = os.get_terminal_size(stdout_fd)
            on_resize((size.columns, size.lines))
        previous_handler = signal.signal(signal.SIGWINCH, resized)
    reader = threading.Thread(target=copy_output, name="wharf-terminal", daemon=True)
    try:
        if saved is not None:
            tty.setraw(stdin_fd)
        reader.start()
        held = b""  # a trailing ctrl+p, kept back until we know whether ctrl+q follows
        while not ended.is_set():
            ready, _, _ = select.select([stdin_fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(stdin_fd, 4096)
            if not data:
                return "input closed"
            data, held = held + data, b""
            if DETACH in data:
                before = data[:data.index(DETACH)]
                if before:
                    send(before)
                return "detached"
            if data.endswith(DETACH[:1]):
                data, held = data[:-1], DETACH[:1]
            if data:
                send(data)
        return "the session ended"
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        if previous_handler is not None:
            signal.signal(signal.SIGWINCH, previous_handler)
        try:
            sock.close()
        except OSError:
            pass
        reader.join(1.0)
