"""Replies left "streaming" by a server process that died (killed mid-reply, out of memory, deployed
over): each new process queues a task that marks them failed, once, when it serves its first request.

A reply counts as abandoned (``chatbot.replies``) only when nothing has been heard of it for longer
than a provider may stay silent (the read timeout) plus a margin: the process streaming a reply
refreshes its ``updated`` time every few seconds (``chatbot.stops``), so a reply another live
process is still streaming is never touched, however long it runs. The relay applies the same rule
to a conversation when it is next used; this sweep makes the history right before that, for the
visitor who reloads the page and for the staff inbox. Replies in Stream channels are left to the
Stream relay's own sweep, which also corrects the message in Stream.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from chatbot.tasks import task

logger = logging.getLogger(__name__)


def sweep_interrupted_replies() -> int:
    """Mark abandoned builtin-transport replies as failed; returns how many were marked."""
    from chatbot import replies
    from chatbot.models import Message

    swept = replies.interrupt_abandoned(
        Message.objects.filter(role=Message.Role.ASSISTANT, conversation__stream_channel_id="")
    )
    if swept:
        logger.info("Marked %d interrupted replies as failed", swept)
    return swept


@task()
def sweep_interrupted() -> int:
    return sweep_interrupted_replies()


#: Seconds before a process that could not queue the sweep (the database was away) tries again.
RETRY_AFTER_FAILURE = 30.0

_lock = threading.Lock()
_state = {"done": False, "next_try": 0.0}


def on_first_request(**kwargs: Any) -> None:
    """``request_started`` receiver: queue the sweep once per process, for a worker to run; when the
    queue refused it, queue it again on a request at least ``RETRY_AFTER_FAILURE`` seconds later."""
    with _lock:
        if _state["done"] or time.monotonic() < _state["next_try"]:
            return
        _state["done"] = True
    try:
        sweep_interrupted.enqueue()
    except Exception as exc:  # the database may be down at start; the relay still catches it later
        logger.warning("Could not queue the sweep of interrupted replies: %s", type(exc).__name__)
        with _lock:
            _state["done"] = False
            _state["next_try"] = time.monotonic() + RETRY_AFTER_FAILURE
