"""Writing one assistant message into a Stream channel the way Stream's AI components expect it.

A reply is an ``ai_generated`` message from the assistant, ``ai_indicator`` events around it, partial
updates while it grows and one final update; :mod:`chatbot.transports.stream_relay` decides when
each is written. Every update counts against the app's per-minute budget (:func:`take_update`).

:class:`ReplyWriter` writes with the SDK's ``requests`` client (in a thread), :class:`AsyncReplyWriter`
with its asyncio client on an event loop; both send the same requests.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache

from chatbot.aio import in_thread
from chatbot.conf import chatbot_settings
from chatbot.models import Message
from chatbot.transports.stream.channels import channel_for
from chatbot.transports.stream.client import StreamError, acall, async_client, cache_key, call, get_client
from chatbot.transports.stream.ids import CHANNEL_TYPE, assistant_id, message_id_for

THINKING = "AI_STATE_THINKING"
GENERATING = "AI_STATE_GENERATING"
ERROR = "AI_STATE_ERROR"

#: Share of STREAM_CHAT_UPDATE_LIMIT partial updates may use; the rest is kept for final updates.
_PARTIAL_SHARE = 0.8


def take_update(*, partial: bool) -> bool:
    """Count one message update against the app's limit for this minute, in Django's cache (shared by
    every process with a shared cache). A partial update is refused once its share is used up; a final
    update is only counted: it carries the whole text and always goes."""
    limit = int(chatbot_settings.STREAM_CHAT_UPDATE_LIMIT or 0)
    if limit <= 0:
        return True
    key = cache_key("updates", str(int(time.time() // 60)))
    cache.add(key, 0, 120)
    try:
        used = cache.incr(key)
    except ValueError:  # the key was evicted between the two calls
        cache.add(key, 1, 120)
        used = 1
    return not partial or used <= limit * _PARTIAL_SHARE


def _indicator(message_id: str, state: str, ai_message: str) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "ai_indicator.update", "ai_state": state, "message_id": message_id}
    if ai_message:
        event["ai_message"] = ai_message
    return event


def _clear(message_id: str) -> dict[str, Any]:
    return {"type": "ai_indicator.clear", "message_id": message_id}


def _message(message_id: str, text: str, generating: bool) -> dict[str, Any]:
    return {"id": message_id, "text": text, "ai_generated": True, "generating": generating}


def _posted_already(exc: StreamError) -> bool:
    # A retried write: the message is there already, and the updates that follow fix its text.
    return "already exists" in str(getattr(exc, "stream_message", ""))


class ReplyWriter:
    """One assistant message in one channel, written through the Stream REST API."""

    def __init__(self, message: Message):
        self.message = message
        self.id = message_id_for(message.public_id)
        self.channel = channel_for(message.conversation)
        self.client = get_client()
        self.bot = assistant_id()
        self.partial_updates = 0

    def indicator(self, state: str, ai_message: str = "") -> None:
        call("send event", self.channel.send_event, _indicator(self.id, state, ai_message), self.bot)

    def clear(self) -> None:
        call("send event", self.channel.send_event, _clear(self.id), self.bot)

    def create(self, text: str = "", *, generating: bool = True) -> None:
        try:
            call(
                "send message", self.channel.send_message, _message(self.id, text, generating), self.bot, skip_push=True
            )
        except StreamError as exc:
            if not _posted_already(exc):
                raise

    def update(self, text: str, *, generating: bool) -> None:
        if not generating:
            take_update(partial=False)
        updates = {"set": {"text": text, "generating": generating}}
        call("update message", self.client.update_message_partial, self.id, updates, self.bot, skip_enrich_url=True)


class AsyncReplyWriter:
    """:class:`ReplyWriter` on an event loop: the same requests, made with the loop's asyncio client
    (:func:`~chatbot.transports.stream.client.async_client`). Made with :meth:`open`, on the loop, for
    a message whose conversation is loaded already (the loop never queries the database)."""

    def __init__(self, message: Message, client: Any):
        self.message = message
        self.id = message_id_for(message.public_id)
        self.channel = client.channel(CHANNEL_TYPE, message.conversation.stream_channel_id)
        self.client = client
        self.bot = assistant_id()
        self.partial_updates = 0

    @classmethod
    def open(cls, message: Message) -> AsyncReplyWriter:
        return cls(message, async_client())

    async def indicator(self, state: str, ai_message: str = "") -> None:
        await acall("send event", self.channel.send_event, _indicator(self.id, state, ai_message), self.bot)

    async def clear(self) -> None:
        await acall("send event", self.channel.send_event, _clear(self.id), self.bot)

    async def create(self, text: str = "", *, generating: bool = True) -> None:
        message = _message(self.id, text, generating)
        try:
            await acall("send message", self.channel.send_message, message, self.bot, skip_push=True)
        except StreamError as exc:
            if not _posted_already(exc):
                raise

    async def update(self, text: str, *, generating: bool) -> None:
        if not generating:
            # The count lives in Django's cache (Redis, say): a thread, never a network wait on the loop.
            await in_thread(lambda: take_update(partial=False))
        updates = {"set": {"text": text, "generating": generating}}
        await acall(
            "update message", self.client.update_message_partial, self.id, updates, self.bot, skip_enrich_url=True
        )
