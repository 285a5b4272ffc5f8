"""Stopping a reply that streams on an event loop, without polling where the database can tell.

``chatbot.replies.request_stop`` marks the replies and, on PostgreSQL, announces their pks on the
:data:`CHANNEL` channel (``pg_notify``, delivered when its transaction commits, so a listener that hears
it finds the mark). :data:`async_stop_watcher` holds, per process and running event loop, one
connection that ``LISTEN``s on it while replies stream there; it is closed :data:`IDLE_GRACE` seconds
after the last one ended. A notification sent while that connection was away is lost, so every
watched reply is looked up once when it opens again, and while it cannot be opened the watcher polls
every ``STOP_POLL_INTERVAL`` as the thread watcher (:mod:`chatbot.stops`) does. Where the database is
not PostgreSQL (SQLite) it always polls.

The watcher also keeps the watched replies alive (:func:`chatbot.stops.heartbeat_interval`). Its
database work runs in worker threads (:func:`chatbot.aio.in_thread`) and holds no connection between
two looks; the loop itself only ever waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from importlib.util import find_spec
from typing import Any

from django.db import connections, router

from chatbot import stops
from chatbot.aio import in_thread
from chatbot.conf import chatbot_settings

logger = logging.getLogger(__name__)

#: The PostgreSQL channel stop requests are announced on; each payload is comma-separated reply pks.
CHANNEL = "chatbot_stop"
#: Bytes of one payload: PostgreSQL refuses 8000 and more.
MAX_PAYLOAD = 7900
#: How an event loop's listen connection names itself (``pg_stat_activity.application_name``) unless
#: the database's ``OPTIONS`` name the connections already.
APPLICATION_NAME = "chatbot stop listener"
#: Seconds a listen connection stays open after the last watched reply of its loop ended, ready for
#: the next one.
IDLE_GRACE = 5.0
#: Seconds allowed to open the listen connection.
CONNECT_TIMEOUT = 5
#: Seconds between two probes of the listen connection (:meth:`_LoopWatcher._probe`): a connection
#: the network dropped without a word says nothing until it is used.
PROBE_AFTER = 30.0
#: Seconds a probe may take to be heard.
PROBE_TIMEOUT = 5.0
#: How a probe's payload starts: no stop announcement does.
PROBE = "probe"
#: Pauses before opening a listen connection again after it was lost: the first, and the longest.
RECONNECT_PAUSE = 0.5
RECONNECT_PAUSE_MAX = 15.0


def database() -> str:
    """The database alias stop requests are written to, announced on and listened for."""
    from chatbot.models import Message

    return router.db_for_write(Message)


def announce_stop(pks: list[int]) -> None:
    """Tell every listening process that ``pks`` were asked to stop (PostgreSQL; nothing elsewhere).

    Call it inside the transaction that marks them: PostgreSQL delivers the notification when that
    transaction commits, so a listener that hears it finds the mark already there.
    """
    if connections[database()].vendor != "postgresql" or not pks:
        return
    for payload in _payloads(pks):
        _announce(payload)


def _announce(payload: str) -> None:
    with connections[database()].cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def _payloads(pks: list[int]) -> Iterator[str]:
    """``pks`` as comma-separated payloads under PostgreSQL's limit of 8000 bytes each."""
    chunk: list[str] = []
    size = 0
    for pk in pks:
        text = str(int(pk))
        if chunk and size + 1 + len(text) > MAX_PAYLOAD:
            yield ",".join(chunk)
            chunk, size = [], 0
        size += len(text) + (1 if chunk else 0)
        chunk.append(text)
    if chunk:
        yield ",".join(chunk)


def _parse_payload(payload: str) -> list[int]:
    try:
        return [int(pk) for pk in payload.split(",")]
    except ValueError:
        logger.debug("Ignored a notification on %s that names no replies", CHANNEL)
        return []


class _Deaf(Exception):
    """The listen connection did not hear its own probe."""


@dataclass(eq=False)
class _Watch:
    pk: int
    on_stop: Callable[[], object]
    fired: bool = False


