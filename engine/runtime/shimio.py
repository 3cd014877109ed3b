"""The shim's I/O plumbing: clients on its socket, container stdio, stdin, frames.

:class:`ShimIO` is the non-blocking half of the shim's single-threaded
``selectors`` loop: it accepts connections, fans container output out to the
json-file log and attached clients, forwards client stdin, and buffers
writes per client (a client that falls more than 8 MiB behind is dropped, so
a stuck reader can never block the container). :class:`engine.runtime.shim.Shim`
adds the lifecycle on top.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
from typing import Any

from engine.runtime import process
from engine.runtime import protocol as proto
from engine.runtime.logs import JsonFileLog

_MAX_BUFFER = 8 << 20


class Child:
    """A process the shim watches (the init or an exec) and its output fds."""

    def __init__(self, pid: int, tty: bool, stdin_fd: int | None, out_fds: dict[int, int],
                 exec_id: str = "") -> None:
        self.pid, self.tty, self.exec_id = pid, tty, exec_id
        self.stdin_fd = stdin_fd
        self.stdin_buf = b""
        self.out_fds = out_fds  # fd → stream type
        self.status: int | None = None
        self.clients: list[Client] = []


class Client:
    """One connection to the shim socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbuf = b""
        self.outbuf = b""
        self.mode = "request"
        self.child: Child | None = None
        self.streams: set[int] = set()
        self.stdin = False
        self.stdin_once = False



def exit_code(status: int) -> tuple[int, int]:
    """``(exit code, signal)`` from a wait status: 128+N for a death by signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status), os.WTERMSIG(status)
    return os.WEXITSTATUS(status), 0


class ShimIO:
    """Connections and stdio of one shim (see the module docstring)."""

    selector: selectors.BaseSelector
    server: socket.socket
    log: JsonFileLog
    init: Child | None
    waiters: list[Client]

    def _request(self, client: Client, req: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def _exec_finished(self, kid: Child, code: int) -> None:
        """Hook: an exec'd process ended with ``code`` and its output is drained."""

    def _accept(self) -> None:
        try:
            sock, _ = self.server.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        client = Client(sock)
        self.selector.register(sock, selectors.EVENT_READ, ("client", client))

    def _output(self, fd: int, kid: Child) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO on a pty master once the peer is gone
            data = b""
        stream = kid.out_fds.get(fd, proto.STDOUT)
        if not data:
            self.selector.unregister(fd)
            kid.out_fds.pop(fd, None)
            os.close(fd)
            self._maybe_exec_done(kid)
            return
        if kid is self.init:
            self.log.write("stdout" if stream == proto.STDOUT else "stderr", data)
        for client in list(kid.clients):
            if stream in client.streams:
                self._send(client, proto.frame(stream, data))

    def _maybe_exec_done(self, kid: Child) -> None:
        if kid is self.init or kid.status is None or kid.out_fds:
            return
        code, _sig = exit_code(kid.status)
        self._exec_finished(kid, code)
        for client in list(kid.clients):
            self._send(client, proto.frame(proto.EXIT, json.dumps({"exit_code": code}).encode()))
            client.mode = "closing"
        if kid.stdin_fd is not None:
            self._close_stdin(kid, final=True)

    def _send(self, client: Client, data: bytes) -> None:
        if len(client.outbuf) > _MAX_BUFFER:
            self._drop(client)
            return
        client.outbuf += data
        self._client_io(client, selectors.EVENT_WRITE)

    def _drop(self, client: Client) -> None:
        try:
            self.selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        if client.child and client in client.child.clients:
            client.child.clients.remove(client)
        if client in self.waiters:
            self.waiters.remove(client)
        client.sock.close()
        client.mode = "closed"

    def _client_io(self, client: Client, events: int) -> None:
        if client.mode == "closed":
            return
        if events & selectors.EVENT_READ:
            try:
                data = client.sock.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data == b"":
                if client.stdin and client.stdin_once and client.child:
                    self._close_stdin(client.child)
                self._drop(client)
                return
            if data:
                client.inbuf += data
                self._client_input(client)
        if client.outbuf and client.mode != "closed":
            try:
                sent = client.sock.send(client.outbuf)
                client.outbuf = client.outbuf[sent:]
            except BlockingIOError:
                pass
            except OSError:
                self._drop(client)
                return
        if client.mode == "closed":
            return
        if client.mode == "closing" and not client.outbuf:
            self._drop(client)
            return
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbuf else 0)
        self.selector.modify(client.sock, want, ("client", client))

    def _client_input(self, client: Client) -> None:
        if client.mode == "request":
            if b"\n" not in client.inbuf:
                return
            line, _, client.inbuf = client.inbuf.partition(b"\n")
            try:
                reply = self._request(client, json.loads(line))
            except Exception as exc:  # noqa: BLE001 — one bad request must not kill the shim
                reply = {"ok": False, "kind": "RuntimeFailure", "message": str(exc)}
            if reply is not None:
                client.outbuf += proto.encode(reply)
        while client.mode == "stream" and len(client.inbuf) >= proto.HEADER.size:
            kind, size = proto.HEADER.unpack_from(client.inbuf)
            if len(client.inbuf) < proto.HEADER.size + size:
                break
            payload = client.inbuf[proto.HEADER.size:proto.HEADER.size + size]
            client.inbuf = client.inbuf[proto.HEADER.size + size:]
            kid = client.child
            if kid is None:
                continue
            if kind == proto.STDIN and client.stdin and kid.stdin_fd is not None:
                kid.stdin_buf += payload
                self._flush_stdin(kid)
            elif kind == proto.CLOSE_STDIN:
                self._close_stdin(kid)
            elif kind == proto.RESIZE:
                size_msg = json.loads(payload)
                self._resize(kid, size_msg["h"], size_msg["w"])

    def _flush_stdin(self, kid: Child) -> None:
        if kid.stdin_fd is None:
            kid.stdin_buf = b""
            return
        try:
            written = os.write(kid.stdin_fd, kid.stdin_buf) if kid.stdin_buf else 0
            kid.stdin_buf = kid.stdin_buf[written:]
        except BlockingIOError:
            pass
        except OSError:
            kid.stdin_buf = b""
        try:  # (a tty's stdin_fd is a dup of the master: its own selector key)
            if kid.stdin_buf:
                self.selector.register(kid.stdin_fd, selectors.EVENT_WRITE, ("stdin", kid))
            else:
                self.selector.unregister(kid.stdin_fd)
        except (KeyError, ValueError):
            pass

    def _close_stdin(self, kid: Child, final: bool = False) -> None:
        """End the process's input: close the pipe, or send ^D to a tty (``final``: close)."""
        if kid.stdin_fd is None:
            return
        if kid.tty and not final:
            try:
                os.write(kid.stdin_fd, b"\x04")  # EOF for the line discipline
            except OSError:
                pass
            return
        try:
            self.selector.unregister(kid.stdin_fd)
        except (KeyError, ValueError):
            pass
        os.close(kid.stdin_fd)
        kid.stdin_fd = None

    def _resize(self, kid: Child, rows: int, cols: int) -> None:
        if kid.tty and kid.stdin_fd is not None:
            process.set_winsize(kid.stdin_fd, rows, cols)
