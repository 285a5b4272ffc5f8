"""Stream user, channel and message ids: derived from the session's visitor, never from the browser.

Every id starts with ``STREAM_CHAT_ID_PREFIX``, so several shops can share one Stream app.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.utils.crypto import salted_hmac

from chatbot.conf import chatbot_settings
from chatbot.identity import Visitor
from chatbot.models import Conversation

CHANNEL_TYPE = "messaging"
_MAX_ID = 64
_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def prefix() -> str:
    value = _ID_UNSAFE.sub("-", str(chatbot_settings.STREAM_CHAT_ID_PREFIX or "shop").lower()).strip("-")
    return value[:20] or "shop"


def _bounded(value: str) -> str:
    # Stream ids are at most 64 characters of a-z, 0-9, @, _ and -; a long id keeps a readable head.
    value = _ID_UNSAFE.sub("-", value.lower())
    if len(value) <= _MAX_ID:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:24]
    return f"{value[: _MAX_ID - 25]}-{digest}"


def assistant_id() -> str:
    return _bounded(f"{prefix()}-assistant")


def visitor_user_id(visitor: Visitor) -> str:
    return _bounded(f"{prefix()}-{visitor.key}")


def staff_user_id(user: Any) -> str:
    return _bounded(f"{prefix()}-staff-{user.pk}")


def staff_id_prefix() -> str:
    """What every staff member's Stream id starts with."""
    return f"{prefix()}-staff-"


def visitor_channel_id(visitor: Visitor) -> str:
    # Derived with the site's secret, so nobody can tell a customer's channel id from their account
    # and create that channel first (see chatbot.transports.stream.ownership).
    digest = salted_hmac("chatbot.stream.channel", visitor.key, algorithm="sha256").hexdigest()[:32]
    return _bounded(f"{prefix()}-support-{digest}")


def message_id_for(public_id: Any) -> str:
    """Our own ids for the messages we write, so a retried call can never post a message twice."""
    return str(public_id)


def visitor_for(conversation: Conversation) -> Visitor:
    return Visitor(user=conversation.user, guest_id=conversation.guest_id)