class AsyncStopWatcher:
    """Stop requests for replies streaming on event loops::

        async with async_stop_watcher.watch(message_pk, on_stop):
            ...  # stream the reply

    ``on_stop()`` is called on the loop, at most once, as soon as a stop for ``message_pk`` is asked
    in any process: at once when it is asked in this one, when the request commits when another
    server asked it (PostgreSQL), or within ``STOP_POLL_INTERVAL`` when it is polled for. A stop asked
    before the watch began counts too: each newly watched reply is looked up once, within
    ``STOP_POLL_INTERVAL``. ``on_stop`` must not block; what it raises is logged. The watched replies
    are kept alive (their ``updated`` refreshed every :func:`chatbot.stops.heartbeat_interval`).

    Each running loop has its own watcher task, and on PostgreSQL its own listen connection, opened
    with the first watched reply and closed ``idle_grace`` seconds after the last one ended. Database
    work runs in worker threads (:func:`chatbot.aio.in_thread`), which hold no connection between two
    looks.
    """

    def __init__(self, *, idle_grace: float = IDLE_GRACE, probe_timeout: float = PROBE_TIMEOUT) -> None:
        self.idle_grace = idle_grace
        self.probe_timeout = probe_timeout
        #: Its listen connections did not hear what other connections announced: poll instead.
        self.deaf = False
        self._loops: dict[asyncio.AbstractEventLoop, _LoopWatcher] = {}
        self._lock = threading.Lock()

    @asynccontextmanager
    async def watch(self, message_pk: int, on_stop: Callable[[], object]) -> AsyncIterator[None]:
        watcher = self._for(asyncio.get_running_loop())
        watch = watcher.add(message_pk, on_stop)
        try:
            yield
        finally:
            watcher.remove(watch)

    def stop_here(self, message_pks: list[int]) -> None:
        """Stop the replies of ``message_pks`` watched in this process right away (from any thread)."""
        with self._lock:
            watchers = list(self._loops.values())
        for watcher in watchers:
            if any(pk in watcher.watches for pk in message_pks):
                with contextlib.suppress(RuntimeError):  # its loop is closed: nothing streams there
                    watcher.loop.call_soon_threadsafe(watcher.fire, list(message_pks), "asked here")

    def _for(self, loop: asyncio.AbstractEventLoop) -> _LoopWatcher:
        with self._lock:
            for closed in [other for other in self._loops if other.is_closed()]:
                del self._loops[closed]
            watcher = self._loops.get(loop)
            if watcher is None:
                watcher = self._loops[loop] = _LoopWatcher(self, loop)
            return watcher

    def _retire(self, watcher: _LoopWatcher) -> None:
        with self._lock:
            if self._loops.get(watcher.loop) is watcher:
                del self._loops[watcher.loop]


