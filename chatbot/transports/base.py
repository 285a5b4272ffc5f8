"""The transport interface: how a reply reaches the visitor, and what the widget needs to receive it.

One transport is chosen from settings (:func:`chatbot.transports.get_transport`) and everything that
depends on it asks that object: the widget tag (its mode, endpoints and files), the health check,
staff replies, privacy purges and the transport's own endpoints. A message goes

    view -> :func:`chatbot.relay.begin_turn` -> :meth:`Transport.respond`
         -> :func:`chatbot.relay.relay_reply` (the provider) -> the transport writes each event

The builtin transport (:class:`chatbot.transports.builtin.BuiltinTransport`) is always served:
``POST messages`` is also the widget's fallback while another transport's client is not loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpRequest, HttpResponseBase

from chatbot.health import CheckOutcome

if TYPE_CHECKING:
    from chatbot.models import Conversation, Message
    from chatbot.relay import Turn


class Transport:
    """Base class of transports. Subclasses set ``name`` and implement :meth:`respond`; the other hooks
    have the builtin transport's answer (the database holds everything, nothing outside to tell)."""

    name: ClassVar[str] = ""
    #: What the widget runs: ``builtin`` (fetch + Server-Sent Events) or ``stream`` (Stream's client).
    widget_mode: ClassVar[str] = "builtin"
    #: Endpoints the widget needs besides the builtin ones: config key -> URL name in ``chatbot:``.
    widget_endpoints: ClassVar[dict[str, str]] = {}
    #: Static files the widget loads in this mode: config key -> static path.
    widget_assets: ClassVar[dict[str, str]] = {}

    def respond(self, request: HttpRequest, turn: Turn) -> HttpResponseBase:
        """Answer the request that stored ``turn``'s question; the reply follows through this transport."""
        raise NotImplementedError

    def post_staff_message(self, conversation: Conversation, message: Message) -> None:
        """A staff reply, already stored, is also shown wherever the visitor reads the conversation."""

    def forget(self, conversation: Conversation) -> bool:
        """Delete what the transport holds of a conversation being purged; True when it held something.
        Raise a ChatbotError when it could not: the conversation is then kept for the next purge."""
        return False

    def forget_user(self, user: Any) -> None:
        """``user`` is being deleted: once that is committed, delete what the transport holds of them."""

    def health(self) -> CheckOutcome:
        """The ``stream`` entry of ``GET health``: ``disabled`` when no outside service is involved."""
        return CheckOutcome(True, "disabled")

    @classmethod
    def system_checks(cls, conf: Any) -> list:
        """Errors in the settings this transport needs (``django.core.checks`` messages)."""
        return []
