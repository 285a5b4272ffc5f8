"""Running synchronous work for the event loop: a blocking iterator stepped in one thread, and
database work that gives its connection back when it is done.

The asynchronous path (``POST messages`` under an ASGI server, :mod:`chatbot.arelay`) streams tokens on
the loop; what is synchronous (the ORM, the shop adapter, a provider without an async ``astream``)
runs in a worker thread here, never on the loop, and never holds a database connection while tokens
stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T")

_END: Any = object()

#: Items a thread may run ahead of a slow consumer before it waits.
AHEAD = 32


def _release_connections() -> None:
    # A worker thread is reused for other work: a connection left open in it would be held for as
    # long as the thread lives, one per thread, beside the pool the server sized.
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            with contextlib.suppress(Exception):
                conn.close()


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; the database connections it opened are closed after it."""

    def run() -> T:
        try:
            return work()
        finally:
            _release_connections()

    return await sync_to_async(run, thread_sensitive=False)()


async def iterate_in_thread(make: Callable[[], Iterator[T]], *, ahead: int = AHEAD) -> AsyncIterator[T]:
    """The items of the blocking iterator ``make()`` returns, made and stepped in one worker thread for
    its whole life and handed to the loop without a thread hop per item. Closing (or cancelling) the
    async iterator closes the iterator in its thread at its next item, and waits for that."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    room = threading.BoundedSemaphore(ahead)
    gone = threading.Event()
    failure: list[BaseException] = []

    def pump() -> None:
        items: Iterator[T] = iter(())
        try:
            items = make()
            for item in items:
                room.acquire()
                if gone.is_set():
                    break
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except BaseException as exc:
            failure.append(exc)
        finally:
            try:
                closing = getattr(items, "close", None)
                if closing is not None:
                    closing()
            finally:
                _release_connections()

    worker = asyncio.ensure_future(sync_to_async(pump, thread_sensitive=False)())
    worker.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        while (item := await queue.get()) is not _END:
            room.release()
            yield item
        await worker
        if failure:
            raise failure[0]
    finally:
        if not worker.done():
            gone.set()
            with contextlib.suppress(ValueError):
                room.release()  # a pump waiting for room must see it is gone
            await asyncio.shield(worker)