class _LoopWatcher:
    """The replies one event loop streams, and the task watching them for it."""

    def __init__(self, owner: AsyncStopWatcher, loop: asyncio.AbstractEventLoop) -> None:
        self.owner = owner
        self.loop = loop
        self.watches: dict[int, list[_Watch]] = {}
        #: Watched replies to look up once: new ones (a stop may have come before they were watched),
        #: and all of them when the listen connection opens (what was announced before went unheard).
        self.unchecked: set[int] = set()
        self.listening = False
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.probes = 0

    def add(self, pk: int, on_stop: Callable[[], object]) -> _Watch:
        watch = _Watch(pk, on_stop)
        self.watches.setdefault(pk, []).append(watch)
        self.unchecked.add(pk)
        self.changed.set()
        if self.task is None:
            self.task = self.loop.create_task(self._run(), name="chatbot-stop-watcher")
        return watch

    def remove(self, watch: _Watch) -> None:
        watches = self.watches.get(watch.pk, [])
        if watch in watches:
            watches.remove(watch)
        if not watches:
            self.watches.pop(watch.pk, None)
            self.unchecked.discard(watch.pk)
            if not self.watches:
                self.changed.set()  # the idle grace starts now

    def fire(self, pks: list[int], how: str) -> None:
        for pk in pks:
            for watch in list(self.watches.get(pk, ())):
                if not watch.fired:
                    watch.fired = True
                    logger.debug("Reply %d asked to stop (%s)", pk, how)
                    try:
                        watch.on_stop()
                    except Exception:
                        logger.exception("Stopping reply %d failed", pk)

    async def _run(self) -> None:
        listens = _can_listen() and not self.owner.deaf
        listener = self.loop.create_task(self._listen(), name="chatbot-stop-listener") if listens else None
        try:
            await self._keep()
        except Exception:
            logger.exception("The stop watcher of an event loop failed")
        finally:
            # Before any await: a reply watched from now on starts a new watcher.
            self.owner._retire(self)
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _keep(self) -> None:
        """Look up stop requests (all watched replies while not listening, else those not looked up
        yet), at most once per ``STOP_POLL_INTERVAL``, and keep the replies alive; returns once
        nothing was watched for ``idle_grace`` seconds."""
        next_look = self.loop.time()
        next_beat = self.loop.time() + stops.heartbeat_interval()
        failing = False
        while True:
            self.changed.clear()
            if not self.watches:
                await _wait(self.changed, self.owner.idle_grace)
                if not self.watches:
                    return
                continue
            interval = float(chatbot_settings.STOP_POLL_INTERVAL)
            now = self.loop.time()
            look = (not self.listening or bool(self.unchecked)) and now >= next_look
            beat = now >= next_beat
            if look or beat:
                check = self._to_look_up() if look else []
                alive = list(self.watches) if beat else []
                if look:  # what is not looked up now was stopped already
                    self.unchecked.clear()
                try:
                    stopped = await in_thread(partial(_look_and_beat, check, alive))
                except Exception as exc:  # the database is away: again after an interval
                    if not failing:
                        logger.warning("Stop watcher could not read stop requests: %s", type(exc).__name__)
                    failing = True
                    self.unchecked.update(check)
                    next_look = now + interval
                    if beat:
                        next_beat = now + interval
                else:
                    if failing:
                        logger.info("Stop watcher reads stop requests again")
                    failing = False
                    logger.debug("Looked up %d replies for stop requests, kept %d alive", len(check), len(alive))
                    if look:
                        next_look = now + interval
                    if beat:
                        next_beat = now + stops.heartbeat_interval()
                    self.fire(stopped, "looked up")
                    if check and self.listening and not self.unchecked:
                        logger.debug("Every watched reply looked up; the rest of the stop requests are heard")
            wake = next_beat
            if not self.listening or self.unchecked:
                wake = min(wake, next_look)
            await _wait(self.changed, wake - self.loop.time())

    def _to_look_up(self) -> list[int]:
        pending = [pk for pk, watches in self.watches.items() if any(not watch.fired for watch in watches)]
        if self.listening:
            return [pk for pk in pending if pk in self.unchecked]
        return pending

    async def _listen(self) -> None:
        """Hold a connection listening on :data:`CHANNEL` for as long as the watcher runs, opening it
        again, with growing pauses, when it is lost; give up on listening (the keeper polls) for the
        rest of the process if it cannot hear what other connections announce."""
        import psycopg

        pause = RECONNECT_PAUSE
        failing = False
        while True:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(**_listen_params(), autocommit=True)
                await conn.execute(f"LISTEN {CHANNEL}")
                await self._probe(conn)
                if failing:
                    logger.info("Stop listener hears stop requests again")
                failing = False
                pause = RECONNECT_PAUSE
                self._set_listening(True)
                logger.debug("Listening for stop requests on %s", CHANNEL)
                await self._hear(conn)
            except _Deaf:
                self.owner.deaf = True
                logger.warning(
                    "The stop listener does not hear what other connections announce (is a pooler in"
                    " transaction mode between it and PostgreSQL?): this process polls for stop requests"
                )
                return
            except Exception as exc:  # lost or refused: the keeper polls meanwhile
                if not failing:
                    logger.warning(
                        "Stop listener cannot listen (%s); polling for stop requests until it can",
                        type(exc).__name__,
                    )
                failing = True
            finally:
                self._set_listening(False)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                    logger.debug("Closed the listen connection for stop requests")
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_PAUSE_MAX)

    async def _hear(self, conn: Any) -> None:
        while True:
            async for notify in conn.notifies(timeout=PROBE_AFTER):
                self._heard(notify.payload)
            try:
                await self._probe(conn)
            except _Deaf:  # it heard before: this one is lost, not deaf
                raise ConnectionError("the listen connection stopped hearing") from None

    async def _probe(self, conn: Any) -> None:
        """Announce a probe from another connection, as a stop is announced, and hear it on ``conn``:
        proves that ``conn`` is alive and hears the others. Raises :class:`_Deaf` if it does not."""
        self.probes += 1
        probe = f"{PROBE} {os.getpid()} {id(self)} {self.probes}"
        await in_thread(partial(_announce, probe))
        async for notify in conn.notifies(timeout=self.owner.probe_timeout):
            if notify.payload == probe:
                return
            self._heard(notify.payload)
        raise _Deaf

    def _heard(self, payload: str) -> None:
        if not payload.startswith(PROBE):  # every listener hears every process's probes
            pks = _parse_payload(payload)
            logger.debug("Heard stop requests for %d replies", len(pks))
            self.fire(pks, "notified")

    def _set_listening(self, listening: bool) -> None:
        if listening:
            self.unchecked.update(self.watches)
        self.listening = listening
        self.changed.set()


async def _wait(event: asyncio.Event, timeout: float) -> None:
    # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that comes as the event is set.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(timeout, 0.0)):
            await event.wait()


def _look_and_beat(check: list[int], alive: list[int]) -> list[int]:
    stopped = stops.requested(check) if check else []
    if alive:
        stops.keep_alive(alive)
    return stopped


def _can_listen() -> bool:
    # psycopg 3 listens even where Django talks to PostgreSQL through psycopg2.
    return connections[database()].vendor == "postgresql" and find_spec("psycopg") is not None


def _listen_params() -> dict[str, Any]:
    """Django's own connection parameters for the database, without what only its cursors use."""
    params = connections[database()].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT)
    params.setdefault("application_name", APPLICATION_NAME)
    return params


async_stop_watcher = AsyncStopWatcher()
