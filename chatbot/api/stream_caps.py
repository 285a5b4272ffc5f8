"""Caps on the replies one visitor and one address stream at once (``MAX_STREAMS_PER_VISITOR``,
``MAX_STREAMS_PER_ADDRESS``).

A streaming reply holds a server thread (or a connection under ASGI) for as long as it lasts; a
client that opens hundreds of slow replies, from fresh sessions, would hold every thread the server
has. The rate limits count requests, not what they hold, so open streams are counted too, in
Django's cache (shared by every server with Redis or Memcached): a claim when a reply starts, released
when its response is closed. A counter outlives a process that died with streams open for at most
``READ_TIMEOUT`` plus a minute. ``RATE_LIMITS = "off"`` turns the caps off with the other limits.

A cache that does not answer cannot count: a reply is then refused as unavailable (503), not let
through uncounted, and a slot that cannot be given back expires with its counter.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from django.core.cache import cache

from chatbot.api.errors import TooManyStreams
from chatbot.api.throttling import IPRateThrottle, parse_rate_limits
from chatbot.conf import chatbot_settings
from chatbot.exceptions import ServiceUnavailable
from chatbot.identity import Visitor

logger = logging.getLogger(__name__)

#: What ``Retry-After`` says when a cap is reached: a reply usually ends within that.
RETRY_AFTER = 10


class StreamClaim:
    """Slots taken for one streaming reply; :meth:`release` (idempotent) gives them back."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = keys
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            keys, self._keys = self._keys, []
        for key in keys:
            _give_back(key)


def _key(kind: str, value: str) -> str:
    return f"chatbot:streams:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _take(key: str, limit: int, ttl: int) -> bool:
    cache.add(key, 0, ttl)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, ttl)
        count = 1
    if count > limit:
        _give_back(key)
        return False
    cache.touch(key, ttl)
    return True


def _ttl() -> int:
    return int(chatbot_settings.READ_TIMEOUT) + 60


def _give_back(key: str) -> None:
    try:
        if cache.decr(key) < 0:  # the counter expired and came back while this stream was open
            cache.set(key, 0, _ttl())
    except ValueError:  # expired: nothing to give back
        pass
    except Exception as exc:  # the cache is down; the counter expires on its own
        logger.warning("Could not give back a stream slot: %s", type(exc).__name__)


def claim_stream(request: Any, visitor: Visitor) -> StreamClaim:
    """Take a slot for ``visitor`` and for the request's address; raise TooManyStreams (429) when
    either is at its cap."""
    if not parse_rate_limits(chatbot_settings.RATE_LIMITS):
        return StreamClaim([])
    ttl = _ttl()
    caps = [
        (_key("visitor", visitor.key), int(chatbot_settings.MAX_STREAMS_PER_VISITOR)),
        (_key("address", IPRateThrottle().get_ident(request)), int(chatbot_settings.MAX_STREAMS_PER_ADDRESS)),
    ]
    taken: list[str] = []
    for key, limit in caps:
        if limit <= 0:
            continue
        try:
            took = _take(key, limit, ttl)
        except Exception as exc:  # any cache backend's error: the cache did not answer
            StreamClaim(taken).release()
            logger.warning("The cache could not count open streams: %s", type(exc).__name__)
            raise ServiceUnavailable("cache unavailable") from exc
        if not took:
            StreamClaim(taken).release()
            raise TooManyStreams(wait=RETRY_AFTER)
        taken.append(key)
    return StreamClaim(taken)
