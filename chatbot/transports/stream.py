"""The Stream Chat transport: the server side of the visitor's Stream connection.

Everything here goes through the ``stream-chat`` SDK with the server secret, which never leaves the
server. Visitors get short-lived user tokens for their own id only; ids are derived from the session's
:class:`~chatbot.identity.Visitor`, never from anything the browser sends.

Outbound calls are kept to what changed: a user is upserted only when its data differs from what was
last sent (a hash in Django's cache), and a conversation's channel is created once and remembered in
``Conversation.stream_channel_id``, so a returning visitor's token costs no call to Stream at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_tasks import task
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.identity import Visitor
from chatbot.models import Conversation, Message
from chatbot.transports.stream_ownership import check_ours

logger = logging.getLogger(__name__)

CHANNEL_TYPE = "messaging"
_MAX_ID = 64
_USER_CACHE_SECONDS = 24 * 3600
_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")

T = TypeVar("T")


class StreamError(ChatbotError):
    """Stream answered with an error we do not expect (bad input, permissions)."""

    code = "stream_error"
    default_message = _("The live chat could not take that message. Please try again.")
    status = 502
    #: Stream's own error code and message, for the log and for callers that expect one.
    stream_code: Any = None
    stream_message: str = ""
    http_status: int = 0


class StreamDisabled(ChatbotError):
    code = "stream_disabled"
    default_message = _("Live chat is not switched on for this shop.")
    status = 503


class StreamUnavailable(ChatbotError):
    """Stream could not be reached, timed out, or failed on its side (5xx)."""

    code = "stream_unavailable"
    default_message = _("The live chat service is unavailable right now. Please try again in a moment.")
    status = 503


class StreamRateLimited(StreamUnavailable):
    code = "stream_rate_limited"
    default_message = _("The live chat is very busy right now. Please try again in a moment.")
    #: Stream's 429 carries no reset time in the SDK's exception; a minute is its window.
    retry_after = 60


def stream_enabled() -> bool:
    conf = chatbot_settings
    return bool(conf.STREAM_CHAT_ENABLED and conf.STREAM_CHAT_API_KEY and conf.STREAM_CHAT_API_SECRET)


# -- the client -------------------------------------------------------------------------------------

_local = threading.local()


def _client_options() -> tuple[str, str, str, float]:
    conf = chatbot_settings
    return (
        conf.STREAM_CHAT_API_KEY,
        conf.STREAM_CHAT_API_SECRET,
        conf.STREAM_CHAT_BASE_URL or "",
        float(conf.STREAM_CHAT_TIMEOUT),
    )


def get_client() -> StreamChat:
    """The SDK client for this thread: its ``requests.Session`` is not documented as thread-safe."""
    if not stream_enabled():
        raise StreamDisabled()
    options = _client_options()
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != options:
        key, secret, base_url, timeout = options
        kwargs = {"base_url": base_url} if base_url else {}
        cached = (options, StreamChat(api_key=key, api_secret=secret, timeout=timeout, **kwargs))
        _local.client = cached
    return cached[1]


def call(operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one SDK call, turning its failures into the app's typed errors (details go to the log)."""
    try:
        return fn(*args, **kwargs)
    except StreamAPIException as exc:
        code = getattr(exc, "error_code", None)  # absent when the body was not JSON (a proxy's 502)
        logger.warning("Stream %s failed: HTTP %s, code %s", operation, exc.status_code, code)
        if exc.status_code == 429 or code == 9:
            raise StreamRateLimited(f"{operation}: 429") from exc
        if exc.status_code >= 500 or exc.status_code == 408:
            raise StreamUnavailable(f"{operation}: HTTP {exc.status_code}") from exc
        error = StreamError(f"{operation}: HTTP {exc.status_code} code {code}")
        error.stream_code = code
        error.http_status = exc.status_code
        error.stream_message = getattr(exc, "error_message", "")
        raise error from exc
    except requests.RequestException as exc:
        logger.warning("Stream %s failed: %s", operation, type(exc).__name__)
        raise StreamUnavailable(f"{operation}: {type(exc).__name__}") from exc


