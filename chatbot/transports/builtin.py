"""The builtin transport: the reply goes back on the same HTTP request as Server-Sent Events.

It needs nothing outside the machine: messages live in the database, and ``POST messages`` streams
the reply as it is generated. That endpoint is served whichever transport is chosen, since the widget
falls back on it while another transport's client is not loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse

from chatbot.exceptions import ChatbotError
from chatbot.relay import Turn
from chatbot.reply_events import ReplyEvents
from chatbot.transports.base import Transport

logger = logging.getLogger(__name__)


def sse_event(name: str, data: Any) -> bytes:
    # json.dumps escapes newlines, so every event is exactly one data line.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _encode(events: Iterator[tuple[str, dict[str, Any]]]) -> Generator[bytes, None, None]:
    try:
        for name, data in events:
            yield sse_event(name, data)
    except Exception:
        # The relay ends every reply with done or error itself; should something beneath it fail all
        # the same, the client still gets an ending instead of a stream that breaks off.
        logger.exception("A reply's events failed")
        failure = ChatbotError()
        yield sse_event("error", {"code": failure.code, "message": failure.message})
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


def _close(events: Iterator[tuple[str, dict[str, Any]]]) -> None:
    closing = getattr(events, "close", None)
    if closing is not None:
        closing()


class _Body:
    """The encoded events for a WSGI server. Closing it closes ``events`` even when no byte was asked
    for (the server found the visitor gone before the response started): a generator closed before
    its first step runs none of its code, so the events would never learn the visitor left."""

    def __init__(self, events: Iterator[tuple[str, dict[str, Any]]]) -> None:
        self.events = events
        self._chunks = _encode(events)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._chunks.close()
        _close(self.events)


def _close_unstarted(events: Iterator[tuple[str, dict[str, Any]]], state: dict[str, bool]) -> None:
    if state["started"]:
        return  # the encoder closes the events itself, in the thread that runs them

    # Called when the response is dropped, possibly on the event loop: database work needs a thread. Not a
    # task: the events are a generator alive in this process only, which no worker could be handed.
    def run() -> None:
        try:
            _close(events)
        finally:
            connections.close_all()

    threading.Thread(target=run, name="chatbot-close-unstarted", daemon=True).start()


class _AsyncBody:
    """The encoded events for an ASGI server. Django's ASGI handler drops a response without closing
    it when the visitor disconnects before it is sent; the events are then closed when it is
    collected, if nothing ever iterated them."""

    def __init__(self, events: Iterator[tuple[str, dict[str, Any]]]) -> None:
        self.events = events
        self._chunks: AsyncIterator[bytes] | None = None
        self._state = {"started": False}
        self._finalizer = weakref.finalize(self, _close_unstarted, events, self._state)

    def __aiter__(self) -> _AsyncBody:
        # The response calls this when it is built; the events start with the first chunk asked for.
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:
            self._state["started"] = True
            self._chunks = _async_encode(self.events)
        return await anext(self._chunks)

    def close(self) -> None:
        self._finalizer.detach()
        if not self._state["started"]:
            _close(self.events)


def sse_response(request: HttpRequest, events: Iterator[tuple[str, dict[str, Any]]]) -> StreamingHttpResponse:
    content = _AsyncBody(events) if isinstance(request, ASGIRequest) else _Body(events)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    # nginx and similar proxies buffer responses unless told not to.
    response["X-Accel-Buffering"] = "no"
    return response


class BuiltinTransport(Transport):
    """Replies as Server-Sent Events on the request that asked (``POST messages``)."""

    name = "builtin"

    def respond(
        self, request: HttpRequest, turn: Turn, *, on_close: Callable[[], None] | None = None
    ) -> StreamingHttpResponse:
        """The stored question, then the reply as it is written; ``on_close`` runs when the response ends."""
        events = ReplyEvents(turn, first=[("message", turn.question.as_dict())], on_close=on_close)
        return sse_response(request, events)
