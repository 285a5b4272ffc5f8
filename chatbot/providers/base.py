"""The provider interface: a provider turns one visitor message into a stream of events.

A provider is a :class:`Provider` whose ``stream(request)`` (and, for the event loop,
``astream(request)``) yields :class:`Delta`,
:class:`Suggestions`, :class:`Products` and finally :class:`Done`; failures are raised as
:class:`chatbot.exceptions.ProviderError` subclasses. The relay closes the generator when the
visitor stops or disconnects. A provider that streams from an HTTP service subclasses
:class:`chatbot.providers.http.HTTPProvider`, which opens, reads and closes the upstream stream:
the provider only builds the request and maps the events.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage

from chatbot.exceptions import ProviderError

if TYPE_CHECKING:
    from chatbot.identity import Visitor
    from chatbot.models import Conversation
    from chatbot.shop.base import ProductInfo, ShopAdapter


@dataclass(frozen=True)
class Delta:
    """The next piece of the reply's text."""

    text: str


@dataclass(frozen=True)
class Suggestions:
    """Follow-up questions the widget may offer as buttons."""

    items: list[str]


@dataclass(frozen=True)
class Products:
    """Products the reply talks about, shown as cards: dicts from ``ShopAdapter.card()``."""

    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Done:
    """The reply is complete."""

    usage: dict[str, Any] | None = None


ProviderEvent = Delta | Suggestions | Products | Done


@dataclass
class ChatRequest:
    """Everything a provider may use to answer one message."""

    text: str
    visitor: Visitor
    conversation: Conversation
    shop: ShopAdapter
    #: (role, text) pairs of the earlier turns, oldest first, secrets already masked.
    history: list[tuple[str, str]] = field(default_factory=list)
    #: "zh-hans" when the visitor writes Chinese, else the active language.
    language: str = "en"
    #: The provider's own state for this conversation (e.g. the upstream conversation id);
    #: changes are saved by the relay when the reply ends.
    state: dict[str, Any] = field(default_factory=dict)
    #: The product whose page the visitor asked from: what "this one" means.
    page_product: ProductInfo | None = None


def with_page_note(request: ChatRequest) -> str:
    """The visitor's text, preceded by :func:`page_note` in brackets for services that take no system
    prompt from us (Coze, chatbot-node)."""
    note = page_note(request)
    return f"[{note}]\n{request.text}" if note else request.text


def page_note(request: ChatRequest) -> str:
    """One line telling a language model which product the visitor is looking at ("" when none), so
    "is this one waterproof?" means that product with every provider."""
    product = request.page_product
    if product is None:
        return ""
    price = request.shop.price_text(product)
    facts = ", ".join(x for x in (price, product.availability()) if x)
    return (
        f'The customer is on the page of the product "{product.title}" ({facts}; id {product.id}; {product.url}): '
        'words like "this", "it", "这个" mean this product.'
    )


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    #: For the log and ``chatbot_check`` only: it may quote the upstream's answer.
    detail: str = ""
    #: What the public health endpoint says when not ok (an error code such as ``upstream_auth``).
    code: str = ""


class Provider:
    """Base class of AI providers: the whole interface the relay, the health check, the system checks
    and the management commands use, each with a safe default. Subclasses set ``name`` and implement
    :meth:`stream`; a provider with a remote service also implements :meth:`check_health`,
    :meth:`describe`, :meth:`is_configured` and :meth:`system_checks`."""

    name = "base"

    def __init__(self, options: Any):
        #: The merged chatbot settings (``chatbot.conf.chatbot_settings``).
        self.options = options

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        """The reply to ``request``. The caller closes the generator when the visitor stops or leaves."""
        raise NotImplementedError

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        """The reply to ``request`` for the event loop (``POST messages`` under an ASGI server).

        This default steps :meth:`stream` in one worker thread for the whole reply, which suits a
        provider whose work is the database (the local assistant). A provider that talks to a remote
        service overrides it to read the service with an asyncio HTTP client, so that no thread waits
        on the network. The caller closes (or cancels) the iterator when the visitor stops or leaves;
        the upstream request must end then."""
        from chatbot.aio import iterate_in_thread

        async for event in iterate_in_thread(lambda: self.stream(request)):
            yield event

    def health(self) -> HealthResult:
        """Whether the provider is configured and answers; used by /health and chatbot_check."""
        try:
            return self.check_health()
        except ProviderError as exc:
            return HealthResult(ok=False, detail=f"{self.name}: {exc.code}: {exc.detail}", code=exc.code)

    def check_health(self) -> HealthResult:
        """Ask the remote service whether it answers; raise a ProviderError when it does not."""
        return HealthResult(ok=True, detail="no remote service")

    def describe(self) -> dict[str, Any]:
        """What is configured, without secrets, for chatbot_check."""
        return {"provider": self.name}

    def close(self) -> None:
        """Release what the provider holds (connections); called when it is no longer used."""

    @classmethod
    def is_configured(cls, conf: Any) -> bool:
        """Whether ``conf`` sets this provider up, so chatbot_check reports on it even when another
        provider is in use."""
        return False

    @classmethod
    def system_checks(cls, conf: Any) -> list[CheckMessage]:
        """Django system check messages (errors with ids and hints) for this provider's settings."""
        return []
