"""The reply stream under stress: disconnects, stops, upstream failures, handoff."""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlparse

import pytest
from django.test import Client

from chatbot.models import Conversation, Message
from chatbot.signals import reply_finished
from tests import providers
from tests.conftest import parse_sse, reply_text


@pytest.fixture
def gate(settings):
    providers.GATE = providers.Gate()
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.GatedProvider"}
    yield providers.GATE
    providers.GATE.release.set()


@pytest.fixture
def finished():
    """An event set when a reply row reaches its final state."""
    done = threading.Event()
    seen: list[Message] = []

    def receiver(message, **kwargs):
        seen.append(message)
        done.set()

    reply_finished.connect(receiver, weak=False)
    yield done, seen
    reply_finished.disconnect(receiver)


def _open_stream(live_server, text: str):
    """A raw HTTP client, like a browser tab, that can hang up mid-reply."""
    client = Client()
    client.get("/api/chatbot/health")
    csrf = "a" * 32
    url = urlparse(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = json.dumps({"text": text})
    conn.request(
        "POST",
        "/api/chatbot/messages",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": csrf,
            "Cookie": f"csrftoken={csrf}",
            "Referer": live_server.url + "/",
        },
    )
    return conn, conn.getresponse()


@pytest.mark.django_db(transaction=True)
def test_client_that_disconnects_leaves_the_reply_stopped_with_its_partial_text(live_server, gate, finished):
    done, seen = finished
    conn, response = _open_stream(live_server, "tell me a story")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert gate.first_sent.wait(10)
    first = b""
    while b"Hello" not in first:
        first += response.read1(4096)
    # The visitor closes the tab.
    response.close()
    conn.close()
    gate.release.set()
    assert done.wait(10), "the reply was never finished"
    reply = Message.objects.get(role="assistant")
    assert reply.status == Message.Status.STOPPED
    assert reply.text.startswith("Hello")
    assert len(reply.text.split()) < 201, "the reply was cut short, not completed"
    assert gate.closed.is_set(), "the provider's stream was closed"
    assert Message.objects.get(role="user").text == "tell me a story"


@pytest.mark.django_db
def test_stop_ends_the_reply_and_keeps_what_was_said(chat, gate):
    response = chat.post("/api/chatbot/messages", {"text": "tell me a story"})
    chunks = iter(response.streaming_content)
    events = parse_sse(next(chunks))  # the stored question
    events += parse_sse(next(chunks))  # "Hello"
    stop = chat.post("/api/chatbot/stop")
    assert stop.status_code == 204
    gate.release.set()
    events += parse_sse(b"".join(chunks))
    assert events[-1][0] == "done"
    assert events[-1][1]["status"] == "stopped"
    assert events[-1][1]["text"] == "Hello"
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.text, reply.stop_requested) == ("stopped", "Hello", True)


@pytest.mark.django_db
def test_stop_from_another_visitor_does_nothing(chat, make_chat, gate):
    response = chat.post("/api/chatbot/messages", {"text": "tell me a story"})
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)
    other = make_chat()
    assert other.post("/api/chatbot/stop").status_code == 204
    reply_id = Message.objects.get(role="assistant").public_id
    assert other.post("/api/chatbot/stop", {"messageId": str(reply_id)}).status_code == 204
    gate.release.set()
    events = parse_sse(b"".join(chunks))
    assert events[-1][1]["status"] == "done"
    assert "word199" in events[-1][1]["text"]


