"""Sessions kept in the database and read through the shared cache, for a cache that may be down.

Django's ``cached_db`` store reads a session from the database when the cache misses, but fails the
request when the cache does not answer at all (it writes a loaded session back to the cache, and
looks a new session key up in it): with Redis down, every page of the shop was a server error. Here
a cache that does not answer counts as a miss, and the database alone serves sessions until it is
back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger(__name__)


def _unanswered(exc: Exception) -> None:
    logger.warning("The session cache did not answer (%s); using the database", type(exc).__name__)


class _CacheOrMiss:
    """The cache calls ``cached_db`` makes, with a cache that does not answer taken as a miss."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except Exception as exc:  # any cache backend's connection error
            _unanswered(exc)
            return default

    async def aget(self, key: str, default: Any = None) -> Any:
        try:
            return await self._cache.aget(key, default)
        except Exception as exc:
            _unanswered(exc)
            return default

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def set(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._cache.set(*args, **kwargs)
        except Exception as exc:
            _unanswered(exc)

    async def aset(self, *args: Any, **kwargs: Any) -> None:
        try:
            await self._cache.aset(*args, **kwargs)
        except Exception as exc:
            _unanswered(exc)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except Exception as exc:
            _unanswered(exc)

    async def adelete(self, key: str) -> None:
        try:
            await self._cache.adelete(key)
        except Exception as exc:
            _unanswered(exc)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CacheOrMiss(self._cache)
