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

from django.utils import translation

from chatbot import replies
from chatbot.aio import in_thread
from chatbot.astops import async_stop_watcher
from chatbot.connections import CONNECTION_ERRORS, once_more_on_a_new_connection
from chatbot.exceptions import ChatbotError, ProviderError, ServiceUnavailable
from chatbot.models import Message
from chatbot.providers import get_provider
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, ProviderEvent, Suggestions
from chatbot.relay import Turn, _finish_reliably, _Outcome, _staff_done, history_for, page_product
from chatbot.shop import get_shop

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


class _End:
    """What the reading task leaves last in the queue: how the provider's stream ended."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prepare(turn: Turn) -> tuple[ChatRequest, Provider]:
    """What the provider is given for ``turn`` (the history is read here), and the provider: the
    database work before a reply, which a caller already in a thread (the view) may do itself and hand
    to :func:`arelay_reply`, saving the loop a trip to a thread."""
    assert turn.visitor is not None  # begin_turn always names the visitor
    shop = get_shop()
    request = ChatRequest(
        text=turn.question.text,
        visitor=turn.visitor,
        conversation=turn.conversation,
        shop=shop,
        history=once_more_on_a_new_connection(lambda again: history_for(turn.question)),
        language=turn.language,
        state=dict(turn.conversation.provider_state),
    )
    request.page_product = page_product(shop, turn.page)
    return request, get_provider()


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
        given, provider = prepared
        request = given
        outcome.provider = provider.name
        events = _read_until_stopped(provider, given, reply.pk, outcome)
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Delta) and event.text:
                    outcome.parts.append(event.text)
                    yield "delta", {"text": event.text}
                elif isinstance(event, Suggestions):
                    outcome.suggestions = list(event.items)
                elif isinstance(event, Products):
                    outcome.products = list(event.items)
                elif isinstance(event, Done):
                    break
    except (GeneratorExit, asyncio.CancelledError):
        # The visitor went away (the server closed or cancelled the response).
        outcome.status = Message.Status.STOPPED
        raise
    except ProviderError as exc:
        logger.warning("Provider %s failed (%s): %s", outcome.provider, exc.code, exc.detail)
        outcome.fail(exc)
    except ChatbotError as exc:
        logger.warning("Reply failed (%s): %s", exc.code, exc.detail)
        outcome.fail(exc)
    except CONNECTION_ERRORS as exc:
        logger.warning("Reply %s lost its database connection: %s", reply.pk, type(exc).__name__)
        outcome.fail(ServiceUnavailable())
    except Exception:
        logger.exception("Unexpected error while relaying a reply")
        outcome.fail(ChatbotError("unexpected"))
    finally:
        # Shielded: a visitor gone away cancels this request, and the reply must be stored all the same.
        await asyncio.shield(_settle(turn, request, outcome))
    if outcome.error is not None:
        with translation.override(turn.ui_language):
            message = outcome.error.message
        yield "error", {"code": outcome.error.code, "message": message, "id": str(reply.public_id)}
    else:
        yield "done", reply.as_dict()


async def _settle(turn: Turn, request: ChatRequest | None, outcome: _Outcome) -> None:
    assert turn.reply is not None
    reply = turn.reply
    try:
        await in_thread(lambda: _finish_reliably(turn, request, outcome))
    except CONNECTION_ERRORS as exc:
        logger.warning("Reply %s could not be stored yet: %s", reply.pk, type(exc).__name__)
        replies.store_final_later(reply)
        outcome.fail(ServiceUnavailable())


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
