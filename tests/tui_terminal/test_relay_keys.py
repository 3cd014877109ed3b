"""The relay's detach keys: ctrl+p ctrl+q split across reads detaches and sends neither; a lone ctrl+p is sent."""

from __future__ import annotations

import os
import socket
import threading
import time

from tui.terminal import pump


def _run(chunks: list[bytes]) -> tuple[str, bytes]:
    """Type ``chunks`` (0.2 s apart) into a relay over a socket pair; its outcome and what the peer got."""
    ours, theirs = socket.socketpair()
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    received: list[bytes] = []

    def peer() -> None:
        while True:
            data = theirs.recv(100)
            if not data:
                return
            received.append(data)

    def typist() -> None:
        for chunk in chunks:
            os.write(stdin_w, chunk)
            time.sleep(0.2)
        time.sleep(0.3)
        theirs.shutdown(socket.SHUT_WR)  # the session ends if nothing detached it

    threads = [threading.Thread(target=peer), threading.Thread(target=typist)]
    for thread in threads:
        thread.start()
    try:
        outcome = pump(ours, stdin_fd=stdin_r, stdout_fd=stdout_w)
    finally:
        for thread in threads:
            thread.join(5)
        theirs.close()
        for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
            os.close(fd)
    return outcome, b"".join(received)


def test_detach_pair_in_two_reads_sends_only_what_came_before():
    """``ls`` then ctrl+p, then ctrl+q in a later read: detached, the container got ``ls`` only."""
    assert _run([b"ls", b"\x10", b"\x11"]) == ("detached", b"ls")


def test_a_lone_ctrl_p_reaches_the_container():
    """ctrl+p followed by another key is an ordinary key (shell history)."""
    assert _run([b"\x10", b"x", b"\x10\x10y"]) == ("the session ended", b"\x10x\x10\x10y")
