"""Running synchronous work for the event loop: a blocking iterator stepped in one thread, and
database work that gives its connection back when it is done.

The asynchronous path (``POST messages`` under an ASGI server, :mod:`chatbot.arelay`) streams tokens on
the loop; what is synchronous (the ORM, the shop adapter, a provider without an async ``astream``)
runs in a worker thread here, never on the loop. No reply holds a database connection while it
streams: the loop's few worker threads keep theirs between pieces of work, as a threaded server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T")

_END: Any = object()

#: Items a thread may run ahead of a slow consumer before it waits.
AHEAD = 32

#: Threads for iterators stepped for their whole life (a provider without an ``astream`` of its own
#: holds one per reply, as it would under a threaded server); the loop's default executor, which
#: :func:`in_thread` uses for short work, is kept for that short work.
ITERATOR_THREADS = 128
_iterator_executor: ThreadPoolExecutor | None = None
_iterator_lock = threading.Lock()


def _iterators() -> ThreadPoolExecutor:
    global _iterator_executor
    with _iterator_lock:
        if _iterator_executor is None:
            _iterator_executor = ThreadPoolExecutor(max_workers=ITERATOR_THREADS, thread_name_prefix="chatbot-iter")
        return _iterator_executor


def _tidy_connections() -> None:
    # The loop's worker threads are few (the default executor's) and live as long as the process: like
    # a threaded server's threads they keep their connection for CONN_MAX_AGE, which saves a parked
    # connection's check on every turn. One that failed, or is past its age, is let go here.
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        if conn.errors_occurred or (conn.close_at is not None and now >= conn.close_at):
            with contextlib.suppress(Exception):
                conn.close()


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in one of the loop's worker threads (a database connection it opened is kept for the
    next work there, as a threaded server's thread keeps it, and closed when it failed or aged)."""

    def run() -> T:
        try:
            return work()
        finally:
            _tidy_connections()

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
                _tidy_connections()

    worker = asyncio.ensure_future(sync_to_async(pump, thread_sensitive=False, executor=_iterators())())
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
