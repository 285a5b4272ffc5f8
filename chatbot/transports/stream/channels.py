"""A visitor's Stream user and channel, their tokens, staff in the channel, and deleting it all.

Outbound calls are kept to what changed: a user is upserted only when its data differs from what was
last sent (a hash in Django's cache), and a conversation's channel is created once and remembered in
``Conversation.stream_channel_id``, so a returning visitor's token costs no call to Stream at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

from django.core.cache import cache

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.identity import Visitor
from chatbot.models import Conversation, Message
from chatbot.tasks import task
from chatbot.transports.stream.client import StreamError, cache_key, call, get_client
from chatbot.transports.stream.ids import (
    CHANNEL_TYPE,
    assistant_id,
    message_id_for,
    staff_id_prefix,
    staff_user_id,
    visitor_channel_id,
    visitor_user_id,
)
from chatbot.transports.stream.ownership import check_ours

logger = logging.getLogger(__name__)

_USER_CACHE_SECONDS = 24 * 3600


# -- users ------------------------------------------------------------------------------------------


def assistant_user() -> dict[str, Any]:
    conf = chatbot_settings
    # "user" is Stream's least-privileged role that can still post in the channels it is a member of.
    data: dict[str, Any] = {"id": assistant_id(), "name": str(conf.ASSISTANT_NAME), "role": "user"}
    if conf.ASSISTANT_IMAGE:
        data["image"] = str(conf.ASSISTANT_IMAGE)
    return data


def visitor_user(visitor: Visitor) -> dict[str, Any]:
    # No email or other personal data: the name the widget shows is all Stream needs.
    return {"id": visitor_user_id(visitor), "name": visitor.display_name, "role": "user"}


def _user_cache_key(user_id: str) -> str:
    return cache_key("user", user_id)


def _channel_cache_key(channel_id: str) -> str:
    return cache_key("channel", channel_id)


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


_upsert_lock = threading.Lock()


def upsert_user(data: dict[str, Any], *, force: bool = False) -> bool:
    """Upsert ``data`` unless the same data was upserted already; True when a call was made."""
    key = _user_cache_key(data["id"])
    digest = _digest(data)
    if not force and cache.get(key) == digest:
        return False
    with _upsert_lock:
        # Whoever waited on the lock may find the work done (the background bootstrap, another tab).
        if not force and cache.get(key) == digest:
            return False
        call("upsert user", get_client().upsert_user, data)
        cache.set(key, digest, _USER_CACHE_SECONDS)
    return True


def ensure_assistant(*, force: bool = False) -> bool:
    return upsert_user(assistant_user(), force=force)


# -- channels and tokens ----------------------------------------------------------------------------


def ensure_channel(conversation: Conversation, visitor: Visitor) -> str:
    """The visitor's channel (members: visitor and assistant), created on first use and remembered."""
    channel_id = visitor_channel_id(visitor)
    if conversation.stream_channel_id == channel_id:
        return channel_id
    ensure_assistant()
    upsert_user(visitor_user(visitor))
    member = visitor_user_id(visitor)
    data = {"members": [member, assistant_id()], "name": str(chatbot_settings.ASSISTANT_NAME)}
    channel = get_client().channel(CHANNEL_TYPE, channel_id, data=data)
    # Get-or-create: an existing channel (an earlier conversation) is returned as it is, so it is used
    # only if it is ours.
    created = call("create channel", channel.create, assistant_id())
    ours = {member, assistant_id()}
    check_ours(created, channel_id, creator=assistant_id(), members=ours, staff_prefix=staff_id_prefix())
    Conversation.objects.filter(pk=conversation.pk).update(stream_channel_id=channel_id)
    conversation.stream_channel_id = channel_id
    remember_channel(channel_id)
    return channel_id


def remember_channel(channel_id: str) -> None:
    cache.set(_channel_cache_key(channel_id), True, _USER_CACHE_SECONDS)


def known_channel(visitor: Visitor) -> str | None:
    """The visitor's channel id when it is known to exist and their Stream user is up to date.

    One read of the cache and nothing else: a returning visitor's token needs no database query and
    no call to Stream. None when either is not known (a first visit, an evicted cache, a new name).
    """
    channel_id = visitor_channel_id(visitor)
    user = visitor_user(visitor)
    channel_key, user_key = _channel_cache_key(channel_id), _user_cache_key(user["id"])
    found = cache.get_many([channel_key, user_key])
    if found.get(channel_key) and found.get(user_key) == _digest(user):
        return channel_id
    return None


def visitor_token(visitor: Visitor) -> tuple[str, int]:
    """A token for this visitor only, and its expiry (Unix time). No network call."""
    now = int(time.time())
    expires = now + int(chatbot_settings.STREAM_CHAT_TOKEN_TTL)
    # iat a few seconds back: Stream refuses a token "used before issued at" when clocks differ slightly.
    token = get_client().create_token(visitor_user_id(visitor), exp=expires, iat=now - 5)
    return token, expires


def channel_for(conversation: Conversation) -> Any:
    return get_client().channel(CHANNEL_TYPE, conversation.stream_channel_id)


# -- staff and privacy (through StreamTransport) ---------------------------------------------------


def post_staff_message(conversation: Conversation, message: Message) -> None:
    """Post a staff reply into the visitor's channel as that staff member, with our message id."""
    if not conversation.stream_channel_id or message.author is None:
        return
    author = message.author
    staff_id = staff_user_id(author)
    # Staff join the channel as plain members: the least privilege that lets them post there.
    upsert_user({"id": staff_id, "name": author.get_full_name() or author.get_username(), "role": "user"})
    channel = channel_for(conversation)
    call("add staff member", channel.add_members, [staff_id])
    payload = {"id": message_id_for(message.public_id), "text": message.text}
    call("send staff message", channel.send_message, payload, staff_id)
    Message.objects.filter(pk=message.pk).update(external_id=payload["id"])


def delete_channel(conversation: Conversation) -> None:
    """Remove the conversation from Stream (privacy purge).

    A visitor keeps one channel across conversations: while another of their conversations still uses
    it, only this conversation's messages are deleted (hard), otherwise the whole channel goes.
    """
    if not conversation.stream_channel_id:
        return
    shared = (
        Conversation.objects.filter(stream_channel_id=conversation.stream_channel_id)
        .exclude(pk=conversation.pk)
        .exists()
    )
    if not shared:
        cache.delete(_channel_cache_key(conversation.stream_channel_id))
        call("delete channel", channel_for(conversation).delete)
        return
    client = get_client()
    for public_id, external_id in conversation.messages.values_list("public_id", "external_id"):
        try:
            call("delete message", client.delete_message, external_id or message_id_for(public_id), hard=True)
        except StreamError as exc:
            # A message that never reached Stream (a question asked over the builtin API) is not there.
            if exc.http_status != 404:
                raise


@task()
def delete_channels(channel_ids: list[str]) -> None:
    """Background task: delete whole channels (a deleted user's); one already gone counts as done."""
    client = get_client()
    for channel_id in channel_ids:
        cache.delete(_channel_cache_key(channel_id))
        try:
            call("delete channel", client.channel(CHANNEL_TYPE, channel_id).delete)
        except ChatbotError as exc:
            if getattr(exc, "http_status", 0) != 404:
                logger.warning("Stream channel %s of a deleted user was not deleted: %s", channel_id, exc.code)
