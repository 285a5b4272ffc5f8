"""The Stream Chat transport: the visitor's widget talks to Stream, and replies are written into the
visitor's channel the way Stream's AI components expect.

The package, one idea a module:

* :mod:`~chatbot.transports.stream.client`: the SDK client, timeouts, and Stream's typed errors;
* :mod:`~chatbot.transports.stream.ids`: user, channel and message ids, derived from the session;
* :mod:`~chatbot.transports.stream.channels`: users, channels, tokens, staff in a channel, deletion;
* :mod:`~chatbot.transports.stream.ownership`: whether a channel with our id is really ours;
* :mod:`~chatbot.transports.stream.writer`: one assistant message, its AI indicator and updates;
* :mod:`~chatbot.transports.stream.bootstrap`: the assistant user and webhook registration;
* :mod:`chatbot.transports.stream_relay`: the task that runs the provider and writes its reply;
* :mod:`chatbot.transports.stream_arelay`: the same on an ASGI server's event loop.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error
from django.db import transaction
from django.http import HttpRequest
from rest_framework import status
from rest_framework.response import Response

from chatbot import replies
from chatbot.exceptions import ChatbotError
from chatbot.health import CheckOutcome
from chatbot.language import active_language
from chatbot.models import Conversation, Message
from chatbot.relay import Turn
from chatbot.transports import get_transport
from chatbot.transports.base import Transport
from chatbot.transports.stream.channels import (
    channel_for,
    delete_channel,
    delete_channels,
    ensure_channel,
    post_staff_message,
)
from chatbot.transports.stream.client import (
    StreamDisabled,
    StreamError,
    StreamRateLimited,
    StreamUnavailable,
    call,
    get_client,
    stream_health,
)
from chatbot.transports.stream.ids import message_id_for, visitor_user_id

__all__ = [
    "StreamDisabled",
    "StreamError",
    "StreamRateLimited",
    "StreamTransport",
    "StreamUnavailable",
    "delete_channel",
    "delete_channels",
    "get_client",
    "post_staff_message",
    "stream_enabled",
]


class StreamTransport(Transport):
    """Stream Chat (``STREAM_CHAT_ENABLED`` with both keys): ``POST stream-message`` posts the question
    into the visitor's channel, and the reply is written into the same channel: on the event loop
    serving the request under :func:`chatbot.asgi.asgi_application`, by a background task otherwise."""

    name = "stream"
    widget_mode = "stream"
    widget_endpoints = {"streamToken": "stream-chat-token", "streamMessage": "stream-message"}
    #: The Stream client, a separate file so builtin-mode pages never download it.
    widget_assets = {"stream": "chatbot/stream/chat-stream.js"}

    def respond(self, request: HttpRequest, turn: Turn) -> Response:
        """Post the question to the visitor's channel as the visitor and start the reply: 202.

        The reply is written on the event loop serving the request when there is one (an ASGI server:
        no thread is held while it streams), else by the ``stream_reply`` task. Either way a reply
        whose server process dies midway is marked interrupted by the next message's sweep
        (:func:`~chatbot.transports.stream_relay.sweep_stale_replies`)."""
        # Imported here: the reply writers' modules are built on this package.
        from chatbot.asgi import request_loop
        from chatbot.transports.stream_arelay import write_on_loop
        from chatbot.transports.stream_relay import stream_reply

        assert turn.visitor is not None  # begin_turn always names the visitor
        # The question is stored first, under its Stream id (our own id, so the widget's history and the
        # channel agree): when Stream's webhook reports the message, the webhook finds the row and
        # knows not to answer it a second time.
        stream_id = message_id_for(turn.question.public_id)
        Message.objects.filter(pk=turn.question.pk).update(external_id=stream_id)
        try:
            ensure_channel(turn.conversation, turn.visitor)
            channel = channel_for(turn.conversation)
            call(
                "send message",
                channel.send_message,
                {"id": stream_id, "text": turn.question.text},
                visitor_user_id(turn.visitor),
            )
        except ChatbotError as exc:
            # The text never reached the chat: the widget gives it back to the visitor to send again.
            answers = [message.pk for message in (turn.reply, turn.notice) if message is not None]
            replies.fail(Message.objects.filter(pk__in=answers), exc.code)
            raise
        answer = turn.reply or turn.notice
        if answer is not None:
            loop = request_loop(request)
            if loop is not None:
                write_on_loop(loop, str(answer.public_id), active_language(), turn.page)
            else:
                stream_reply.enqueue(str(answer.public_id), active_language(), turn.page)
        return Response(
            {"messageId": stream_id, "replyId": str(answer.public_id) if answer else None},
            status=status.HTTP_202_ACCEPTED,
        )

    def post_staff_message(self, conversation: Conversation, message: Message) -> None:
        post_staff_message(conversation, message)

    def forget(self, conversation: Conversation) -> bool:
        if not conversation.stream_channel_id:
            return False
        delete_channel(conversation)
        return True

    def forget_user(self, user: Any) -> None:
        channel_ids = sorted(
            set(
                Conversation.objects.filter(user=user)
                .exclude(stream_channel_id="")
                .values_list("stream_channel_id", flat=True)
            )
        )
        if channel_ids:
            transaction.on_commit(lambda: delete_channels.enqueue(channel_ids))

    def health(self) -> CheckOutcome:
        ok, detail = stream_health()
        return CheckOutcome(ok, detail)

    @classmethod
    def system_checks(cls, conf: Any) -> list:
        if conf.STREAM_CHAT_API_KEY and conf.STREAM_CHAT_API_SECRET:
            return []
        return [
            Error(
                "Stream Chat is enabled but STREAM_CHAT_API_KEY or STREAM_CHAT_API_SECRET is missing.",
                hint="Set both keys from your Stream dashboard, or set STREAM_CHAT_ENABLED=false.",
                id="chatbot.E001",
            )
        ]


def stream_enabled() -> bool:
    """Whether Stream is the chosen transport (its endpoints, webhook and client work only then)."""
    return isinstance(get_transport(), StreamTransport)


def active_transport() -> StreamTransport:
    """The chosen transport when it is Stream; StreamDisabled otherwise."""
    transport = get_transport()
    if not isinstance(transport, StreamTransport):
        raise StreamDisabled()
    return transport
