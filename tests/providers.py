"""Providers for tests, selected by dotted path like any third-party provider would be."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from chatbot.exceptions import ProviderUnavailable
from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent


class Gate:
    """Lets a test hold a reply after its first piece and see when the provider was closed."""

    def __init__(self) -> None:
        self.first_sent = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()
        self.calls: list[ChatRequest] = []


GATE = Gate()


class GatedProvider(Provider):
    """Says "Hello", waits for the test to release it, then streams 200 more words."""

    name = "gated"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        GATE.calls.append(request)
        try:
            yield Delta("Hello")
            GATE.first_sent.set()
            GATE.release.wait(timeout=30)
            for index in range(200):
                yield Delta(f" word{index}")
            yield Done()
        finally:
            GATE.closed.set()


class FailingMidwayProvider(Provider):
    """Streams a little, then the upstream goes away."""

    name = "failing"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        yield Delta("Let me check")
        yield Delta(" that for you")
        raise ProviderUnavailable("connection reset by upstream")


class RecordingProvider(Provider):
    """Answers "ok" and records every request it was given."""

    name = "recording"
    calls: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        RecordingProvider.calls.append(request)
        yield Delta("ok")
        yield Done()
