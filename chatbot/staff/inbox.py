"""What the inbox shows: conversations by state, newest first, and one conversation in full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from chatbot.models import CannedReply, Conversation, Message
from chatbot.shop import get_shop
from chatbot.shop.base import OrderInfo
from chatbot.staff.live import resume_after

STATES = [value for value, _label in Conversation.State.choices]


def conversations(state: str | None = None) -> QuerySet[Conversation]:
    queryset = Conversation.objects.select_related("user", "assigned_to").annotate(message_count=Count("messages"))
    if state in STATES:
        queryset = queryset.filter(state=state)
    return queryset.order_by("-updated", "-id")


def counts_by_state() -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for row in Conversation.objects.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


def visitor_label(conversation: Conversation) -> str:
    """The visitor's name; a guest with the email they left for the reply: "Guest 1a2b3c4d <bo@example.com>"."""
    if conversation.user_id is None and conversation.contact_email:
        return f"{conversation.visitor_name} <{conversation.contact_email}>"
    return conversation.visitor_name


@dataclass
class ConversationDetail:
    conversation: Conversation
    visitor: str
    messages: list[Message]
    orders: list[OrderInfo]
    orders_error: str = ""

    @property
    def after(self) -> int:
        """Where the page's live updates start (``chatbot.staff.live``)."""
        return resume_after(self.messages)


def detail(conversation: Conversation, *, order_limit: int = 10) -> ConversationDetail:
    """The transcript (system notes included) and the visitor's own orders through the shop adapter."""
    messages = list(conversation.messages.select_related("author").order_by("created", "id"))
    orders: list[OrderInfo] = []
    error = ""
    if conversation.user is not None:
        try:
            orders = get_shop().orders_for(conversation.user, limit=order_limit)
        except Exception as exc:  # The transcript must still show when the shop is misbehaving.
            error = f"Orders could not be loaded: {exc.__class__.__name__}"
    return ConversationDetail(conversation, visitor_label(conversation), messages, orders, error)


def state_tabs(current: str | None) -> list[dict[str, Any]]:
    counts = counts_by_state()
    labels = dict(Conversation.State.choices)
    return [
        {"value": value, "label": labels[value], "count": counts[value], "active": value == current} for value in STATES
    ]


def canned_replies(user: Any) -> list[CannedReply]:
    """The saved answers ``user`` may insert into a reply (needs "view canned reply")."""
    if not user.has_perm("chatbot.view_cannedreply"):
        return []
    return list(CannedReply.objects.all())
