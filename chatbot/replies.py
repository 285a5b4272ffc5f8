"""An assistant reply's life: its states, and the only ways it moves between them.

A reply is created "streaming" with its question (``chatbot.relay.begin_turn``) and leaves that state
once, for good:

* :func:`store_final`: the relay finished it: ``done``, ``stopped`` (the visitor stopped it or left)
  or ``error`` (with its code), with the text produced so far;
* :func:`stop_unstarted`: nothing ever ran it (the visitor left before the reply started): ``stopped``;
* :func:`fail`: the transport never took the question (Stream refused it): ``error``;
* :func:`interrupt_abandoned`: not seen alive for :func:`abandoned_after` seconds (the process
  streaming it died): ``error`` / ``interrupted``. The process streaming a reply refreshes its
  ``updated`` time (``chatbot.stops``), so a live reply is never taken for an abandoned one.

Every transition but the relay's own is conditional on the reply still streaming, so two servers never
settle one reply twice. A final state the database refused (it went away for longer than the relay
retries) is kept by :func:`store_final_later` and stored by a background thread once the database
answers again, so the visitor's conversation is not blocked until the sweep. Stopping is a request,
not a transition (:func:`request_stop`): the process streaming the reply sees it and finishes the
reply as stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chatbot import astops, stops
from chatbot.conf import chatbot_settings
from chatbot.connections import drop_connection
from chatbot.models import Message

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted"

#: How many suggestions and products a stored reply keeps.
KEPT_ITEMS = 6


def abandoned_after() -> float:
    """Seconds without a sign of life after which a streaming reply counts as abandoned."""
    return float(chatbot_settings.READ_TIMEOUT) + 30


def abandoned_before() -> Any:
    """Streaming replies last seen alive (``updated``) before this time are abandoned."""
    return timezone.now() - timedelta(seconds=abandoned_after())


def set_final(
    reply: Message,
    *,
    text: str,
    status: str,
    error_code: str = "",
    suggestions: list[str] | None = None,
    products: list[dict[str, Any]] | None = None,
) -> None:
    """Give ``reply`` its final state in memory; :func:`store_final` writes it."""
    reply.text = text
    reply.status = status
    reply.error_code = error_code
    reply.suggestions = list(suggestions or [])[:KEPT_ITEMS]
    reply.products = list(products or [])[:KEPT_ITEMS]


def store_final(reply: Message) -> None:
    reply.save(update_fields=["text", "status", "error_code", "suggestions", "products", "updated"])


def _streaming(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.filter(status=Message.Status.STREAMING)


def stop_unstarted(reply: Message) -> None:
    """Nothing ever ran ``reply``: it is stopped, empty."""
    _streaming(Message.objects.filter(pk=reply.pk)).update(status=Message.Status.STOPPED, updated=timezone.now())


def fail(messages: QuerySet[Message], code: str) -> int:
    """The streaming ``messages`` will never be written: they failed with ``code``."""
    return _streaming(messages).update(status=Message.Status.ERROR, error_code=code, updated=timezone.now())


def abandoned(messages: QuerySet[Message]) -> QuerySet[Message]:
    """Those of ``messages`` that are streaming and were last seen alive too long ago."""
    return _streaming(messages).filter(updated__lt=abandoned_before())


def interrupt_abandoned(messages: QuerySet[Message]) -> int:
    """Mark the abandoned ones of ``messages`` interrupted; returns how many."""
    return fail(abandoned(messages), INTERRUPTED)


def request_stop(messages: QuerySet[Message]) -> list[int]:
    """Ask the server streaming any of ``messages`` to stop it; a reply streaming here stops at once.

    The mark and its announcement (``chatbot.astops``) commit together: a server listening hears of
    the stop only once the mark is there to be found, and a mark is never left unannounced.
    """
    with transaction.atomic(using=astops.database()):
        pks = list(_streaming(messages).values_list("pk", flat=True))
        Message.objects.filter(pk__in=pks).update(stop_requested=True)
        astops.announce_stop(pks)
    stops.stop_watcher.stop_here(pks)
    astops.async_stop_watcher.stop_here(pks)
    return pks


def store_final_later(reply: Message) -> None:
    """Store ``reply``'s final state (set in memory) as soon as the database answers again, unless the
    reply was settled meanwhile (the sweep, after :func:`abandoned_after`)."""
    _late.add(reply)


class _LateFinalStates:
    """Final states waiting for the database, and the one thread per process that stores them."""

    def __init__(self) -> None:
        self._pending: dict[int, tuple[Message, float]] = {}
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, reply: Message) -> None:
        with self._lock:
            self._pending[reply.pk] = (reply, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="chatbot-late-replies", daemon=True)
                self._thread.start()
            self._lock.notify()

    def _run(self) -> None:
        pause = 0.5
        while True:
            with self._lock:
                while not self._pending:
                    drop_connection()
                    self._lock.wait()
                waiting = list(self._pending.values())
            try:
                for reply, since in waiting:
                    if time.monotonic() - since < abandoned_after():
                        _streaming(Message.objects.filter(pk=reply.pk)).update(
                            text=reply.text,
                            status=reply.status,
                            error_code=reply.error_code,
                            suggestions=reply.suggestions,
                            products=reply.products,
                            updated=timezone.now(),
                        )
                    with self._lock:
                        self._pending.pop(reply.pk, None)
                pause = 0.5
            except Exception as exc:  # the database is still away: try again, less often
                logger.info("Replies waiting to be stored: %d (%s)", len(waiting), type(exc).__name__)
                drop_connection()
                time.sleep(pause)
                pause = min(pause * 2, 10.0)


_late = _LateFinalStates()
