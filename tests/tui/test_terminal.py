"""The shell/attach relay with real sockets and pipes: output copied, keys sent, detach, end."""

from __future__ import annotations

import os
import socket
import threading

from tui.terminal import DETACH, pump


def _pipes():
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    return stdin_r, stdin_w, stdout_r, stdout_w


def test_relays_both_ways_until_the_container_side_closes():
    """Keys reach the socket, the socket's bytes reach the terminal, and a close ends the session."""
    ours, theirs = socket.socketpair()
    stdin_r, stdin_w, stdout_r, stdout_w = _pipes()
    received = []

    def container() -> None:
        received.append(theirs.recv(100))  # the keys
        theirs.sendall(b"root@web:/# ")
        theirs.close()

    thread = threading.Thread(target=container)
    thread.start()
    os.write(stdin_w, b"ls\r")
    outcome = pump(ours, stdin_fd=stdin_r, stdout_fd=stdout_w)
    thread.join(5)
    assert outcome == "the session ended"
    assert received == [b"ls\r"]
    assert os.read(stdout_r, 100) == b"root@web:/# "
    for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
        os.close(fd)


def test_ctrl_p_ctrl_q_detaches_without_sending_q():
    """ctrl+p ctrl+q ends the relay; the container gets ctrl+p at most, never the detach pair."""
    ours, theirs = socket.socketpair()
    stdin_r, stdin_w, stdout_r, stdout_w = _pipes()
    os.write(stdin_w, DETACH)
    assert pump(ours, stdin_fd=stdin_r, stdout_fd=stdout_w) == "detached"
    theirs.settimeout(0.2)
    try:
        data = theirs.recv(10)
    except TimeoutError:
        data = b""
    assert b"\x11" not in data
    theirs.close()
    for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
        os.close(fd)
