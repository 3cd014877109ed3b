"""The docker CLI's own cost, measured against an engine that costs nothing: canned answers.

:func:`record` asks a real engine for a response once (its exact bytes);
:class:`CannedEngine` then serves those bytes on a unix socket, by request
path, with no work behind them. ``docker ps`` against it times the CLI's
start-up, connection, ping, JSON decoding and table formatting on that very
body: the floor no engine can go below. What an engine adds above it is its
own server time.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

_REQUEST = "{method} {path} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n" \
           "Connection: close\r\n\r\n"
_DROPPED = (b"connection:", b"transfer-encoding:", b"content-length:", b"date:")


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while True:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        if length == 0:
            return bytes(out)
        out += rest[:length]
        body = rest[length + 2:]


def record(socket_path: Path | str, path: str, method: str = "GET") -> bytes:
    """One response of the engine on ``socket_path``, re-framed with ``Content-Length`` for keep-alive."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(socket_path))
        sock.sendall(_REQUEST.format(method=method, path=path).encode())
        raw = bytearray()
        while chunk := sock.recv(1 << 20):
            raw += chunk
    head, _, body = bytes(raw).partition(b"\r\n\r\n")
    status, *headers = head.split(b"\r\n")
    if any(h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower() for h in headers):
        body = _dechunk(body)
    kept = [h for h in headers if not h.lower().startswith(_DROPPED)]
    length = 0 if method == "HEAD" else len(body)
    return b"\r\n".join([status, *kept, b"Content-Length: %d" % length]) + b"\r\n\r\n" + body


class CannedEngine:
    """Serves fixed responses on ``<tmp>/canned.sock`` from a thread, one thread per connection.

    Args:
        answers: the first request-line fragment that matches (e.g. ``"/_ping"``,
            ``"/containers/json"``) picks the bytes sent back; anything else gets a 404.
    """

    _NOT_FOUND = (b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
                  b'{"message":"page not found"}\n')

    def __init__(self, answers: dict[str, bytes]) -> None:
        self.answers = [(key.encode(), value) for key, value in answers.items()]
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-canned-"))
        self.socket = self.workdir / "canned.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._accept, name="canned-engine", daemon=True)

    @property
    def host(self) -> str:
        """The ``-H`` value for the docker CLI."""
        return f"unix://{self.socket}"

    def __enter__(self) -> CannedEngine:
        self._listener.bind(str(self.socket))
        self._listener.listen(64)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        self.socket.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.workdir.rmdir()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        pending = b""
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"\r\n\r\n" in pending:
                    head, _, pending = pending.partition(b"\r\n\r\n")
                    line = head.split(b"\r\n", 1)[0]
                    answer = next((value for key, value in self.answers if key in line), self._NOT_FOUND)
                    conn.sendall(answer)
