"""The builtin transport: the reply goes back on the same HTTP request as Server-Sent Events."""

from __future__ import annotations

import json
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


async def _async_encode(events: Iterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[bytes]:
    # Under ASGI a synchronous iterator would be buffered whole; step it in the request's own sync thread
    # instead (Django gives each request one), so the relay keeps one thread and one DB connection.
    chunks = _encode(events)
    step = sync_to_async(lambda: next(chunks, _END), thread_sensitive=True)
    try:
        while (chunk := await step()) is not _END:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()


def sse_response(request: HttpRequest, events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingHttpResponse:
    content = _async_encode(events) if isinstance(request, ASGIRequest) else _encode(events)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    # nginx and similar proxies buffer responses unless told not to.
    response["X-Accel-Buffering"] = "no"
    return response
