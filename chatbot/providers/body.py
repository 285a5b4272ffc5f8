"""Reading a streamed response's body: its bytes as they arrive, and the idle limit of a stream,
for ``requests`` (:class:`Silence`, :func:`iter_bytes`) and for aiohttp (:class:`AsyncBody`).

Used by :class:`chatbot.providers.http.HTTPProvider`; the bytes go to the SSE reader
(:mod:`chatbot.providers.sse`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
import requests

from chatbot.exceptions import ProviderTimeout


class Silence:
    """The idle limit of one stream, enforced through the socket's timeout: before each read the
    timeout is what is left of the idle time (or the read timeout, when that is shorter), so a
    silent server raises the same socket timeout a stalled one does, only sooner."""

    def __init__(self, response: requests.Response, idle: float, read_timeout: float):
        connection = getattr(response.raw, "connection", None)
        self.sock = getattr(connection, "sock", None)
        # Without a socket to time (a response not read from the network) only the read timeout applies.
        self.idle = idle if self.sock is not None else 0.0
        self.read_timeout = read_timeout
        self.deadline: float | None = None
        #: True while the socket's timeout is the idle time left rather than the read timeout.
        self.idle_bound = False

    def restart(self) -> None:
        if self.idle:
            self.deadline = time.monotonic() + self.idle

    def watch(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        while True:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("idle")
                self.idle_bound = left < self.read_timeout
                assert self.sock is not None  # a deadline is only set when there is a socket
                self.sock.settimeout(min(left, self.read_timeout))
            chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def timeout_error(self) -> ProviderTimeout:
        if self.deadline is not None and (self.idle_bound or time.monotonic() >= self.deadline):
            return ProviderTimeout(f"the stream started, then sent nothing for {self.idle:g} s")
        return ProviderTimeout("the stream stalled")


def iter_bytes(response: requests.Response) -> Iterator[bytes]:
    raw = response.raw
    if getattr(raw, "chunked", False) or not hasattr(raw, "read1"):
        # Chunked bodies (what SSE servers send over HTTP/1.1) come out one chunk at a time.
        yield from response.iter_content(chunk_size=None)
        return
    # A body delimited by closing the connection: read1 hands over what has arrived instead of
    # waiting for a full buffer, so deltas are not held back.
    while True:
        data = raw.read1(65536, decode_content=True)
        if not data:
            return
        yield data


class AsyncBody:
    """The bytes of an aiohttp response as they arrive, with the same limits as :class:`Silence`:
    every read may take the read timeout (the session's ``sock_read``), and once :meth:`restart` was
    called (an event was read) the next event must come within the idle time.

    The idle limit is one timer per stream, not one per read: :meth:`restart` only moves the
    deadline, and the timer, when it fires early, sets itself again for the new one. When it fires
    while a read waits, the body fails with a TimeoutError, which ends that read."""

    def __init__(self, response: aiohttp.ClientResponse, idle: float, read_timeout: float):
        self.content = response.content
        self.idle = idle
        self.read_timeout = read_timeout
        self.loop = asyncio.get_running_loop()
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.reading = False
        #: True once the idle limit, not the read timeout, ended the stream.
        self.idle_expired = False

    def restart(self) -> None:
        if self.idle:
            self.deadline = self.loop.time() + self.idle
            if self.timer is None:
                self.timer = self.loop.call_at(self.deadline, self._expire)

    def _expire(self) -> None:
        self.timer = None
        if self.deadline is None:
            return
        if self.loop.time() < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self._expire)
        elif self.reading:
            self.idle_expired = True
            self.content.set_exception(TimeoutError("idle"))
        # Not reading: the consumer holds the event, which does not count; the next read decides.

    async def read(self) -> bytes:
        """The next bytes of the body; b"" at its end."""
        if self.deadline is not None and self.loop.time() >= self.deadline:
            self.idle_expired = True
            raise TimeoutError("idle")
        self.reading = True
        try:
            return await self.content.readany()
        finally:
            self.reading = False

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def timeout_error(self) -> ProviderTimeout:
        if self.deadline is not None and (self.idle_expired or self.loop.time() >= self.deadline):
            return ProviderTimeout(f"the stream started, then sent nothing for {self.idle:g} s")
        return ProviderTimeout("the stream stalled")
