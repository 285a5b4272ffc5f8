"""The events one chat message answers with, as a closable iterator a transport hands to the server.

A server closes a response whose visitor has gone. When that happens before the relay has started
(the visitor left while the question was being stored, or the first write failed), closing a plain
generator runs none of its code, and the reply row created by ``begin_turn`` would stay "streaming"
until a sweep found it much later. Closing a :class:`ReplyEvents` settles it at once: stopped, empty.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, cast

from chatbot import replies
from chatbot.connections import CONNECTION_ERRORS
from chatbot.models import Message
from chatbot.relay import Turn, relay_reply

logger = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


class ReplyEvents(Iterator[Event]):
    """``first`` (e.g. the stored question), then what :func:`chatbot.relay.relay_reply` yields."""

    def __init__(self, turn: Turn, first: Iterable[Event] = (), on_close: Callable[[], None] | None = None) -> None:
        self.turn = turn
        # relay_reply is a generator: its state tells whether it ever ran.
        self._relay = cast(Generator[Event, None, None], relay_reply(turn))
        self._events = itertools.chain(first, self._relay)
        self._on_close = on_close
        self._closed = False

    def __iter__(self) -> ReplyEvents:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        started = inspect.getgeneratorstate(self._relay) != inspect.GEN_CREATED
        try:
            # First, so that once the reply is seen settled, whatever on_close frees is free.
            if self._on_close is not None:
                self._on_close()
        finally:
            # A started relay settles its own reply when closed (stopped, with what was said so far).
            self._relay.close()
            if not started:
                settle_unstarted(self.turn)


def settle_unstarted(turn: Turn) -> None:
    """Mark the turn's reply stopped if nothing ever ran it."""
    if turn.reply is None:
        return
    try:
        replies.stop_unstarted(turn.reply)
    except CONNECTION_ERRORS as exc:
        logger.warning("Could not settle reply %s yet: %s", turn.reply.pk, type(exc).__name__)
        replies.set_final(turn.reply, text="", status=Message.Status.STOPPED)
        replies.store_final_later(turn.reply)
