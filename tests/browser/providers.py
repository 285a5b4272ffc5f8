"""Providers for the browser tests: plug-ins selected with ``CHATBOT["PROVIDER"]``, never patches.

:class:`GatedProvider` streams the first half of its answer, then waits until the test opens
``GATE.release``, so a test can look at a reply while it is still streaming (and stop it) without
timing anything. :class:`MarkdownProvider` answers with markup a model might send, hostile parts included.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from chatbot.exceptions import ProviderUnavailable
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, ProviderEvent, Suggestions

FIRST_PART = ["Yes, ", "we have ", "**Leather Hiking Boots** ", "in stock. "]
SECOND_PART = ["They are ", "waterproof ", "and have ", "ankle support."]
FIRST_TEXT = "".join(FIRST_PART).replace("**", "")
WHOLE_TEXT = "".join(FIRST_PART + SECOND_PART).replace("**", "")
BOOTS_CARD = {
    "id": "1",
    "title": "Leather Hiking Boots",
    "url": "/catalogue/leather-hiking-boots_1/",
    "price": "GBP 129.00",
    "in_stock": True,
    "image": "",
}


class Gate:
    """Events the test and the provider share; the provider runs in the live server's thread."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        #: The provider has sent the first half and waits.
        self.waiting = threading.Event()
        #: Set by the test: send the rest.
        self.release = threading.Event()
        #: The relay has stored the reply's final state (``chatbot.signals.reply_finished``).
        self.stored = threading.Event()

    def on_reply_finished(self, sender, message, conversation, **kwargs) -> None:
        self.stored.set()


GATE = Gate()


class GatedProvider(Provider):
    name = "gated"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        gate = GATE
        yield Products([BOOTS_CARD])
        yield Suggestions(["What sizes do they come in?"])
        yield from (Delta(piece) for piece in FIRST_PART)
        gate.waiting.set()
        # Generous upper bound so a failing test cannot hang the server thread forever.
        gate.release.wait(timeout=60)
        yield from (Delta(piece) for piece in SECOND_PART)
        yield Done()


HOSTILE_REPLY = (
    "Here is what I found:\n\n"
    "- **Bold item** with [a product](/catalogue/)\n"
    "- an [external page](https://example.com/guide)\n"
    '- a [bad link](javascript:alert(1)) and <img src=x onerror="window.__pwned=1">\n\n'
    "1. first\n"
    "2. second\n\n"
    "<script>window.__pwned=2</script> The end.\n\n"
    "This paragraph was wrapped by the page it was quoted from, so its line ends are\n"
    "soft breaks.\n"
    "Short line\n"
    "Next line"
)


class MarkdownProvider(Provider):
    name = "markdown"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        for index in range(0, len(HOSTILE_REPLY), 7):
            yield Delta(HOSTILE_REPLY[index : index + 7])
        yield Done()


class DownProvider(Provider):
    """An AI backend that cannot be reached."""

    name = "down"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        raise ProviderUnavailable("connection refused (browser test)")
        yield  # pragma: no cover - makes this a generator


PLACEHOLDER_IMAGE = "/static/oscar/img/image_not_found.jpg"
SHELF = [
    {**BOOTS_CARD, "image": PLACEHOLDER_IMAGE, "price": "£129.00", "availability": "only 2 left"},
    {
        "id": "2",
        "title": "Trail Running Shoes",
        "url": "/catalogue/trail-running-shoes_2/",
        "price": "£89.00",
        "in_stock": True,
        "availability": "in stock",
        "image": "",
    },
    {
        "id": "3",
        "title": "Wool Hiking Socks",
        "url": "/catalogue/wool-hiking-socks_3/",
        "price": "£14.00",
        "in_stock": False,
        "availability": "out of stock",
        "image": "",
    },
]


class ShelfProvider(Provider):
    """Answers with three product cards: an image, a low stock, an out-of-stock product."""

    name = "shelf"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        yield Products(SHELF)
        yield Delta("Here are three for the trail.")
        yield Done()


FOLLOW_UPS = {"cheap": ["Shipping to France"], "": ["Cheaper options", "Shipping to France"]}


class FollowUpProvider(Provider):
    """Every answer ends with follow-up questions, as an LLM provider's suggestions do."""

    name = "follow-up"

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        cheap = "cheap" in request.text.lower()
        yield Delta("The Trail Running Shoes are £89.00." if cheap else "The Hiking Boots are £135.00.")
        yield Suggestions(FOLLOW_UPS["cheap" if cheap else ""])
        yield Done()
