"""The reply relayed on the event loop: the asynchronous twin of :func:`chatbot.relay.relay_reply`,
used when the server speaks ASGI.

The provider's stream is read with its ``astream`` (an asyncio HTTP client for the remote services),
each event goes to the visitor without a thread hop, and no thread or database connection is held
while tokens stream: the few database steps of a turn (reading the history, storing the finished reply)
run in a worker thread that gives its connection back (:mod:`chatbot.aio`). The events, their order
and the reply's final states are those of the synchronous relay, whose helpers this module uses.

The provider is read by a task of its own, so that a stop (from any server, :mod:`chatbot.stops`) or a
visitor who goes away ends the upstream request at once, even while the provider is silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

from chatbot.aio import in_thread
from chatbot.astops import async_stop_watcher
from chatbot.models import Message
from chatbot.providers.base import ChatRequest, Delta, Provider, ProviderEvent
from chatbot.relay import Turn, _Outcome, _staff_done, prepare, settle

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


class _End:
    """What the reading task leaves last in the queue: how the provider's stream ended."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def arelay_reply(turn: Turn, prepared: tuple[ChatRequest, Provider] | None = None) -> AsyncGenerator[Event, None]:
    """Run the provider for ``turn`` on the loop and yield ``(event, data)``; the reply row is always
    finished, and the last event is ``done`` or ``error`` whatever fails underneath."""
    if turn.reply is None:
        yield "done", await in_thread(lambda: _staff_done(turn))
        return
    reply = turn.reply
    outcome = _Outcome()
    request: ChatRequest | None = None
    try:
        if prepared is None:
            prepared = await in_thread(lambda: prepare(turn))
        request, provider = prepared
        outcome.provider = provider.name
        events = _read_until_stopped(provider, request, reply.pk, outcome)
        async with contextlib.aclosing(events):
            async for event in events:
                if not outcome.take(event):
                    break
                if isinstance(event, Delta) and event.text:
                    yield "delta", {"text": event.text}
    except (GeneratorExit, asyncio.CancelledError):
        # The visitor went away (the server closed or cancelled the response).
        outcome.status = Message.Status.STOPPED
        raise
    except Exception as exc:
        outcome.failed(exc, reply)
    finally:
        # Shielded: a visitor gone away cancels this request, and the reply must be stored all the same.
        await asyncio.shield(in_thread(lambda: settle(turn, request, outcome)))
    yield outcome.last_event(turn)


async def _read_until_stopped(
    provider: Provider, request: ChatRequest, reply_pk: int, outcome: _Outcome
) -> AsyncGenerator[ProviderEvent, None]:
    """The provider's events, read by a task of its own; a stop ends the read at once (the reply is
    then ``stopped``), and so does closing this iterator."""
    # Unbounded: a visitor who reads slowly holds the response's writes (the server's flow control), and
    # what the provider sends meanwhile is one reply's text, which the relay keeps whole anyway.
    queue: asyncio.Queue[ProviderEvent | _End] = asyncio.Queue()
    stopped = False

    async def read() -> None:
        events = provider.astream(request)
        try:
            async for event in events:
                queue.put_nowait(event)
        finally:
            await events.aclose()

    reader = asyncio.ensure_future(read())

    def ended(task: asyncio.Future[None]) -> None:
        queue.put_nowait(_End(None if task.cancelled() else task.exception()))

    reader.add_done_callback(ended)

    def on_stop() -> None:
        nonlocal stopped
        stopped = True
        reader.cancel()

    try:
        async with async_stop_watcher.watch(reply_pk, on_stop):
            held: ProviderEvent | _End | None = None
            while True:
                item = held if held is not None else await queue.get()
                held = None
                if isinstance(item, Delta) and not queue.empty():
                    # Pieces that arrived while the visitor's side was busy go out as one event: one
                    # write instead of several, which is what a busy server is short of.
                    parts = [item.text]
                    while not queue.empty() and held is None:
                        following = queue.get_nowait()
                        if isinstance(following, Delta):
                            parts.append(following.text)
                        else:
                            held = following
                    item = Delta("".join(parts))
                if isinstance(item, _End):
                    if item.error is not None and not stopped:
                        raise item.error
                    break
                if stopped:
                    break
                yield item
        if stopped:
            outcome.status = Message.Status.STOPPED
    finally:
        if not reader.done():
            reader.cancel()
        # The upstream response is closed before the reply is stored.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(reader)
