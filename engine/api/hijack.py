"""The raw half of attach and exec: bytes both ways over a hijacked connection.

After the ``101 UPGRADED`` header block, the connection carries the
process's output (multiplexed in 8-byte-header frames unless it is a tty)
and the client's stdin. A half-close from the client means "close stdin";
the connection ends when the output ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import struct
from collections.abc import Iterator

from engine.api.backend import StdioSession
from engine.api.bridge import iterate_in_thread
from engine.model import Cancel


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame: ``[stream, 0, 0, 0, len as big-endian uint32]`` + data."""
    return struct.pack(">BxxxL", stream, len(data)) + data


class HijackChannel:
    """The raw connection after the upgrade.

    Args:
        reader: the connection's reader.
        writer: the connection's writer.
        leftover: bytes the client sent right after the request (early stdin).
        hold: seconds the first stream byte waits after the 101 header block,
            so a client that reads the header with a buffered parser (docker-py's
            http.client) never finds stream bytes inside that buffer. A stream
            that ends without output closes at once.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 leftover: bytes = b"", hold: float = 0.0) -> None:
        self._reader = reader
        self._writer = writer
        self._leftover = leftover
        self._hold_until = asyncio.get_running_loop().time() + hold if hold > 0 else 0.0

    async def read(self) -> bytes:
        """The next bytes from the client; ``b""`` once it half-closed or hung up."""
        if self._leftover:
            data, self._leftover = self._leftover, b""
            return data
        try:
            return await self._reader.read(65536)
        except ConnectionError:
            return b""

    async def write(self, data: bytes) -> None:
        """Send bytes to the client and flush.

        Raises:
            ConnectionError: the client is gone.
        """
        if self._hold_until:
            delay = self._hold_until - asyncio.get_running_loop().time()
            self._hold_until = 0.0
            if delay > 0:
                await asyncio.sleep(delay)
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()


async def run_stdio(session: StdioSession, channel: HijackChannel, cancel: Cancel,
                    multiplexed: bool) -> None:
    """Pump a stdio session over a hijacked channel until its output ends.

    Args:
        session: the attach or exec session.
        channel: the raw connection.
        cancel: the request's token; cancelling it closes the session.
        multiplexed: frame output (non-tty) instead of sending it raw.
    """
    cancel.on_cancel(session.close)
    stdin_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wharf-stdin")
    loop = asyncio.get_running_loop()

    async def forward_stdin() -> None:
        while True:
            data = await channel.read()
            if not data:
                await loop.run_in_executor(stdin_pool, session.close_stdin)
                return
            await loop.run_in_executor(stdin_pool, session.write, data)

    def output() -> Iterator[tuple[int, bytes]]:
        while True:
            chunk = session.read()
            if chunk is None:
                return
            yield chunk

    stdin_task = asyncio.ensure_future(forward_stdin())
    try:
        async for stream, data in iterate_in_thread(output, cancel, name="wharf-stdio"):
            if not data:
                continue
            try:
                await channel.write(frame(stream, data) if multiplexed else data)
            except (ConnectionError, RuntimeError):
                break
    finally:
        stdin_task.cancel()
        with contextlib.suppress(BaseException):
            await stdin_task
        cancel.cancel()
        stdin_pool.shutdown(wait=False)
        with contextlib.suppress(Exception):
            await channel.close()
