"""The ``stream-chat`` SDK clients, and the app's typed errors for what Stream answers.

Everything goes through the SDK with the server secret, which never leaves the server: its
``requests`` client in threads (:func:`get_client`), its ``aiohttp`` client on an event loop
(:func:`async_client`). Each call runs through :func:`call` or :func:`acall`, which turn the SDK's and
the HTTP client's failures into the errors below (details go to the log, never to the visitor).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import requests
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from stream_chat import StreamChat
from stream_chat.async_chat import StreamChatAsync
from stream_chat.base.exceptions import StreamAPIException

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError

logger = logging.getLogger(__name__)

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
    """The SDK client for this thread: its ``requests.Session`` is not documented as thread-safe.

    Raises StreamDisabled unless Stream is the chosen transport."""
    from chatbot.transports.stream import stream_enabled  # the package is built on this module

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
        raise _api_error(operation, exc) from exc
    except requests.RequestException as exc:
        logger.warning("Stream %s failed: %s", operation, type(exc).__name__)
        raise StreamUnavailable(f"{operation}: {type(exc).__name__}") from exc


def _api_error(operation: str, exc: StreamAPIException) -> ChatbotError:
    code = getattr(exc, "error_code", None)  # absent when the body was not JSON (a proxy's 502)
    logger.warning("Stream %s failed: HTTP %s, code %s", operation, exc.status_code, code)
    if exc.status_code == 429 or code == 9:
        return StreamRateLimited(f"{operation}: 429")
    if exc.status_code >= 500 or exc.status_code == 408:
        return StreamUnavailable(f"{operation}: HTTP {exc.status_code}")
    error = StreamError(f"{operation}: HTTP {exc.status_code} code {code}")
    error.stream_code = code
    error.http_status = exc.status_code
    error.stream_message = getattr(exc, "error_message", "")
    return error


# -- on an event loop -------------------------------------------------------------------------------

#: The asyncio clients of each event loop by the options they were made with (one, unless the settings
#: changed while the loop ran: a client replies may still be using is kept until the loop's end). A
#: plain dict, not a WeakKeyDictionary: a client's session holds its loop, so a weak key would never go
#: away; the clients of closed loops are swept instead.
_loop_clients: dict[asyncio.AbstractEventLoop, dict[tuple[str, str, str, float], StreamChatAsync]] = {}
_loop_clients_lock = threading.Lock()


def async_client() -> StreamChatAsync:
    """The SDK's asyncio client for the running loop: one ``aiohttp`` session per loop, shared by every
    reply written on it, so its connections to Stream are kept alive between calls and replies (an
    ``aiohttp`` session belongs to the loop that made it). Call it on the loop.

    The same key, secret, base URL and timeout as :func:`get_client`, so the same server JWT. Raises
    StreamDisabled unless Stream is the chosen transport."""
    from chatbot.transports.stream import stream_enabled  # the package is built on this module

    if not stream_enabled():
        raise StreamDisabled()
    loop = asyncio.get_running_loop()
    options = _client_options()
    client = _loop_clients.get(loop, {}).get(options)
    if client is not None:
        return client
    with _loop_clients_lock:
        for closed in [other for other in _loop_clients if other.is_closed()]:
            for gone in _loop_clients.pop(closed).values():
                gone.session.detach()  # its connections went with the loop
        key, secret, base_url, timeout = options
        kwargs = {"base_url": base_url} if base_url else {}
        client = StreamChatAsync(api_key=key, api_secret=secret, timeout=timeout, **kwargs)
        _loop_clients.setdefault(loop, {})[options] = client
    return client


async def close_async_client() -> None:
    """Close the running loop's clients and their connections (an ASGI server's shutdown, the end of a
    test's loop)."""
    with _loop_clients_lock:
        clients = _loop_clients.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.close()


async def acall(operation: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """:func:`call` for the asyncio client: one SDK call awaited, its failures the same typed errors."""
    try:
        return await fn(*args, **kwargs)
    except StreamAPIException as exc:
        raise _api_error(operation, exc) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("Stream %s failed: %s", operation, type(exc).__name__)
        raise StreamUnavailable(f"{operation}: {type(exc).__name__}") from exc


def cache_key(kind: str, stream_id: str) -> str:
    """A key in Django's cache for something this Stream app was told (one app per key and base URL)."""
    key, _secret, base_url, _timeout = _client_options()
    app = hashlib.sha256(f"{key}|{base_url}".encode()).hexdigest()[:16]
    return f"chatbot:stream:{kind}:{app}:{stream_id}"


_HEALTHY_SECONDS = 30


def stream_health() -> tuple[bool, str]:
    """``(ok, detail)`` for the health check: one cheap authenticated call.

    A good answer is remembered for half a minute: load balancers poll health often, and each poll
    would otherwise be a call against the app's Stream rate limits. A failure is never remembered.
    """
    key = cache_key("user", "health")
    if cache.get(key):
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
