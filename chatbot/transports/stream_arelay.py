"""Writing the assistant's reply into the visitor's Stream channel on the event loop: the asynchronous
twin of :mod:`chatbot.transports.stream_relay`, used when the server speaks ASGI.

The reply is relayed with :func:`chatbot.arelay.arelay_reply` and written with the SDK's asyncio
client (:class:`~chatbot.transports.stream.writer.AsyncReplyWriter`): no thread is held while tokens
stream, and the database steps run in worker threads that give their connections back
(:mod:`chatbot.aio`). The Stream calls, their order and the reply's final states are those of
:func:`~chatbot.transports.stream_relay.write_reply`, with one difference: partial updates are written
beside the relay, never in its way. While one is in flight the text keeps growing, and the next one
carries all of it.

The writing outlives the request that asked for it, but not the server process: a reply whose process
dies (a deploy, a crash) is left ``streaming``, and :func:`~chatbot.transports.stream_relay.sweep_stale_replies`
(run on the next message) marks it interrupted, here and in Stream, as it does for a task's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from django.utils import translation

from chatbot.aio import in_thread
from chatbot.arelay import arelay_reply
from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.models import Message
from chatbot.relay import Turn
from chatbot.transports.stream.client import StreamRateLimited, StreamUnavailable
from chatbot.transports.stream.writer import ERROR, GENERATING, THINKING, AsyncReplyWriter, take_update
from chatbot.transports.stream_relay import _FINAL_ATTEMPTS, _PARTIAL_BACKOFF, _fail_row, _turn_for

logger = logging.getLogger(__name__)


def write_on_loop(loop: asyncio.AbstractEventLoop, message_id: str, ui_language: str, page: str) -> None:
    """From a thread serving a request: write assistant message ``message_id`` into Stream on ``loop``
    (:func:`astream_reply`), after the request's transaction, if any, is committed. A loop that is
    closing already leaves the reply to the ``stream_reply`` task."""
    from django.db import transaction

    transaction.on_commit(lambda: _schedule(loop, message_id, ui_language, page))


#: Replies being written, and their loops: a loop keeps only weak references to its tasks.
_writing: dict[Future[None], asyncio.AbstractEventLoop] = {}
_writing_lock = threading.Lock()


def _schedule(loop: asyncio.AbstractEventLoop, message_id: str, ui_language: str, page: str) -> None:
    work = astream_reply(message_id, ui_language, page)
    try:
        future = asyncio.run_coroutine_threadsafe(work, loop)
    except RuntimeError:  # the loop is closed
        work.close()
        from chatbot.transports.stream_relay import stream_reply

        stream_reply.enqueue(message_id, ui_language, page)
        return
    with _writing_lock:
        _writing[future] = loop
    future.add_done_callback(_written)


def _written(future: Future[None]) -> None:
    with _writing_lock:
        _writing.pop(future, None)
    if future.cancelled():
        logger.warning("A Stream reply was cancelled before it was written (the server is stopping)")
    elif isinstance(exc := future.exception(), ChatbotError):
        logger.warning("A Stream reply could not be written: %s", exc.code)
    elif exc is not None:
        logger.error("A Stream reply failed on the event loop", exc_info=exc)


async def finish_writing(timeout: float) -> int:
    """Wait up to ``timeout`` seconds for the replies being written on the running loop to end, for a
    server that is shutting down; returns how many are still being written (the loop's end cuts them
    off: each is stored as far as it got, and the next sweep settles it in Stream)."""
    loop = asyncio.get_running_loop()
    with _writing_lock:
        mine = [asyncio.wrap_future(future) for future, theirs in _writing.items() if theirs is loop]
    if not mine:
        return 0
    _done, pending = await asyncio.wait(mine, timeout=timeout)
    return len(pending)


async def astream_reply(message_id: str, ui_language: str = "en", page: str = "") -> None:
    """:func:`~chatbot.transports.stream_relay.stream_reply` on the loop: write assistant message
    ``message_id`` (a reply or a notice) into Stream."""
    message = await in_thread(
        lambda: (
            Message.objects.select_related("conversation", "conversation__user")
            .filter(public_id=message_id, role=Message.Role.ASSISTANT)
            .first()
        )
    )
    if message is None or not message.conversation.stream_channel_id:
        return
    with translation.override(ui_language):
        if message.status == Message.Status.STREAMING:
            outcome = await awrite_reply(message, ui_language, page)
            logger.info("Stream reply %s written on the event loop: %s", message_id, outcome)
        elif not message.external_id:
            await apost_finished(message)
            logger.info("Stream notice %s posted on the event loop", message_id)


async def _with_retries(operation: Callable[[], Awaitable[None]], attempts: int = _FINAL_ATTEMPTS) -> None:
    delay = 0.25
    for attempt in range(attempts):
        try:
            await operation()
            return
        except (StreamUnavailable, StreamRateLimited):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(delay)
            delay *= 2


async def awrite_reply(reply: Message, ui_language: str = "en", page: str = "") -> dict[str, Any]:
    """Run the provider for a streaming ``reply`` on the loop and write it into Stream; returns counters
    for the log (``partial_updates``, ``status``, ``unsettled`` when the final update failed)."""
    turn = await in_thread(lambda: _turn_for(reply, ui_language, page))
    if turn is None:
        await in_thread(lambda: _fail_row(reply, "no_question"))
        return {"partial_updates": 0, "status": "error"}
    writer = AsyncReplyWriter.open(reply)
    try:
        await _with_retries(lambda: writer.indicator(THINKING))
        await _with_retries(writer.create)
    except ChatbotError as exc:
        # Nothing reached the channel: the provider is not run, and the row says why.
        code = exc.code
        await in_thread(lambda: _fail_row(reply, code))
        raise
    await in_thread(lambda: Message.objects.filter(pk=reply.pk).update(external_id=writer.id))
    try:
        return await _relay(turn, writer)
    except asyncio.CancelledError:
        # The server is stopping: the relay stored the reply as far as it got, and Stream shows it still
        # being written; the next sweep (the next message, on any server) writes its final state there.
        mark = in_thread(lambda: Message.objects.filter(pk=reply.pk).update(transport_unsettled=True))
        await asyncio.shield(mark)
        raise


async def _relay(turn: Turn, writer: AsyncReplyWriter) -> dict[str, Any]:
    reply = writer.message
    partials = _PartialUpdates(writer, float(chatbot_settings.STREAM_CHAT_UPDATE_INTERVAL))
    final: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    try:
        async with contextlib.aclosing(arelay_reply(turn)) as events:
            async for name, data in events:
                if name == "delta":
                    partials.grow(data["text"])
                elif name == "done":
                    final = data
                elif name == "error":
                    error = data
    finally:
        # The update in flight, if any, is answered before the final one, which must come last.
        await partials.finish()
    text = partials.text
    outcome: dict[str, Any] = {
        "partial_updates": writer.partial_updates,
        "status": (final or {}).get("status", "error"),
    }
    try:
        if error is not None:
            await _settle(writer, text or error["message"], error["message"])
        else:
            await _settle(writer, (final or {}).get("text", text))
    except ChatbotError as exc:
        # The stored reply is complete; Stream still shows it being written. The next sweep (the next
        # message) writes the final state again.
        await in_thread(lambda: Message.objects.filter(pk=reply.pk).update(transport_unsettled=True))
        logger.warning("Final Stream update of reply %s failed (%s); it will be written again", reply.pk, exc.code)
        outcome["unsettled"] = True
    return outcome


async def _settle(writer: AsyncReplyWriter, text: str, error_message: str = "") -> None:
    """The reply's final state in Stream: its whole text, no longer generating, the indicator ended."""
    await _with_retries(lambda: writer.update(text, generating=False))
    if error_message:
        await _with_retries(lambda: writer.indicator(ERROR, error_message))
    else:
        await _with_retries(writer.clear)


