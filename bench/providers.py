"""Providers for the throughput benchmark, selected by dotted path like any plug-in provider."""

from __future__ import annotations

from collections.abc import Iterator

from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent


class InstantProvider(Provider):
    """Answers "ok" at once: what remains of a message POST is the chat API's own cost."""

    name = "instant"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        yield Delta("ok")
        yield Done()
