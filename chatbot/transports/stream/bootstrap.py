"""Getting Stream ready: the assistant user, and optionally the webhook registration.

``AppConfig.ready()`` only connects :func:`on_first_request` to ``request_started``: nothing runs on
import, so ``migrate`` and other management commands never touch the network. The first request a
server handles starts the upsert on a daemon thread, with retries, so startup never waits for Stream.
``manage.py chatbot_bootstrap`` does the same in the foreground.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from chatbot.conf import chatbot_settings
from chatbot.exceptions import ChatbotError
from chatbot.transports.stream import stream_enabled
from chatbot.transports.stream.channels import ensure_assistant
from chatbot.transports.stream.client import call, get_client

logger = logging.getLogger(__name__)

DISABLED_MESSAGE = "Stream Chat is disabled or not configured"
WEBHOOK_EVENTS = ["message.new"]

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
    threading.Thread(target=bootstrap_with_retries, name="chatbot-stream-bootstrap", daemon=True).start()


def bootstrap_with_retries(attempts: int = 6, first_delay: float = 1.0) -> bool:
    delay = first_delay
    for attempt in range(1, attempts + 1):
        if not stream_enabled():
            return False
        try:
            ensure_assistant()
        except ChatbotError as exc:
            logger.warning("Stream bootstrap attempt %s/%s failed: %s", attempt, attempts, exc.code)
            if attempt < attempts:
                time.sleep(delay)
                delay = min(delay * 2, 60)
            continue
        logger.info("Stream Chat ready: assistant user %s", chatbot_settings.ASSISTANT_NAME)
        _sweep_once()
        return True
    return False


def _sweep_once() -> None:
    # A process that starts serving also corrects the replies a dead one left "generating" in Stream.
    from django.db import connection

    from chatbot.transports.stream_relay import sweep_stale_replies

    try:
        sweep_stale_replies()
    except Exception as exc:  # the database may not be reachable yet; the next message sweeps again
        logger.warning("Stream sweep at start failed: %s", type(exc).__name__)
    finally:
        connection.close()


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
