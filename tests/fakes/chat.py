"""Building a provider's ChatRequest from real rows, and collecting what the provider yields."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

from chatbot.identity import Visitor
from chatbot.models import Conversation
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, Suggestions
from chatbot.providers.http import HTTPProvider
from chatbot.shop.base import ShopAdapter

T = TypeVar("T")


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


def arun(provider: Provider, work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` on a new event loop, as an ASGI server runs a reply; the provider's session on that
    loop is closed afterwards."""

    async def run() -> T:
        try:
            return await work()
        finally:
            if isinstance(provider, HTTPProvider):
                await provider.aclose()

    return asyncio.run(run())


def acollect(provider: Provider, request: ChatRequest) -> Collected:
    """What ``provider.astream(request)`` yields, read on an event loop."""

    async def read() -> list[Any]:
        async with aclosing(provider.astream(request)) as events:  # type: ignore[type-var]
            return [event async for event in events]

    return Collected(arun(provider, read))


def acollect_until_error(provider: Provider, request: ChatRequest) -> tuple[list[Any], Exception | None]:
    """Everything ``astream`` yielded before it raised, and the error."""

    async def read() -> tuple[list[Any], Exception | None]:
        got: list[Any] = []
        try:
            async with aclosing(provider.astream(request)) as events:  # type: ignore[type-var]
                async for event in events:
                    got.append(event)
        except Exception as exc:
            return got, exc
        return got, None

    return arun(provider, read)