_HEALTHY_SECONDS = 30


def stream_health() -> tuple[bool, str]:
    """``(ok, detail)`` for the health check: one cheap authenticated call.

    A good answer is remembered for half a minute: load balancers poll health often, and each poll
    would otherwise be a call against the app's Stream rate limits. A failure is never remembered.
    """
    key = _user_cache_key("health") if stream_enabled() else ""
    if key and cache.get(key):
        return True, "ok"
    try:
        client = get_client()
        call("app settings", client.get_app_settings)
    except StreamRateLimited:
        return True, "rate limited"
    except ChatbotError as exc:
        return False, exc.code
    cache.set(key, True, _HEALTHY_SECONDS)
    return True, "ok"


# -- ids --------------------------------------------------------------------------------------------


def _prefix() -> str:
    prefix = _ID_UNSAFE.sub("-", str(chatbot_settings.STREAM_CHAT_ID_PREFIX or "shop").lower()).strip("-")
    return prefix[:20] or "shop"


def _bounded(value: str) -> str:
    # Stream ids are at most 64 characters of a-z, 0-9, @, _ and -; a long id keeps a readable head.
    value = _ID_UNSAFE.sub("-", value.lower())
    if len(value) <= _MAX_ID:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:24]
    return f"{value[: _MAX_ID - 25]}-{digest}"


def assistant_id() -> str:
    return _bounded(f"{_prefix()}-assistant")


def visitor_user_id(visitor: Visitor) -> str:
    return _bounded(f"{_prefix()}-{visitor.key}")


def visitor_channel_id(visitor: Visitor) -> str:
    # Derived with the site's secret, so nobody can tell a customer's channel id from their account
    # and create that channel first (see chatbot.transports.stream_ownership).
    digest = salted_hmac("chatbot.stream.channel", visitor.key, algorithm="sha256").hexdigest()[:32]
    return _bounded(f"{_prefix()}-support-{digest}")


def message_id_for(public_id: Any) -> str:
    """Our own ids for the messages we write, so a retried call can never post a message twice."""
    return str(public_id)


def visitor_for(conversation: Conversation) -> Visitor:
    return Visitor(user=conversation.user, guest_id=conversation.guest_id)


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


def _cache_key(kind: str, stream_id: str) -> str:
    key, _secret, base_url, _timeout = _client_options()
    app = hashlib.sha256(f"{key}|{base_url}".encode()).hexdigest()[:16]
    return f"chatbot:stream:{kind}:{app}:{stream_id}"


def _user_cache_key(user_id: str) -> str:
    return _cache_key("user", user_id)


def _channel_cache_key(channel_id: str) -> str:
    return _cache_key("channel", channel_id)


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
    check_ours(created, channel_id, creator=assistant_id(), members=ours, staff_prefix=f"{_prefix()}-staff-")
    Conversation.objects.filter(pk=conversation.pk).update(stream_channel_id=channel_id)
    conversation.stream_channel_id = channel_id
    remember_channel(channel_id)
    return channel_id


#: Share of STREAM_CHAT_UPDATE_LIMIT partial updates may use; the rest is kept for final updates.
_PARTIAL_SHARE = 0.8


def take_update(*, partial: bool) -> bool:
    """Count one message update against the app's limit for this minute, in Django's cache (shared by
    every process with a shared cache). A partial update is refused once its share is used up; a final
    update is only counted: it carries the whole text and always goes."""
    limit = int(chatbot_settings.STREAM_CHAT_UPDATE_LIMIT or 0)
    if limit <= 0:
        return True
    key = _cache_key("updates", str(int(time.time() // 60)))
    cache.add(key, 0, 120)
    try:
        used = cache.incr(key)
    except ValueError:  # the key was evicted between the two calls
        cache.add(key, 1, 120)
        used = 1
    return not partial or used <= limit * _PARTIAL_SHARE


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


# -- staff and privacy (called through chatbot.staff.hooks) ----------------------------------------


def staff_user_id(user: Any) -> str:
    return _bounded(f"{_prefix()}-staff-{user.pk}")


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
