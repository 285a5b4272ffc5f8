"""The asyncio HTTP client of a remote provider: one aiohttp session per event loop.

An aiohttp session and its connections belong to the loop they were made on, and a process may run
several loops (an ASGI server runs one; ``async_to_sync`` and tests make others), so each provider
keeps one session per running loop, made on first use there. A session whose loop was closed is
dropped when the next one is made: its connections went with the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import aiohttp


class LoopSessions:
    """The sessions of one provider, keyed by event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # A plain dict, not a WeakKeyDictionary: a session holds its loop, so a weak key would never
        # go away; closed loops are swept instead.
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def get(self) -> aiohttp.ClientSession:
        """The running loop's session."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is not None and not session.closed:
            return session
        with self._lock:
            for other in [other for other in self._sessions if other.is_closed()]:
                self._sessions.pop(other).detach()
            session = aiohttp.ClientSession(
                # No limit on connections: aiohttp's limits are how many requests may be open at once
                # (the next one waits for a free connection), and every streaming reply holds one for its
                # whole length. Idle connections are kept for aiohttp's keep-alive time.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                version=aiohttp.HttpVersion11,
                # Like requests: proxies from the environment (HTTPS_PROXY, NO_PROXY).
                trust_env=True,
                raise_for_status=False,
            )
            self._sessions[loop] = session
        return session

    async def aclose(self) -> None:
        """Close the running loop's session (an ASGI server's shutdown, the end of a test's loop)."""
        with self._lock:
            session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Close every session, best effort, from any thread: a session on a running loop is closed
        there (not waited for); one whose loop is closed only lets go of its connector."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
        for loop, session in sessions.items():
            if session.closed:
                continue
            if loop.is_closed() or not loop.is_running():
                session.detach()
                continue
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                asyncio.run_coroutine_threadsafe(session.close(), loop)