async def apost_finished(message: Message) -> None:
    """Post an already finished assistant message (a handoff notice) with its own id."""
    writer = AsyncReplyWriter.open(message)
    await _with_retries(lambda: writer.create(message.text, generating=False))
    await in_thread(lambda: Message.objects.filter(pk=message.pk).update(external_id=writer.id))


class _PartialUpdates:
    """The reply's text as it grows, and a task beside the relay that writes it into Stream: GENERATING
    once the first text is there, then partial updates at most one per STREAM_CHAT_UPDATE_INTERVAL,
    each within the app's budget (:func:`take_update`), each carrying all the text so far. After a
    refusal (a 429, an outage) partial updates rest for a while: they are only a preview, and the
    final update carries the whole text."""

    def __init__(self, writer: AsyncReplyWriter, interval: float) -> None:
        self.writer = writer
        self.interval = interval
        self.text = ""
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()
        self._task = asyncio.ensure_future(self._write())

    def grow(self, piece: str) -> None:
        self.text += piece
        self._changed.set()

    async def finish(self) -> None:
        """No more text: end the task once the update in flight, if any, is answered."""
        self._ended.set()
        self._changed.set()
        try:
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            self._task.cancel()
            raise
        except Exception:
            # The preview stopped (the cache holding the budget is down, say); the final update still goes.
            logger.exception("Partial updates of reply %s failed", self.writer.message.pk)

    async def _write(self) -> None:
        last_write = time.monotonic()
        quiet_until = 0.0
        await self._changed.wait()
        if self.text:
            try:
                await self.writer.indicator(GENERATING)
            except ChatbotError:
                quiet_until = time.monotonic() + _PARTIAL_BACKOFF
        while True:
            await self._changed.wait()
            if self._ended.is_set():
                return
            wait = max(last_write + self.interval, quiet_until) - time.monotonic()
            if wait > 0:
                # Text that arrives meanwhile joins this update; the end of the reply ends the wait.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ended.wait(), wait)
                if self._ended.is_set():
                    return
            self._changed.clear()
            if not await in_thread(lambda: take_update(partial=True)):
                continue
            try:
                await self.writer.update(self.text, generating=True)
            except ChatbotError:
                quiet_until = time.monotonic() + _PARTIAL_BACKOFF
            else:
                self.writer.partial_updates += 1
                last_write = time.monotonic()
