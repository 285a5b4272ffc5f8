"""Getting Stream ready: the assistant user, and optionally the webhook registration.

``AppConfig.ready()`` only connects :func:`on_first_request` to ``request_started``: nothing runs on
import, so ``migrate`` and other management commands never touch the network. The first request a
server handles queues :func:`bootstrap_stream`, which a worker runs, so startup never waits for Stream;
a failed attempt queues the next one for later (with growing delays) where the task backend can defer.
``manage.py chatbot_bootstrap`` does the same in the foreground.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.utils import timezone

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.tasks import can_defer, task
from chatbot.transports.stream import stream_enabled
from chatbot.transports.stream.channels import ensure_assistant
from chatbot.transports.stream.client import call, get_client

logger = logging.getLogger(__name__)

DISABLED_MESSAGE = "Stream Chat is disabled or not configured"
WEBHOOK_EVENTS = ["message.new"]
#: Attempts of the start-up bootstrap, and the delay before the second one (doubled each time, to 60 s).
ATTEMPTS = 6
FIRST_DELAY = 1.0

_lock = threading.Lock()
_armed = True
_logged_disabled = False


def rearm(**kwargs: Any) -> None:
    """Settings changed (tests, or a reloaded configuration): bootstrap again on the next request."""
    global _armed
    if kwargs.get("setting") in (None, "CHATBOT"):
        with _lock:
            _armed = True


def on_first_request(**kwargs: Any) -> None:
    """``request_started`` receiver: one bootstrap per process (and per configuration)."""
    global _armed, _logged_disabled
    if not _armed:
        return
    with _lock:
        if not _armed:
            return
        _armed = False
        if not stream_enabled():
            if not _logged_disabled:
                _logged_disabled = True
                logger.info("%s; the chat uses the builtin transport.", DISABLED_MESSAGE)
            return
    try:
        bootstrap_stream.enqueue()
    except Exception as exc:  # the task queue may be down at start; a channel set up later ensures the user
        logger.warning("Could not queue the Stream bootstrap: %s", type(exc).__name__)


@task()
def bootstrap_stream(attempt: int = 1) -> bool:
    """Upsert the assistant user; when Stream fails, queue the next attempt after a growing delay."""
    if not stream_enabled():
        return False
    try:
        ensure_assistant()
    except ChatbotError as exc:
        logger.warning("Stream bootstrap attempt %s/%s failed: %s", attempt, ATTEMPTS, exc.code)
        if attempt < ATTEMPTS and can_defer():
            delay = min(FIRST_DELAY * 2 ** (attempt - 1), 60)
            bootstrap_stream.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(attempt + 1)
        return False
    logger.info("Stream Chat ready: assistant user %s", chatbot_settings.ASSISTANT_NAME)
    _sweep_once()
    return True


def _sweep_once() -> None:
    # A process that starts serving also corrects the replies a dead one left "generating" in Stream.
    from chatbot.transports.stream_relay import sweep_stale_replies

    try:
        sweep_stale_replies()
    except Exception as exc:  # the database may not be reachable yet; the next message sweeps again
        logger.warning("Stream sweep at start failed: %s", type(exc).__name__)


def register_webhook(url: str) -> tuple[bool, list[dict[str, Any]]]:
    """Add (or fix) a webhook hook for ``url`` that gets ``message.new`` only, keeping every other hook.

    Stream deletes hooks that are missing from an ``event_hooks`` update, so the current list is read
    and merged, never overwritten. Returns whether anything changed, and the resulting hooks.
    """
    client = get_client()
    current = call("get app settings", client.get_app_settings)
    app: dict[str, Any] = dict(current or {}).get("app") or {}
    hooks: list[dict[str, Any]] = list(app.get("event_hooks") or [])
    wanted = {"hook_type": "webhook", "enabled": True, "webhook_url": url, "event_types": WEBHOOK_EVENTS}
    merged: list[dict[str, Any]] = []
    found = False
    changed = False
    for hook in hooks:
        if hook.get("hook_type") == "webhook" and hook.get("webhook_url") == url:
            if found:
                changed = True  # a duplicate of ours: drop it
                continue
            found = True
            updated = {**hook, **wanted}
            changed = changed or updated != hook
            merged.append(updated)
        else:
            merged.append(hook)
    if not found:
        merged.append(wanted)
        changed = True
    if changed:
        call("update app settings", client.update_app_settings, event_hooks=merged)
    return changed, merged
