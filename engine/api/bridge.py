"""Bridges between the server's event loop and the engine's blocking code.

The engine backend is synchronous; the server is asyncio. Quick calls run
on a bounded thread pool (:class:`Workers`); streams each get a dedicated
pump thread (:func:`iterate_in_thread`) so that a hundred followers of
``/events`` never starve ``/_ping``; request bodies read as they arrive are
handed to a thread as a plain iterator (:class:`SyncBody`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from engine.model import Cancel

T = TypeVar("T")

_END = object()


class Workers:
    """A thread pool for short blocking backend calls.

    Args:
        size: the most calls running at once; more wait their turn.
    """

    def __init__(self, size: int = 32) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=size,
                                                           thread_name_prefix="wharf-api")

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def shutdown(self) -> None:
        """Stop accepting calls; running ones finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


async def iterate_in_thread(factory: Callable[[], Iterator[T]], cancel: Cancel,
                            buffer: int = 64, name: str = "wharf-stream") -> AsyncIterator[T]:
    """Consume a blocking iterator on its own thread and yield its items here.

    ``factory`` runs on that thread too (so a blocking open is fine). At most
    ``buffer`` items wait unread; the thread then blocks (backpressure).
    Closing the returned generator (client gone) cancels ``cancel``, so the
    engine code unblocks, and the thread closes the iterator.

    Raises:
        Whatever ``factory`` or the iterator raise, at the point they raise it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    room = threading.Semaphore(buffer)

    def deliver(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed (server stopped): nobody listens any more
            cancel.cancel()

    def pump() -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = factory()
            for item in iterator:
                while not room.acquire(timeout=0.25):
                    if cancel.is_set():
                        return
                if cancel.is_set():
                    return
                deliver(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            if not cancel.is_set():
                deliver(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001
                    pass
            deliver(_END)

    thread = threading.Thread(target=pump, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            room.release()
            yield item
    finally:
        cancel.cancel()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class SyncBody:
    """A request body that arrives on the event loop, read as an iterator on a thread.

    Args:
        chunks: the body's chunks as the connection receives them.
        loop: the event loop that owns the connection.
    """

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop

    def __iter__(self) -> Iterator[bytes]:
        while True:
            future = asyncio.run_coroutine_threadsafe(self._next(), self._loop)
            chunk = future.result()
            if chunk is None:
                return
            yield chunk

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
