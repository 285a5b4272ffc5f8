"""Building a provider's ChatRequest from real rows, and collecting what the provider yields."""

from __future__ import annotations

import uuid
from typing import Any

from chatbot.identity import Visitor
from chatbot.models import Conversation
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, Suggestions
from chatbot.shop.base import ShopAdapter


def chat_request(
    text: str,
    *,
    user: Any = None,
    shop: ShopAdapter | None = None,
    conversation: Conversation | None = None,
    history: list[tuple[str, str]] | None = None,
) -> ChatRequest:
    visitor = Visitor(user=user, guest_id="" if user else uuid.uuid4().hex)
    if conversation is None:
        conversation = Conversation.objects.create(user=user, guest_id=visitor.guest_id)
    return ChatRequest(
        text=text,
        visitor=visitor,
        conversation=conversation,
        shop=shop or ShopAdapter(),
        history=history or [],
        state=dict(conversation.provider_state),
    )


class Collected:
    def __init__(self, events: list[Any]):
        self.events = events

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, Delta))

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Delta)]

    @property
    def done(self) -> Done | None:
        last = self.events[-1] if self.events else None
        return last if isinstance(last, Done) else None

    @property
    def suggestions(self) -> list[str]:
        return [item for e in self.events if isinstance(e, Suggestions) for item in e.items]

    @property
    def products(self) -> list[dict]:
        return [item for e in self.events if isinstance(e, Products) for item in e.items]


def collect(provider: Provider, request: ChatRequest) -> Collected:
    return Collected(list(provider.stream(request)))


def collect_until_error(provider: Provider, request: ChatRequest) -> tuple[list[Any], Exception | None]:
    """Everything yielded before the provider raised, and the error."""
    events: list[Any] = []
    try:
        for event in provider.stream(request):
            events.append(event)
    except Exception as exc:
        return events, exc
    return events, None
