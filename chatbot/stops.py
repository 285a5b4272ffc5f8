"""Stopping a reply that may be streaming on another server.

``POST stop`` marks the message in the database. Each process runs one watcher thread that, only while
that process has replies streaming, looks up which of them were asked to stop and sets their events;
a stop that lands on the streaming process itself is seen at once. One query per interval per process,
not per reply, and no database connection held while nothing streams.

The same thread keeps the replies alive in the database: every ``heartbeat_interval()`` it refreshes
their ``updated`` time, so a reply that streams for minutes is never taken for one a dead process left
(``chatbot.replies.abandoned_before``).

Replies that stream on an event loop (the ASGI path) are watched by
``chatbot.astops.async_stop_watcher`` instead, which on PostgreSQL hears stop requests as they commit
rather than polling for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

from chatbot import replies
from chatbot.conf import chatbot_settings
from chatbot.connections import drop_connection

logger = logging.getLogger(__name__)

#: Polls between two heartbeats (10 s at the default interval).
HEARTBEAT_POLLS = 40


def heartbeat_interval() -> float:
    """Seconds between heartbeats: well inside the time after which a silent reply counts as abandoned."""
    return min(HEARTBEAT_POLLS * float(chatbot_settings.STOP_POLL_INTERVAL), replies.abandoned_after() / 3)


def requested(pks: list[int]) -> list[int]:
    """Those of ``pks`` asked to stop."""
    from chatbot.models import Message

    return list(Message.objects.filter(pk__in=pks, stop_requested=True).values_list("pk", flat=True))


def keep_alive(pks: list[int]) -> None:
    """Refresh the ``updated`` time of those of ``pks`` still streaming, in one UPDATE."""
    from chatbot.models import Message

    Message.objects.filter(pk__in=pks, status=Message.Status.STREAMING).update(updated=timezone.now())


class StopWatcher:
    def __init__(self) -> None:
        self._events: dict[int, threading.Event] = {}
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, message_pk: int) -> Iterator[threading.Event]:
        event = threading.Event()
        with self._lock:
            self._events[message_pk] = event
            self._ensure_thread()
            if len(self._events) == 1:
                # Wake the watcher only from its idle wait: waking it for every new reply made it poll
                # once per message under load instead of once per interval.
                self._lock.notify()
        try:
            yield event
        finally:
            with self._lock:
                self._events.pop(message_pk, None)

    def stop_here(self, message_pks: list[int]) -> None:
        """Stop replies streaming in this process right away."""
        with self._lock:
            for pk in message_pks:
                event = self._events.get(pk)
                if event is not None:
                    event.set()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="chatbot-stop-watcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        last_beat = 0.0
        failing = False
        while True:
            with self._lock:
                while not self._events:
                    # Nothing streams: give the connection back before sleeping.
                    drop_connection()
                    self._lock.wait()
                self._lock.wait(timeout=chatbot_settings.STOP_POLL_INTERVAL)
                # After the wait, so replies that started during it are looked up in this round.
                pks = list(self._events)
            if not pks:
                continue
            try:
                self.stop_here(requested(pks))
                if time.monotonic() - last_beat >= heartbeat_interval():
                    keep_alive(pks)
                    last_beat = time.monotonic()
            except Exception as exc:  # a dropped connection: reconnect on the next round
                # Said once per outage, not every interval while the database is away.
                if not failing:
                    logger.warning("Stop watcher could not read stop requests: %s", type(exc).__name__)
                failing = True
                drop_connection()
            else:
                if failing:
                    logger.info("Stop watcher reads stop requests again")
                failing = False


stop_watcher = StopWatcher()
