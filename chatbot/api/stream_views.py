"""The Stream Chat endpoints the widget calls: a session-bound token, and posting the visitor's text."""

from __future__ import annotations

import datetime
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from chatbot.api.serializers import (
    ErrorSerializer,
    MessageInSerializer,
    StreamMessageOutSerializer,
    StreamTokenOutSerializer,
)
from chatbot.api.throttling import IPRateThrottle, VisitorRateThrottle
from chatbot.api.views import ChatbotAPIView, _schema
from chatbot.conf import chatbot_settings
from chatbot.identity import Visitor
from chatbot.relay import begin_turn, open_conversation
from chatbot.transports.stream import StreamDisabled, StreamRateLimited, active_transport
from chatbot.transports.stream.channels import (
    ensure_channel,
    known_channel,
    remember_channel,
    upsert_user,
    visitor_token,
    visitor_user,
)
from chatbot.transports.stream.ids import CHANNEL_TYPE, visitor_user_id
from chatbot.transports.stream_relay import sweep_stale_replies


class StreamAPIView(ChatbotAPIView):
    """503 with a reason when Stream is off or down; a ``Retry-After`` when it is rate limited."""

    def get_throttles(self) -> list:
        return [VisitorRateThrottle(), IPRateThrottle()]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        active_transport()

    def session_visitor(self, request: Request) -> Visitor:
        visitor = self.visitor(request, create=True)
        if visitor is None:  # create=True always gives one; this keeps the type honest
            raise StreamDisabled()
        return visitor

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, StreamRateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response


class StreamTokenView(StreamAPIView):
    """``POST``: a Stream token for the session's visitor. The body (``userId``, ``userRole``) is ignored:
    identity comes from the session only."""

    throttle_scope = "stream_token"

    @_schema(
        request=None,
        responses={200: StreamTokenOutSerializer, **{code: ErrorSerializer for code in (403, 404, 415, 429, 502, 503)}},
    )
    def post(self, request: Request) -> Response:
        visitor = self.session_visitor(request)
        # A returning visitor: their channel and Stream user are known, from the cache alone.
        channel_id = known_channel(visitor)
        if channel_id is None:
            conversation = open_conversation(visitor, create=True)
            upsert_user(visitor_user(visitor))
            channel_id = ensure_channel(conversation, visitor)
            remember_channel(channel_id)
        token, expires = visitor_token(visitor)
        body = {
            "token": token,
            "userId": visitor_user_id(visitor),
            "apiKey": chatbot_settings.STREAM_CHAT_API_KEY,
            "channelType": CHANNEL_TYPE,
            "channelId": channel_id,
            "expiresAt": datetime.datetime.fromtimestamp(expires, tz=datetime.UTC).isoformat(),
        }
        if chatbot_settings.STREAM_CHAT_BASE_URL:
            # A regional edge (or a test server): the browser's client must talk to the same one.
            body["baseUrl"] = chatbot_settings.STREAM_CHAT_BASE_URL
        return Response(body)


class StreamMessageView(StreamAPIView):
    """``POST {"text"}``: post it to the visitor's channel as the visitor and queue the reply (202)."""

    throttle_scope = "messages"

    @_schema(
        request=MessageInSerializer,
        responses={
            202: StreamMessageOutSerializer,
            **{code: ErrorSerializer for code in (400, 403, 404, 409, 413, 415, 429, 502, 503)},
        },
    )
    def post(self, request: Request) -> Response:
        text, page = self.message_in(request)
        visitor = self.session_visitor(request)
        sweep_stale_replies()
        turn = begin_turn(visitor, text, page=page)
        return active_transport().respond(request._request, turn)
