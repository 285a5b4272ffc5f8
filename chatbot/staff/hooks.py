"""Optional calls into the Stream transport, looked up when needed.

When Stream Chat is enabled, ``chatbot.transports.stream`` may offer:

* ``post_staff_message(conversation, message)``: post a staff reply into the visitor's channel;
* ``delete_channel(conversation)``: delete the conversation's channel when it is purged.

Staff replies are always stored in the database first (the builtin transport's widget polls for
them), so a missing or failing Stream hook never loses a reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from chatbot.conf import chatbot_settings

logger = logging.getLogger(__name__)


def stream_hook(name: str) -> Callable[..., Any] | None:
    """The Stream transport's function ``name``, or None when Stream is off or has no such function."""
    if not chatbot_settings.STREAM_CHAT_ENABLED:
        return None
    try:
        module = import_module("chatbot.transports.stream")
    except ImportError:
        return None
    enabled = getattr(module, "stream_enabled", None)
    if callable(enabled) and not enabled():
        return None
    hook = getattr(module, name, None)
    return hook if callable(hook) else None


def call_stream_hook(name: str, *args: Any) -> bool:
    """Call the hook if there is one; False when there was none or it failed (logged)."""
    hook = stream_hook(name)
    if hook is None:
        return False
    try:
        hook(*args)
    except Exception:
        logger.exception("Stream hook %s failed", name)
        return False
    return True
