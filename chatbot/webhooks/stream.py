"""``POST /api/chatbot/webhooks/stream``: Stream Chat's webhook.

Stream signs the raw (uncompressed) body with the API secret: ``X-Signature`` is the hex HMAC-SHA256.
A missing secret, a missing or wrong signature is a 403, before the body is even parsed. Stream retries
with the same ``X-Webhook-Id``, so each id is handled once. The reply itself goes to a task: Stream
wants an answer within a few seconds, and a reply can take a minute.

Only visitors' own ``message.new`` events in channels we created start a reply; the assistant's
messages (and any ``ai_generated`` one) are ignored, or the assistant would answer itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import zlib
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chatbot import replies
from chatbot.api.parsers import loads_bounded
from chatbot.conf import chatbot_settings
from chatbot.connections import CONNECTION_ERRORS
from chatbot.exceptions import ServiceUnavailable
from chatbot.language import active_language
from chatbot.masking import mask_secrets
from chatbot.models import Conversation, Message
from chatbot.relay import ReplyInProgress, begin_turn
from chatbot.tasks import task
from chatbot.transports.stream import stream_enabled
from chatbot.transports.stream.client import call, get_client
from chatbot.transports.stream.ids import assistant_id, visitor_for, visitor_user_id
from chatbot.transports.stream_relay import stream_reply

logger = logging.getLogger(__name__)

_SEEN_SECONDS = 24 * 3600
_MAX_BODY = 1024 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _inflate(body: bytes, wbits: int) -> bytes | None:
    # Bounded: a few compressed kilobytes must not become gigabytes in memory before the check.
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, _MAX_BODY + 1)
    except zlib.error:
        return None
    if len(data) > _MAX_BODY or not inflater.eof:
        return None
    return data


def _raw_body(request: HttpRequest) -> bytes | None:
    body = request.body
    # The signature covers the uncompressed payload; proxies may compress even when Stream did not.
    if body[:2] == b"\x1f\x8b":
        return _inflate(body, 16 + zlib.MAX_WBITS)
    if request.headers.get("Content-Encoding", "").lower() == "deflate":
        return _inflate(body, zlib.MAX_WBITS)
    return body if len(body) <= _MAX_BODY else None


def signature_ok(body: bytes, signature: str) -> bool:
    secret = chatbot_settings.STREAM_CHAT_API_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


@csrf_exempt
@require_POST
def stream_webhook(request: HttpRequest) -> JsonResponse:
    if not chatbot_settings.ENABLED:
        return _error(404, "not_found", "Not found.")
    if not stream_enabled():
        # Nothing to verify the signature with: refuse rather than trust.
        return _error(403, "forbidden", "Stream Chat is not configured.")
    body = _raw_body(request)
    if body is None or not signature_ok(body, request.headers.get("X-Signature", "")):
        logger.warning("Stream webhook refused: bad or missing signature")
        return _error(403, "invalid_signature", "Invalid signature.")
    try:
        event = loads_bounded(body)
    except ValueError:
        return _error(400, "malformed_json", "The request body is not valid JSON.")
    if not isinstance(event, dict):
        return _error(400, "invalid", "The request body must be a JSON object.")
    webhook_id = request.headers.get("X-Webhook-Id", "")
    # Hashed: the header is the sender's text, and cache backends refuse some keys (spaces, length).
    seen_key = f"chatbot:stream:webhook:{hashlib.sha256(webhook_id.encode()).hexdigest()}"
    try:
        first_delivery = not webhook_id or cache.add(seen_key, 1, _SEEN_SECONDS)
    except Exception as exc:  # any cache backend's error: a delivery that cannot be told apart waits
        logger.warning("Stream webhook deferred: the cache did not answer (%s)", type(exc).__name__)
        return _unavailable()
    if not first_delivery:
        return JsonResponse({"ok": True, "duplicate": True})
    handler = _HANDLERS.get(_text(event.get("type")))
    try:
        handled = handler(event) if handler else "ignored"
    except Exception as exc:
        # Not handled after all: forget the id so Stream's retry (same id) gets another chance.
        if webhook_id:
            with contextlib.suppress(Exception):
                cache.delete(seen_key)
        if isinstance(exc, CONNECTION_ERRORS):
            logger.warning("Stream webhook %s deferred: the database connection was lost", event.get("type"))
            return _unavailable()
        logger.exception("Stream webhook %s could not be handled", event.get("type"))
        return _error(500, "error", "The event could not be handled; please retry.")
    return JsonResponse({"ok": True, "result": handled})


def _unavailable() -> JsonResponse:
    # Stream delivers again later; a moment's outage is not an error of ours to log with a traceback.
    response = _error(503, ServiceUnavailable.code, "The event could not be handled now; please retry.")
    response["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def _object(value: Any) -> dict[str, Any]:
    # A signed event is Stream's, but its fields are still read defensively: a field of an unexpected
    # type means "not an event we act on", never an error that Stream would retry for a day.
    return value if isinstance(value, dict) else {}


_IDENT = re.compile(r"[\w!:@.-]{1,255}", re.ASCII)


def _text(value: Any) -> str:
    """An id or type from the event: Stream's are short ASCII; anything else is taken as absent."""
    return value if isinstance(value, str) and _IDENT.fullmatch(value) else ""


