"""Providers for the staff-side tests, selected with ``CHATBOT["PROVIDER"]`` (never patched in).

:class:`RecordingProvider` remembers every request it was asked to answer, so a test can prove that a
conversation waiting for staff never reached the AI. ``REPLY`` and ``FAIL`` steer its next answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatbot.exceptions import ProviderUnavailable
from chatbot.providers.base import ChatRequest, Delta, Done, Provider, ProviderEvent


class Recorder:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls: list[ChatRequest] = []
        self.reply = "Happy to help with that."
        self.fail = False

    @property
    def texts(self) -> list[str]:
        return [request.text for request in self.calls]


RECORDER = Recorder()


class RecordingProvider(Provider):
    name = "recording"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        RECORDER.calls.append(request)
        if RECORDER.fail:
            raise ProviderUnavailable("the test asked for a failure")
        yield Delta(RECORDER.reply)
        yield Done()
