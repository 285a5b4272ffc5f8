"""Recognising a request for a human, before any provider is called, so it works with every provider."""

from __future__ import annotations

import re

from django.utils import timezone

# Phrases in English and Chinese; matched on the whole message, case-insensitively.
_HUMAN_PATTERNS = [
    r"\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s*one|somebody|the\s+)?"
    r"(human|person|people|agent|staff|someone|somebody|representative|real person|operator)\b",
    r"\b(human|live)\s+(agent|support|person|help|chat)\b",
    r"\b(real|actual)\s+(person|human)\b",
    r"\bcustomer\s+(service|support)\s+(agent|person|representative)\b",
    r"^\s*(agent|human|operator|representative)\s*[.!?]*\s*$",
    r"\bconnect me\b.*\b(agent|human|person|staff)\b",
    r"转人工",
    r"人工客服",
    r"人工服务",
    r"找人工",
    r"真人",
    r"客服人员",
]
_HUMAN = re.compile("|".join(f"(?:{p})" for p in _HUMAN_PATTERNS), re.IGNORECASE)


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN.search(text))


def request_handoff(conversation) -> bool:
    """Put the conversation in the staff queue; False when it already was there."""
    from chatbot.models import Conversation
    from chatbot.signals import handoff_requested

    if conversation.state in (Conversation.State.WAITING, Conversation.State.STAFF):
        return False
    conversation.state = Conversation.State.WAITING
    conversation.handoff_requested_at = timezone.now()
    conversation.save(update_fields=["state", "handoff_requested_at", "updated"])
    handoff_requested.send(sender=Conversation, conversation=conversation)
    return True