def _visitor_text(value: Any) -> str:
    # NUL and lone surrogates cannot be stored (PostgreSQL refuses them) nor sent on.
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return value.replace("\x00", "").strip()


def _conversation(event: dict[str, Any], *, closed_too: bool = False) -> Conversation | None:
    """The channel's open conversation; with ``closed_too``, its latest one when none is open."""
    if event.get("channel_type") not in (None, "messaging"):
        return None
    channel_id = _text(event.get("channel_id")) or _text(event.get("cid")).partition(":")[2]
    if not channel_id:
        return None
    conversations = Conversation.objects.filter(stream_channel_id=channel_id).select_related("user")
    conversation = conversations.open().order_by("-updated", "-id").first()
    if conversation is None and closed_too:
        conversation = conversations.order_by("-id").first()
    return conversation


def on_message_new(event: dict[str, Any]) -> str:
    message = _object(event.get("message"))
    author = _text(_object(message.get("user")).get("id")) or _text(_object(event.get("user")).get("id"))
    if author == assistant_id() or message.get("ai_generated"):
        return "own message"
    if message.get("type", "regular") != "regular" or message.get("parent_id") or message.get("silent"):
        return "not a regular message"
    stream_id = _text(message.get("id"))
    text = _visitor_text(message.get("text"))
    if not stream_id or not text:
        return "empty"
    # A closed conversation still tells whose channel it is: begin_turn then opens a new one.
    conversation = _conversation(event, closed_too=True)
    if conversation is None:
        return "unknown channel"
    visitor = visitor_for(conversation)
    if author != visitor_user_id(visitor):
        # Staff or anyone else in the channel: not a question for the assistant.
        return "not the visitor"
    if Message.objects.filter(
        conversation__stream_channel_id=conversation.stream_channel_id, external_id=stream_id
    ).exists():
        return "known"  # posted through POST stream-message, which queued the reply already
    # Masked before it is cut to length, so a cut cannot leave part of a card number in clear.
    masked = mask_secrets(text)
    if masked != text:
        # The visitor's client posted it as typed: the copy in the channel is masked too.
        mask_in_stream.enqueue(stream_id, masked, author)
    text = masked[: chatbot_settings.MAX_MESSAGE_LENGTH]
    try:
        turn = begin_turn(visitor, text, external_id=stream_id)
        if turn.conversation.stream_channel_id != conversation.stream_channel_id:
            # A conversation begin_turn opened lives in the channel the message came from.
            turn.conversation.stream_channel_id = conversation.stream_channel_id
            Conversation.objects.filter(pk=turn.conversation.pk).update(
                stream_channel_id=conversation.stream_channel_id
            )
    except ReplyInProgress:
        # The visitor wrote while an answer streams: keep the message, answer nothing twice.
        Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text, external_id=stream_id)
        return "stored"
    answer = turn.reply or turn.notice
    if answer is not None:
        stream_reply.enqueue(str(answer.public_id), active_language())
    return "queued"


@task()
def mask_in_stream(message_id: str, text: str, user_id: str) -> None:
    """Replace the text of a visitor's message in Stream with its masked form."""
    call("mask message", get_client().update_message_partial, message_id, {"set": {"text": text}}, user_id)


def on_ai_stop(event: dict[str, Any]) -> str:
    conversation = _conversation(event)
    author = _text(_object(event.get("user")).get("id"))
    if conversation is None or author != visitor_user_id(visitor_for(conversation)):
        return "ignored"
    replies.request_stop(conversation.messages.all())
    return "stopped"


_HANDLERS = {
    "message.new": on_message_new,
    "ai_indicator.stop": on_ai_stop,
}
