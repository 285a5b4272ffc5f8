from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from chatbot.models import Message

PAGE_MAX_LENGTH = 2000


class StrictTextField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text."""

    default_error_messages = {"invalid": _("Must be text.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate from JSON's \\ud800 escapes cannot be stored or sent on.
            self.fail("invalid")
        return super().to_internal_value(data)


class MessageInSerializer(serializers.Serializer):
    text = StrictTextField(trim_whitespace=True, allow_blank=False)
    #: The path (and query) of the storefront page the visitor is on; the shop adapter resolves it.
    page = StrictTextField(required=False, allow_blank=True, max_length=PAGE_MAX_LENGTH)


class FeedbackInSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Message.Rating.choices)
    comment = StrictTextField(required=False, allow_blank=True, max_length=2000)


class StopInSerializer(serializers.Serializer):
    messageId = serializers.UUIDField(required=False)  # noqa: N815 - the wire name


class MessageOutSerializer(serializers.Serializer):
    """The message object the API and the SSE events share (for the OpenAPI schema)."""

    id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=Message.Role.choices)
    text = serializers.CharField()
    status = serializers.ChoiceField(choices=Message.Status.choices)
    created = serializers.DateTimeField()
    rating = serializers.ChoiceField(choices=Message.Rating.choices, required=False, allow_null=True)
    suggestions = serializers.ListField(child=serializers.CharField(), required=False)
    products = serializers.ListField(child=serializers.DictField(), required=False)
    #: "notice" for the app's own acknowledgements and notes, which take no feedback.
    kind = serializers.ChoiceField(choices=[Message.Kind.NOTICE], required=False)
    #: A staff message's author as the visitor sees them: ``{"name": <first name>}``.
    author = serializers.DictField(required=False)


class ConversationOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()
    created = serializers.DateTimeField()


class HistoryOutSerializer(serializers.Serializer):
    conversation = ConversationOutSerializer(allow_null=True)
    messages = MessageOutSerializer(many=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    timestamp = serializers.DateTimeField()
    checks = serializers.DictField(child=CheckSerializer())


class StreamTokenOutSerializer(serializers.Serializer):
    """What ``POST stream-chat-token`` answers (for the OpenAPI schema)."""

    token = serializers.CharField()
    userId = serializers.CharField()  # noqa: N815 - the wire names
    apiKey = serializers.CharField()  # noqa: N815
    channelType = serializers.CharField()  # noqa: N815
    channelId = serializers.CharField()  # noqa: N815
    expiresAt = serializers.DateTimeField()  # noqa: N815
    baseUrl = serializers.URLField(required=False)  # noqa: N815


class StreamMessageOutSerializer(serializers.Serializer):
    """What ``POST stream-message`` answers (202)."""

    messageId = serializers.CharField()  # noqa: N815
    replyId = serializers.UUIDField(allow_null=True)  # noqa: N815


class ContactEmailInSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class WaitingOutSerializer(serializers.Serializer):
    """What ``GET``/``POST handoff`` answer: the widget's header and, for a guest, the email form."""

    state = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_blank=True)
    wait = serializers.CharField(allow_blank=True)
    open = serializers.BooleanField(allow_null=True)
    email = serializers.DictField(allow_null=True)
