"""``GET``/``POST handoff``: what a visitor waiting for a person sees, and the email a guest leaves."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from chatbot.api.errors import BadInput
from chatbot.api.serializers import ContactEmailInSerializer, ErrorSerializer, WaitingOutSerializer
from chatbot.api.throttling import IPRateThrottle, VisitorRateThrottle
from chatbot.api.views import ChatbotAPIView, _schema
from chatbot.exceptions import ChatbotError
from chatbot.models import Conversation
from chatbot.relay import open_conversation
from chatbot.waiting import WITH_PEOPLE, waiting_status


class NotWaiting(ChatbotError):
    code = "not_waiting"
    default_message = _("This conversation is not waiting for a person.")
    status = 409


def _language(request: Request) -> str:
    """The widget's language (``?lang=``, the one the visitor writes in), if the site has it."""
    wanted = request.query_params.get("lang") or ""
    if wanted:
        try:
            variant = translation.get_supported_language_variant(wanted)
        except LookupError:
            variant = ""
        if variant and variant in dict(settings.LANGUAGES):
            return variant
    return translation.get_language() or settings.LANGUAGE_CODE


class HandoffView(ChatbotAPIView):
    """``GET``: the header for the visitor's conversation. ``POST {"email"}``: where a guest wants the
    reply, stored on their own conversation (found from the session, never from the body)."""

    throttle_scope = "handoff"

    def get_throttles(self) -> list:
        return [VisitorRateThrottle(), IPRateThrottle()] if self.request.method == "POST" else []

    def _conversation(self, request: Request) -> Conversation | None:
        visitor = self.visitor(request, create=False)
        return open_conversation(visitor, create=False) if visitor else None

    @_schema(responses={200: WaitingOutSerializer, 404: ErrorSerializer})
    def get(self, request: Request) -> Response:
        with translation.override(_language(request)):
            return Response(waiting_status(self._conversation(request)))

    @_schema(
        request=ContactEmailInSerializer,
        responses={200: WaitingOutSerializer, **{code: ErrorSerializer for code in (400, 403, 404, 409, 429)}},
    )
    def post(self, request: Request) -> Response:
        serializer = ContactEmailInSerializer(data=self.json_body(request, max_text=254))
        with translation.override(_language(request)):
            if not serializer.is_valid():
                raise BadInput(_("Please enter a valid email address."), code="invalid_email")
            conversation = self._conversation(request)
            if conversation is None or conversation.state not in WITH_PEOPLE:
                raise NotWaiting()
            if conversation.user_id is not None:
                # A signed-in customer is answered at their account's address.
                raise exceptions.PermissionDenied()
            conversation.contact_email = serializer.validated_data["email"]
            conversation.save(update_fields=["contact_email", "updated"])
            return Response(waiting_status(conversation))
