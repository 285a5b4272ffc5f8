"""What staff do to a conversation: reply, hand it back to the assistant, close it.

Every action stores its result in the database, which is what the widget reads (it polls
``GET messages?after=`` while a conversation waits for or talks with staff); the chosen transport
then shows a reply wherever else the visitor reads the conversation (their Stream channel).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from chatbot.models import Conversation, Message
from chatbot.transports import get_transport

logger = logging.getLogger(__name__)


def _display(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "staff"


@transaction.atomic
def staff_reply(conversation: Conversation, author: Any, text: str) -> Message:
    """Store a staff message; the conversation is now with staff, assigned to ``author``."""
    text = text.strip()
    if not text:
        raise ValueError("A reply needs some text.")
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    message = Message.objects.create(conversation=conversation, role=Message.Role.STAFF, text=text, author=author)
    conversation.state = Conversation.State.STAFF
    conversation.assigned_to = author
    conversation.save(update_fields=["state", "assigned_to", "updated"])
    transaction.on_commit(lambda: _post_to_transport(conversation, message))
    return message


def _post_to_transport(conversation: Conversation, message: Message) -> None:
    transport = get_transport()
    try:
        transport.post_staff_message(conversation, message)
    except Exception:
        # The reply is stored and the widget's polling shows it; the transport's copy is the extra.
        logger.exception("The %s transport could not post staff message %s", transport.name, message.pk)


def _set_state(conversation: Conversation, state: str, author: Any, note: str) -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation.state = state
        conversation.save(update_fields=["state", "updated"])
        # A system message keeps the audit trail in the transcript; the visitor's API never lists it.
        Message.objects.create(conversation=conversation, role=Message.Role.SYSTEM, text=note, author=author)
    return conversation


def hand_back(conversation: Conversation, author: Any) -> Conversation:
    """The assistant answers the visitor's next messages again."""
    return _set_state(
        conversation, Conversation.State.BOT, author, f"Handed back to the assistant by {_display(author)}."
    )


def close(conversation: Conversation, author: Any) -> Conversation:
    """Close the conversation; the visitor's next message starts a new one."""
    return _set_state(conversation, Conversation.State.CLOSED, author, f"Closed by {_display(author)}.")
