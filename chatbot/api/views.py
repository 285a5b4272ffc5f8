"""The chat API: thin views over the identity, relay and transport modules."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from typing import Any, Literal, overload

from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot import replies
from chatbot.api.errors import BadInput, MessageTooLong, chatbot_exception_handler
from chatbot.api.parsers import BoundedJSONParser
from chatbot.api.serializers import (
    PAGE_MAX_LENGTH,
    ErrorSerializer,
    FeedbackInSerializer,
    HealthSerializer,
    HistoryOutSerializer,
    MessageInSerializer,
    StopInSerializer,
)
from chatbot.api.sessions import save_session
from chatbot.api.stream_caps import StreamClaim, claim_stream
from chatbot.api.throttling import IPRateThrottle, VisitorRateThrottle
from chatbot.asgi import streams_on_loop
from chatbot.conf import chatbot_settings
from chatbot.connections import once_more_on_a_new_connection, release_connection
from chatbot.health import run_checks
from chatbot.identity import Visitor, get_visitor
from chatbot.masking import mask_secrets
from chatbot.models import Conversation, Message
from chatbot.relay import Turn, begin_turn, committed_turn, open_conversation
from chatbot.transports.builtin import BuiltinTransport


def _schema(**kwargs: Any) -> Any:
    """``extend_schema`` bound to drf-spectacular's AutoSchema, whatever the project's DRF settings say."""

    def decorate(method: Any) -> Any:
        method.kwargs = {"schema": AutoSchema}
        return extend_schema(**kwargs)(method)

    return decorate


#: One Server-Sent Event of ``POST messages``; ``data`` is a JSON object in text.
SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["message", "delta", "done", "error"]},
        "data": {"type": "string", "description": "JSON: a message object, {text}, or {code, message}"},
    },
    "required": ["event", "data"],
}

# Bytes of JSON a chat POST may carry: room for the longest message in 4-byte characters, escaped.
_BODY_SLACK = 1024


class SessionUser(BaseAuthentication):
    """The user Django's session middleware found; CSRF is enforced by the view for everyone."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user, None
        return None


