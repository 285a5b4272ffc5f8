"""Whether a Stream channel that answers to one of our ids is really ours.

Creating a channel is get-or-create: if someone else made a channel with that id first (a visitor's
client may create channels unless the app's permissions forbid it), Stream returns theirs, with them
in it. Channel ids are unguessable (``chatbot.transports.stream.ids.visitor_channel_id``), and a channel
is used only when the assistant created it and no one but the visitor and the assistant is a member,
so a visitor's messages and the assistant's answers (with the customer's orders) never go to a
channel anyone else can read.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

from chatbot.exceptions import ChatbotError

logger = logging.getLogger(__name__)


class StreamChannelNotOurs(ChatbotError):
    """The channel with the visitor's id was created by someone else, or has other members."""

    code = "stream_channel_conflict"
    default_message = _("The live chat service is unavailable right now. Please try again in a moment.")
    status = 503


def _member_ids(response: dict[str, Any]) -> set[str]:
    ids = set()
    for member in response.get("members") or []:
        if isinstance(member, dict):
            ids.add(str(member.get("user_id") or (member.get("user") or {}).get("id") or ""))
    return ids


def check_ours(response: Any, channel_id: str, *, creator: str, members: set[str], staff_prefix: str) -> None:
    """Raise StreamChannelNotOurs unless the channel in ``response`` (Stream's answer to get-or-create)
    was created by ``creator`` and has no member outside ``members`` and the shop's staff users (ids
    starting with ``staff_prefix``: only the server makes users, so only staff replies add those)."""
    data: dict[str, Any] = response if isinstance(response, dict) else {}
    channel: dict[str, Any] = data["channel"] if isinstance(data.get("channel"), dict) else {}
    created_by: dict[str, Any] = channel["created_by"] if isinstance(channel.get("created_by"), dict) else {}
    strangers = {m for m in _member_ids(data) - members if not m.startswith(staff_prefix)}
    if created_by.get("id") != creator or strangers:
        # Fail closed: never post into it. The visitor sees that live chat is unavailable.
        logger.error(
            "Stream channel %s was not created by the assistant (creator %r, %d other members); not used",
            channel_id,
            created_by.get("id"),
            len(strangers),
        )
        raise StreamChannelNotOurs(f"channel {channel_id} is not ours")
