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
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any, cast

from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse

from chatbot.aio import in_thread
from chatbot.arelay import arelay_reply
from chatbot.asgi import streams_on_loop
from chatbot.exceptions import ChatbotError
from chatbot.relay import Turn, prepare
from chatbot.reply_events import ReplyEvents, settle_unstarted
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


class _AsyncBody:
    """The reply for an ASGI server, relayed on the event loop (:func:`chatbot.arelay.arelay_reply`).

    Django's ASGI handler cancels the response when the visitor disconnects (the relay then stores the
    reply as stopped), and drops it without closing when the visitor left before it was sent: the
    reply is then settled when the response is collected, if nothing ever iterated it."""

    def __init__(
        self,
        turn: Turn,
        first: list[tuple[str, dict[str, Any]]],
        on_close: Callable[[], None] | None,
        prepared: Any = None,
    ):
        self.turn = turn
        self.prepared = prepared
        self.first = first
        self.on_close = on_close
        self._chunks: AsyncIterator[bytes] | None = None
        self._state = {"started": False}
        self._finalizer = weakref.finalize(self, _settle_unstarted, turn, on_close, self._state)

    def __aiter__(self) -> _AsyncBody:
        # The response calls this when it is built; the relay starts with the first chunk asked for.
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:
            self._state["started"] = True
            self._chunks = self._encode()
        return await anext(self._chunks)

    async def _encode(self) -> AsyncGenerator[bytes, None]:
        try:
            for name, data in self.first:
                yield sse_event(name, data)
            events = arelay_reply(self.turn, self.prepared)
            async with contextlib.aclosing(events):
                async for name, data in events:
                    yield sse_event(name, data)
        except Exception:
            logger.exception("A reply's events failed")
            failure = ChatbotError()
            yield sse_event("error", {"code": failure.code, "message": failure.message})
        finally:
            if self.on_close is not None:
                await asyncio.shield(in_thread(self.on_close))

    def close(self) -> None:
        # Called by the handler in a worker thread once the response is over (or was never sent).
        self._finalizer.detach()
        _settle_unstarted(self.turn, self.on_close, self._state)


def _settle_unstarted(turn: Turn, on_close: Callable[[], None] | None, state: dict[str, bool]) -> None:
    if state["started"] or state.get("settled"):
        return  # the relay settles its reply, and the body runs on_close, however it ends
    state["settled"] = True

    def run() -> None:
        try:
            if on_close is not None:
                on_close()
        finally:
            try:
                settle_unstarted(turn)
            finally:
                connections.close_all()

    # Possibly called on the event loop (the response collected there): database work needs a thread.
    # Not a task: the turn lives in this process only.
    threading.Thread(target=run, name="chatbot-close-unstarted", daemon=True).start()


def sse_response(content: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    # nginx and similar proxies buffer responses unless told not to.
    response["X-Accel-Buffering"] = "no"
    return response


def _prepared(turn: Turn) -> Any:
    # This is the view's thread: the reply's database work before the provider runs is done here, not
    # in another trip to a thread from the loop. Should it fail, the relay does it again and reports it.
    if turn.reply is None:
        return None
    try:
        return prepare(turn)
    except Exception:
        return None


class BuiltinTransport(Transport):
    """Replies as Server-Sent Events on the request that asked (``POST messages``)."""

    name = "builtin"

    def respond(
        self, request: HttpRequest, turn: Turn, *, on_close: Callable[[], None] | None = None
    ) -> StreamingHttpResponse:
        """The stored question, then the reply as it is written; ``on_close`` runs when the response ends."""
        first = [("message", turn.question.as_dict())]
        if streams_on_loop(request):
            return sse_response(_AsyncBody(turn, first, on_close, _prepared(turn)))
        return sse_response(_Body(ReplyEvents(turn, first=first, on_close=on_close)))