class ChatbotAPIView(APIView):
    """Session identity, CSRF on every unsafe method (guests included), the app's own error format."""

    # Without an authenticator DRF would replace the session's user with AnonymousUser.
    authentication_classes = [SessionUser]
    permission_classes: list = []
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []
    schema = AutoSchema()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The session cookie to set, once the view saved the session itself.
        self.session_cookies = SimpleCookie()

    def get_exception_handler(self) -> Any:
        return chatbot_exception_handler

    def save_session(self, request: Request, *, again: bool = False) -> None:
        """Save what this request changed in the session now (see ``chatbot.api.sessions``)."""
        self.session_cookies.update(save_session(request._request, again=again))

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.status_code < 500:
            try:
                once_more_on_a_new_connection(lambda again: self.save_session(request, again=again))
            except Exception as exc:
                # Whatever the response held (a reply about to stream) is let go, and settled.
                response.close()
                response = self.handle_exception(exc)
        response.cookies.update(self.session_cookies)
        return super().finalize_response(request, response, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not chatbot_settings.ENABLED:
            raise exceptions.NotFound()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # Refuse non-JSON bodies before the CSRF check would try to parse them as a form.
            if request.META.get("CONTENT_LENGTH") not in (None, "", "0") and not self._is_json(request):
                raise exceptions.UnsupportedMediaType(request.content_type)
            self._enforce_csrf(request)
        super().initial(request, *args, **kwargs)

    @staticmethod
    def _is_json(request: Request) -> bool:
        return request.content_type.split(";")[0].strip().lower() == "application/json"

    def _enforce_csrf(self, request: Request) -> None:
        # DRF checks CSRF for logged-in users only; a guest's chat must be protected the same way.
        check = CSRFCheck(lambda req: None)  # type: ignore[arg-type]
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
        if reason:
            exc = exceptions.PermissionDenied(f"CSRF failed: {reason}")
            exc.csrf = True  # type: ignore[attr-defined]
            raise exc

    @overload
    def visitor(self, request: Request, *, create: Literal[True] = ...) -> Visitor: ...

    @overload
    def visitor(self, request: Request, *, create: bool) -> Visitor | None: ...

    def visitor(self, request: Request, *, create: bool = True) -> Visitor | None:
        return get_visitor(request._request, create=create)

    def json_body(self, request: Request, *, max_text: int, extra: int = 0) -> Any:
        """The JSON object of the body; refused by size first, before it is parsed (``extra``: bytes
        allowed for other fields, beyond ``max_text`` characters of text)."""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            raise BadInput()
        if int(length) > max_text * 6 + _BODY_SLACK + extra:
            raise MessageTooLong()
        data = request.data
        if not isinstance(data, dict):
            raise BadInput("The request body must be a JSON object.", code="invalid")
        return data

    def message_in(self, request: Request) -> tuple[str, str]:
        """``(text, page)`` of a chat message: non-empty text within ``MAX_MESSAGE_LENGTH`` characters,
        and the path of the page the visitor is on ("" when not sent)."""
        max_length = chatbot_settings.MAX_MESSAGE_LENGTH
        # A page is a path as the browser writes it: ASCII, percent-encoded.
        serializer = MessageInSerializer(data=self.json_body(request, max_text=max_length, extra=PAGE_MAX_LENGTH))
        serializer.is_valid(raise_exception=True)
        text: str = serializer.validated_data["text"]
        if len(text) > max_length:
            raise MessageTooLong()
        return text, serializer.validated_data.get("page", "")


class MessagesView(ChatbotAPIView):
    """``GET``: the visitor's conversation (``?after=<id>``: only newer messages).
    ``POST {"text"}``: store it and stream the reply (SSE)."""

    throttle_scope = "messages"

    def get_throttles(self) -> list:
        return [VisitorRateThrottle(), IPRateThrottle()] if self.request.method == "POST" else []

    @_schema(
        parameters=[OpenApiParameter("after", str, description="Only messages after this message id")],
        responses={200: HistoryOutSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        # Only reads: on a connection lost under them they are simply read again.
        return once_more_on_a_new_connection(lambda again: self.history(request))

    def history(self, request: Request) -> Response:
        visitor = self.visitor(request, create=False)
        conversation = open_conversation(visitor, create=False) if visitor else None
        if conversation is None:
            return Response({"conversation": None, "messages": []})
        messages = (
            conversation.messages.exclude(role=Message.Role.SYSTEM).select_related("author").order_by("created", "id")
        )
        after = request.query_params.get("after")
        if after:
            # Polling for staff replies: only what came after the last message the widget has.
            try:
                pivot = conversation.messages.filter(public_id=uuid.UUID(after)).values_list("id", flat=True).first()
            except ValueError:
                raise BadInput("after must be a message id.", code="invalid") from None
            if pivot is not None:
                messages = messages.filter(id__gt=pivot)
        return Response(
            {
                "conversation": _conversation_dict(conversation),
                "messages": [message.as_dict() for message in messages],
            }
        )

    @_schema(
        request=MessageInSerializer,
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                # Before OpenAPI 3.2 the schema of an event stream describes one event.
                response=SSE_EVENT_SCHEMA,
                description="Events: message (the stored question), delta {text}..., then done or error.",
            ),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Any:
        text, page = self.message_in(request)
        # A slot among the visitor's and the address's open streams, given back when the response closes.
        claims: list[StreamClaim] = []
        # Stored under an id chosen here, so a second attempt can tell whether the first was committed.
        question_id = uuid.uuid4()

        def start(again: bool) -> Turn:
            visitor = self.visitor(request)
            if not claims:
                claims.append(claim_stream(request, visitor))
            self.save_session(request, again=again)
            turn = committed_turn(visitor, question_id, page=page) if again else None
            return turn or begin_turn(visitor, text, page=page, question_id=question_id)

        try:
            # Nothing is committed before begin_turn's transaction: a lost connection costs one more try.
            turn = once_more_on_a_new_connection(start)
        except BaseException:
            for claim in claims:
                claim.release()
            raise
        return BuiltinTransport().respond(request._request, turn, on_close=claims[0].release)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.streaming and streams_on_loop(request._request):
            # The turn is stored and the session saved: the reply streams on the event loop, and this
            # request's connection is not held for its length (the WSGI relay lets go of it itself).
            release_connection()
        return response


class FeedbackView(ChatbotAPIView):
    """``POST {"rating": "up"|"down", "comment"?}`` on one of the visitor's own assistant messages."""

    throttle_scope = "feedback"

    def get_throttles(self) -> list:
        return [VisitorRateThrottle(), IPRateThrottle()]

    @_schema(
        request=FeedbackInSerializer,
        responses={204: None, 400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request, message_id: Any) -> Response:
        serializer = FeedbackInSerializer(data=self.json_body(request, max_text=2000))
        serializer.is_valid(raise_exception=True)
        visitor = self.visitor(request, create=False)
        try:
            message_id = uuid.UUID(message_id)
        except ValueError:
            raise exceptions.NotFound() from None
        if visitor is None:
            raise exceptions.NotFound()
        message = (
            Message.objects.filter(
                public_id=message_id,
                role=Message.Role.ASSISTANT,
                kind=Message.Kind.REPLY,
                conversation__in=Conversation.objects.for_visitor(visitor),
            )
            .only("pk")
            .first()
        )
        if message is None:
            raise exceptions.NotFound()
        Message.objects.filter(pk=message.pk).update(
            rating=serializer.validated_data["rating"],
            feedback_comment=mask_secrets(serializer.validated_data.get("comment", "")),
            feedback_at=timezone.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StopView(ChatbotAPIView):
    """Stop the visitor's reply in progress, on whichever server streams it."""

    @_schema(request=StopInSerializer, responses={204: None, 400: ErrorSerializer, 403: ErrorSerializer})
    def post(self, request: Request) -> Response:
        has_body = request.META.get("CONTENT_LENGTH") not in (None, "", "0")
        data = self.json_body(request, max_text=100) if has_body else {}
        serializer = StopInSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        visitor = self.visitor(request, create=False)
        if visitor is not None:
            theirs = Message.objects.filter(conversation__in=Conversation.objects.for_visitor(visitor))
            if "messageId" in serializer.validated_data:
                theirs = theirs.filter(public_id=serializer.validated_data["messageId"])
            replies.request_stop(theirs)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthView(ChatbotAPIView):
    """``{status, timestamp, checks}``; 503 naming what failed."""

    @_schema(responses={200: HealthSerializer, 503: HealthSerializer, 404: ErrorSerializer})
    def get(self, request: Request) -> Response:
        report = run_checks()
        code = status.HTTP_200_OK if report["status"] == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status=code)


def _conversation_dict(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": str(conversation.public_id),
        "state": conversation.state,
        "created": conversation.created.isoformat(),
    }