@pytest.mark.django_db
def test_stop_with_a_malformed_id(chat):
    response = chat.post("/api/chatbot/stop", {"messageId": "not-a-uuid"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.django_db
def test_upstream_failure_keeps_the_partial_reply_and_explains(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.FailingMidwayProvider"}
    events = chat.ask("where is my parcel")
    assert reply_text(events) == "Let me check that for you"
    name, error = events[-1]
    assert name == "error"
    assert error["code"] == "upstream_unavailable"
    assert "unavailable" in error["message"]
    assert "connection reset" not in error["message"], "technical detail stays in the logs"
    reply = Message.objects.get(role="assistant")
    assert (reply.status, reply.text) == ("error", "Let me check that for you")
    assert reply.error_code == "upstream_unavailable"
    # The next message works and history keeps both.
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "local"}
    assert chat.ask("hello")[-1][0] == "done"
    assert len(chat.history()["messages"]) == 4


@pytest.mark.django_db
def test_asking_for_a_human_stops_the_bot(chat, settings):
    providers.RecordingProvider.calls = []
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.RecordingProvider"}
    events = chat.ask("I want to talk to a human")
    assert [name for name, _ in events] == ["message", "done"]
    assert "member of our team" in events[-1][1]["text"]
    assert events[-1][1]["conversation"]["state"] == "waiting"
    events = chat.ask("hello? anyone?")
    assert events[-1][1]["status"] == "waiting"
    assert providers.RecordingProvider.calls == []
    assert Conversation.objects.get().state == "waiting"
    assert Message.objects.filter(role="user").count() == 2


@pytest.mark.django_db
def test_chinese_handoff(chat):
    events = chat.ask("转人工")
    assert "人工客服" in events[-1][1]["text"]


@pytest.mark.django_db
def test_provider_sees_masked_history(chat, settings):
    providers.RecordingProvider.calls = []
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.RecordingProvider"}
    chat.ask("my card 4242 4242 4242 4242 was charged twice")
    chat.ask("can you help?")
    first, second = providers.RecordingProvider.calls
    assert "4242 4242" not in first.text
    assert second.history == [("user", first.text), ("assistant", "ok")]
    assert first.visitor.guest_id and first.visitor.user is None


@pytest.mark.django_db
def test_feedback_on_own_message(chat, make_chat):
    done = chat.ask("hello")[-1][1]
    url = f"/api/chatbot/messages/{done['id']}/feedback"
    assert chat.post(url, {"rating": "down", "comment": "not what I asked"}).status_code == 204
    message = Message.objects.get(public_id=done["id"])
    assert (message.rating, message.feedback_comment) == ("down", "not what I asked")
    # Another visitor cannot rate it, and bad ratings are refused.
    assert make_chat().post(url, {"rating": "up"}).status_code == 404
    assert chat.post(url, {"rating": "meh"}).status_code == 400
    question_id = chat.history()["messages"][0]["id"]
    assert chat.post(f"/api/chatbot/messages/{question_id}/feedback", {"rating": "up"}).status_code == 404
    forged = chat.post("/api/chatbot/messages/not-a-uuid/feedback", {"rating": "up"})
    assert forged.status_code == 404 and forged.json()["error"]["code"] == "not_found"
    assert Message.objects.get(public_id=done["id"]).rating == "down"


@pytest.mark.django_db
def test_health(client):
    response = client.get("/api/chatbot/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["provider"]["ok"] is True
    assert body["checks"]["stream"]["detail"] == "disabled"
    assert body["timestamp"]


@pytest.mark.django_db
def test_openapi_schema_describes_the_api(client):
    response = client.get("/api/chatbot/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/chatbot/messages", "/api/chatbot/stop", "/api/chatbot/health"} <= set(paths)
    assert "text/event-stream" in paths["/api/chatbot/messages"]["post"]["responses"]["200"]["content"]


@pytest.mark.django_db(transaction=True)
def test_a_reply_that_streams_for_long_is_kept_alive_and_never_swept(chat, gate, settings):
    import time
    from datetime import timedelta

    from django.utils import timezone

    from chatbot.sweep import sweep_interrupted_replies

    settings.CHATBOT = {**settings.CHATBOT, "STOP_POLL_INTERVAL": 0.01}  # heartbeats 0.4 s apart
    response = chat.post("/api/chatbot/messages", {"text": "tell me a long story"})
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)  # the stored question, "Hello": the reply is streaming
    reply = Message.objects.get(role="assistant")
    # As if it had started an hour ago and its row had not been written since: only the streaming
    # process's heartbeat can tell it is alive.
    long_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk=reply.pk).update(created=long_ago, updated=long_ago)
    deadline = time.monotonic() + 10
    while Message.objects.get(pk=reply.pk).updated < timezone.now() - timedelta(minutes=1):
        assert time.monotonic() < deadline, "no heartbeat from the streaming process"
        time.sleep(0.02)
    assert sweep_interrupted_replies() == 0
    second = chat.post("/api/chatbot/messages", {"text": "hello?"})
    assert second.status_code == 409, "the live reply was taken for abandoned"
    gate.release.set()
    events = parse_sse(b"".join(chunks))
    assert events[-1][1]["status"] == "done"
    assert "word199" in events[-1][1]["text"]
