"""The builtin transport: the reply goes back on the same HTTP request as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse


def sse_event(name: str, data: Any) -> bytes:
    # json.dumps escapes newlines, so every event is exactly one data line.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _encode(events: Iterator[tuple[str, dict[str, Any]]]) -> Generator[bytes, None, None]:
    try:
        for name, data in events:
            yield sse_event(name, data)
    finally:
        cast(Generator[Any, None, None], events).close()


_END: Any = object()

#: Events the relay may run ahead of a slow ASGI client before it waits for the client.
_ASYNC_AHEAD = 32


async def _async_encode(events: Iterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[bytes]:
    # Under ASGI a synchronous iterator would be buffered whole. The relay runs as one call in the
    # request's own sync thread (Django gives each request one, so it keeps one thread and one database
    # connection) and hands each event to the event loop; stepping it with one sync_to_async call per
    # event cost a thread hop per token, about 1.6 times the CPU per token of the WSGI server.
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    room = threading.BoundedSemaphore(_ASYNC_AHEAD)
    gone = threading.Event()

    def pump() -> None:
        chunks = _encode(events)
        try:
            for chunk in chunks:
                room.acquire()
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
                if gone.is_set():
                    break
        finally:
            # Closing stops the relay, which stores what was said as a stopped reply.
            chunks.close()

    relay = asyncio.ensure_future(sync_to_async(pump, thread_sensitive=True)())
    relay.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        while (chunk := await queue.get()) is not _END:
            room.release()
            yield chunk
        await relay  # its exception, if it failed
    finally:
        if not relay.done():
            # The client went away: the relay stops at its next event and finishes the reply.
            gone.set()
            with contextlib.suppress(ValueError):
                room.release()  # a relay waiting for room must see it is gone
            await asyncio.shield(relay)


def sse_response(request: HttpRequest, events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingHttpResponse:
    content = _async_encode(events) if isinstance(request, ASGIRequest) else _encode(events)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    # nginx and similar proxies buffer responses unless told not to.
    response["X-Accel-Buffering"] = "no"
    return response
