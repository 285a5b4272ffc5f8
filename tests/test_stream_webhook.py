"""``POST webhooks/stream``: signed, fail-closed, de-duplicated, and never answering the assistant itself."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import uuid

import pytest
from django.test import Client

from chatbot.models import Message
from tests.fakes.stream_server import API_SECRET, SCRIPT, stream_fixture  # noqa: F401 - fixture

HOOK = "/api/chatbot/webhooks/stream"
TOKEN = "/api/chatbot/stream-chat-token"
pytestmark = pytest.mark.django_db(transaction=True)


def sign(body: bytes, secret: str = API_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(event: dict, *, signature: str | None = "good", webhook_id: str | None = None, gzipped: bool = False):
    body = json.dumps(event).encode()
    headers = {"HTTP_X_WEBHOOK_ID": webhook_id or str(uuid.uuid4()), "HTTP_X_WEBHOOK_ATTEMPT": "1"}
    if signature == "good":
        headers["HTTP_X_SIGNATURE"] = sign(body)
    elif signature is not None:
        headers["HTTP_X_SIGNATURE"] = signature
    if gzipped:
        body = gzip.compress(body)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    # Stream sends no CSRF token and no cookie; the view must not need them.
    return Client(enforce_csrf_checks=True).post(HOOK, body, content_type="application/json", **headers)


def message_new(token: dict, text: str = "Do you ship to France?", **message) -> dict:
    return {
        "type": "message.new",
        "cid": f"messaging:{token['channelId']}",
        "channel_type": "messaging",
        "channel_id": token["channelId"],
        "message": {
            "id": str(uuid.uuid4()),
            "text": text,
            "type": "regular",
            "user": {"id": token["userId"]},
            **message,
        },
        "user": {"id": token["userId"]},
    }


@pytest.fixture
def visitor(stream, chat) -> dict:
    return chat.post(TOKEN).json()


def _reply_for(fake, question_stream_id: str) -> Message:
    fake.wait_for(lambda: fake.has_event("ai_indicator.clear"))
    question = Message.objects.get(external_id=question_stream_id)
    return question.conversation.messages.filter(role="assistant", id__gt=question.id).get()


def test_a_visitor_message_from_stream_is_answered(stream, visitor):
    event = message_new(visitor)
    response = deliver(event)
    assert response.status_code == 200
    assert response.json()["result"] == "queued"
    reply = _reply_for(stream, event["message"]["id"])
    assert reply.text == SCRIPT.text
    assert stream.messages[str(reply.public_id)]["text"] == SCRIPT.text


def test_a_visitor_writing_after_staff_closed_the_conversation_starts_a_new_one(stream, visitor):
    from chatbot.models import Conversation

    Conversation.objects.update(state=Conversation.State.CLOSED)
    event = message_new(visitor, text="One more question: do you ship to France?")
    response = deliver(event)
    assert response.json()["result"] == "queued"
    reply = _reply_for(stream, event["message"]["id"])
    assert reply.conversation.state == Conversation.State.BOT
    assert reply.conversation.stream_channel_id == visitor["channelId"]
    assert Conversation.objects.count() == 2
    assert stream.messages[str(reply.public_id)]["text"] == SCRIPT.text


def test_gzipped_body_is_verified_on_the_uncompressed_bytes(stream, visitor):
    event = message_new(visitor)
    assert deliver(event, gzipped=True).json()["result"] == "queued"
    _reply_for(stream, event["message"]["id"])


@pytest.mark.parametrize("signature", [None, "", "0" * 64, sign(b"something else"), "not hex at all"])
def test_bad_or_missing_signature_is_refused_and_nothing_happens(stream, visitor, signature):
    calls = len(stream.ops())
    response = deliver(message_new(visitor), signature=signature)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not Message.objects.exists()
    assert len(stream.ops()) == calls


def test_signature_with_another_secret_is_refused(stream, visitor):
    event = message_new(visitor)
    body = json.dumps(event).encode()
    response = Client().post(HOOK, body, content_type="application/json", HTTP_X_SIGNATURE=sign(body, "other"))
    assert response.status_code == 403


def test_a_replayed_webhook_is_handled_once(stream, visitor):
    event = message_new(visitor)
    first = deliver(event, webhook_id="wh-1")
    again = deliver(event, webhook_id="wh-1")
    assert first.json()["result"] == "queued"
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # Same message under a new delivery id (a resend): the stored row stops a second answer.
    other = deliver(event, webhook_id="wh-2")
    assert other.json()["result"] == "known"
    _reply_for(stream, event["message"]["id"])
    assert Message.objects.filter(role="assistant").count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"user": {"id": "shop-assistant"}},
        {"ai_generated": True},
        {"type": "system"},
        {"type": "ephemeral"},
        {"parent_id": "thread-1"},
    ],
)
def test_the_assistant_s_own_and_non_regular_messages_are_ignored(stream, visitor, change):
    event = message_new(visitor, **change)
    response = deliver(event)
    assert response.status_code == 200
    assert response.json()["result"] != "queued"
    assert not Message.objects.exists()


def test_messages_in_unknown_channels_or_from_others_are_ignored(stream, visitor):
    stranger = message_new({**visitor, "channelId": "someone-elses"})
    assert deliver(stranger).json()["result"] == "unknown channel"
    staff = message_new(visitor, user={"id": "shop-staff-1"})
    assert deliver(staff).json()["result"] == "not the visitor"
    assert not Message.objects.exists()


def test_a_message_sent_through_stream_message_is_not_answered_twice(stream, chat, visitor):
    sent = chat.post("/api/chatbot/stream-message", {"text": "Hi"}).json()
    event = message_new(visitor, text="Hi")
    event["message"]["id"] = sent["messageId"]
    assert deliver(event).json()["result"] == "known"
    stream.wait_for(lambda: stream.has_event("ai_indicator.clear", sent["replyId"]))
    assert Message.objects.filter(role="assistant").count() == 1


def test_ai_indicator_stop_reaching_the_webhook_stops_the_reply(stream, task_worker, chat, visitor, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.fakes.stream_server.GatedProvider"}
    sent = chat.post("/api/chatbot/stream-message", {"text": "Tell me everything"}).json()
    assert SCRIPT.waiting.wait(15)
    stop = {
        "type": "ai_indicator.stop",
        "cid": f"messaging:{visitor['channelId']}",
        "channel_id": visitor["channelId"],
        "channel_type": "messaging",
        "user": {"id": visitor["userId"]},
    }
    assert deliver(stop).json()["result"] == "stopped"
    SCRIPT.release.set()
    stream.wait_for(lambda: stream.has_event("ai_indicator.clear", sent["replyId"]))
    reply = Message.objects.get(public_id=sent["replyId"])
    assert (reply.status, reply.text) == ("stopped", "Hello")


def test_webhook_is_404_when_the_app_is_off(stream, settings):
    settings.CHATBOT = {**settings.CHATBOT, "ENABLED": False}
    body = b"{}"
    assert Client().post(HOOK, body, content_type="application/json", HTTP_X_SIGNATURE=sign(body)).status_code == 404


def test_webhook_fails_closed_without_a_secret(settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "STREAM_CHAT_ENABLED": True,
        "STREAM_CHAT_API_KEY": "k",
        "STREAM_CHAT_API_SECRET": "",
    }
    body = b'{"type": "message.new"}'
    # An empty secret would make the HMAC of anyone's choosing "valid": it must be refused.
    signature = hmac.new(b"", body, hashlib.sha256).hexdigest()
    assert Client().post(HOOK, body, content_type="application/json", HTTP_X_SIGNATURE=signature).status_code == 403


def test_webhook_only_takes_post(stream):
    assert Client().get(HOOK).status_code == 405


def test_a_compressed_body_that_inflates_too_far_is_refused(stream, visitor):
    event = message_new(visitor, text="x" * 10)
    event["padding"] = " " * (2 * 1024 * 1024)
    body = json.dumps(event).encode()
    compressed = gzip.compress(body)
    assert len(compressed) < 10_000
    response = Client().post(
        HOOK, compressed, content_type="application/json", HTTP_CONTENT_ENCODING="gzip", HTTP_X_SIGNATURE=sign(body)
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_with_the_cache_down_a_delivery_is_deferred_with_a_json_503_and_answered_when_redelivered(
    stream, visitor, settings
):
    from tests.test_reliability import _free_port

    caches = settings.CACHES
    # Nothing listens on this port: the cache that tells deliveries apart does not answer.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",
        }
    }
    event = message_new(visitor)
    response = deliver(event, webhook_id="delivery-1")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response["Retry-After"]) >= 1
    assert not Message.objects.filter(external_id=event["message"]["id"]).exists()
    settings.CACHES = caches
    assert deliver(event, webhook_id="delivery-1").json()["result"] == "queued"
    assert _reply_for(stream, event["message"]["id"]).text == SCRIPT.text
