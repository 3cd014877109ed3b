"""Attach the real terminal to a container's TTY socket while the app is suspended.

Bytes go both ways between the terminal and the socket; the terminal is in
raw mode so the container's shell gets every key (Ctrl-C included); window
resizes are forwarded. ``ctrl+p ctrl+q`` detaches, like ``docker attach``.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import termios
import tty
from collections.abc import Callable
from typing import Any

DETACH = b"\x10\x11"
"""ctrl+p ctrl+q."""


def socket_fd(sock: Any) -> int:
    """The file descriptor behind what ``exec_start(socket=True)`` returned."""
    for candidate in (sock, getattr(sock, "_sock", None), getattr(sock, "raw", None)):
        fileno = getattr(candidate, "fileno", None)
        if fileno is not None:
            try:
                return int(fileno())
            except (OSError, ValueError):
                continue
    raise TypeError(f"cannot find a file descriptor in {type(sock).__name__}")


def pump(sock: Any, on_resize: Callable[[tuple[int, int]], None] | None = None,
         stdin_fd: int | None = None, stdout_fd: int | None = None) -> str:
    """Relay until the container side closes or the user detaches; returns why it ended."""
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    fd = socket_fd(sock)
    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    previous_handler = None
    if on_resize is not None:
        def resized(signum: int, frame: object) -> None:
            size = os.get_terminal_size(stdout_fd)
            on_resize((size.columns, size.lines))
        previous_handler = signal.signal(signal.SIGWINCH, resized)
    try:
        if saved is not None:
            tty.setraw(stdin_fd)
        pending = b""
        while True:
            ready, _, _ = select.select([fd, stdin_fd], [], [])
            if fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    return "the session ended"
                os.write(stdout_fd, data)
            if stdin_fd in ready:
                data = os.read(stdin_fd, 4096)
                if not data:
                    return "input closed"
                pending = (pending + data)[-2:]
                if pending == DETACH:
                    return "detached"
                os.write(fd, data)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        if previous_handler is not None:
            signal.signal(signal.SIGWINCH, previous_handler)
        for closer in (getattr(sock, "close", None),):
            try:
                if closer:
                    closer()
            except OSError:
                pass
