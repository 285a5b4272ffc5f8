"""``POST stream-message`` and the reply relay into Stream: the AI sequence, throttling, failures, stop."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from chatbot.models import Conversation, Message
from tests.fakes.stream_server import SCRIPT, stream_fixture, stream_settings  # noqa: F401 - fixture

TOKEN = "/api/chatbot/stream-chat-token"
SEND = "/api/chatbot/stream-message"
pytestmark = pytest.mark.django_db(transaction=True)


def _send(chat, text: str = "Hello there"):
    response = chat.post(SEND, {"text": text})
    assert response.status_code == 202, response.content
    return response.json()


def _reply_id(fake, question_id: str) -> str:
    """Our id of the assistant message that answers the question, from what reached Stream."""
    fake.wait_for(lambda: any(m.get("ai_generated") for m in fake.messages.values()))
    return next(mid for mid, m in fake.messages.items() if m.get("ai_generated"))


def _finished(fake, reply_id: str) -> None:
    fake.wait_for(lambda: fake.has_event("ai_indicator.clear", reply_id) or fake.has_event("AI_STATE_ERROR", reply_id))


def _updates(fake, reply_id: str) -> list[dict]:
    calls = fake.ops("update message partial")
    return [c.body["set"] for c in calls if c.params["mid"] == reply_id and c.status == 200]


def test_reply_streams_into_the_channel_in_stream_s_ai_sequence(stream, chat):
    sent = _send(chat, "Do you sell tea?")
    question = stream.messages[sent["messageId"]]
    assert question["text"] == "Do you sell tea?"
    assert question["user"]["id"].startswith("shop-guest-")
    reply_id = sent["replyId"]
    _finished(stream, reply_id)
    assert stream.event_types(reply_id) == ["AI_STATE_THINKING", "AI_STATE_GENERATING", "ai_indicator.clear"]
    created = next(c.body for c in stream.ops("send message") if c.body["message"]["id"] == reply_id)
    assert created["message"]["text"] == ""
    assert created["message"]["ai_generated"] is True
    assert created["message"]["user"] == {"id": "shop-assistant"}
    assert created["skip_push"] is True
    updates = _updates(stream, reply_id)
    # With no throttle interval every chunk is one partial update, then one final update.
    assert [u["text"] for u in updates[:-1]] == ["Hello", "Hello, I am ", "Hello, I am the shop's ", SCRIPT.text]
    assert all(u["generating"] for u in updates[:-1])
    assert updates[-1] == {"text": SCRIPT.text, "generating": False}
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    reply = Message.objects.get(public_id=reply_id)
    assert (reply.status, reply.text, reply.external_id) == ("done", SCRIPT.text, reply_id)
    assert Message.objects.get(external_id=sent["messageId"]).role == "user"
    # The history the widget shows comes from the database as well.
    history = chat.history()["messages"]
    assert [m["text"] for m in history] == ["Do you sell tea?", SCRIPT.text]
    # The channel and the database know each message by the same id.
    assert [m["id"] for m in history] == [sent["messageId"], reply_id]


def test_partial_updates_are_throttled_by_time(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_UPDATE_INTERVAL": 3600}
    sent = _send(chat)
    _finished(stream, sent["replyId"])
    # Far below Stream's update limit: within the interval only the final update is written.
    assert _updates(stream, sent["replyId"]) == [{"text": SCRIPT.text, "generating": False}]


def test_partial_updates_per_reply_with_the_local_assistant_at_default_pacing(stream, chat, settings):
    settings.CHATBOT = stream_settings(
        stream, PROVIDER="local", LOCAL_STREAM_DELAY=0.02, STREAM_CHAT_UPDATE_INTERVAL=0.5
    )
    started = time.monotonic()
    sent = _send(chat, "What is your returns policy?")
    _finished(stream, sent["replyId"])
    elapsed = time.monotonic() - started
    updates = _updates(stream, sent["replyId"])
    partials = len(updates) - 1
    print(f"local reply: {len(updates[-1]['text'])} chars in {elapsed:.2f}s, {partials} partial updates")
    assert partials <= elapsed / 0.5 + 1
    assert updates[-1]["generating"] is False
    assert updates[-1]["text"] == Message.objects.get(public_id=sent["replyId"]).text != ""


def test_provider_failure_shows_the_error_state_and_a_readable_message(stream, chat):
    SCRIPT.reset(fail_after=2)
    sent = _send(chat)
    reply_id = sent["replyId"]
    _finished(stream, reply_id)
    assert stream.event_types(reply_id)[-1] == "AI_STATE_ERROR"
    error_event = [e for e in stream.events if e.get("ai_state") == "AI_STATE_ERROR"][-1]
    assert "try again" in error_event["ai_message"].lower()
    assert _updates(stream, reply_id)[-1] == {"text": "Hello, I am ", "generating": False}
    reply = Message.objects.get(public_id=reply_id)
    assert (reply.status, reply.text) == ("error", "Hello, I am ")


def test_rate_limited_partial_updates_back_off_and_the_final_text_is_complete(stream, chat):
    stream.fail("update message partial", 429)
    sent = _send(chat)
    reply_id = sent["replyId"]
    _finished(stream, reply_id)
    attempts = [c for c in stream.ops("update message partial") if c.params["mid"] == reply_id]
    assert [c.status for c in attempts] == [429, 200]  # backed off after the 429; then the final update
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    assert stream.messages[reply_id]["generating"] is False
    assert Message.objects.get(public_id=reply_id).status == "done"


def test_partial_updates_share_the_app_s_limit_and_final_updates_always_go(stream, make_chat, settings):
    # A limit of 3 a minute leaves 2 partial updates (80 %) for every reply of the app together.
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_UPDATE_LIMIT": 3}
    first_minute = int(time.time() // 60)
    replies = []
    for _ in range(2):
        sent = _send(make_chat())
        _finished(stream, sent["replyId"])
        replies.append(sent["replyId"])
    minutes = int(time.time() // 60) - first_minute + 1  # the budget is per minute
    updates = [u for reply_id in replies for u in _updates(stream, reply_id)]
    partial = [u for u in updates if u["generating"]]
    assert 0 < len(partial) <= 2 * minutes
    for reply_id in replies:  # each reply still ends whole
        assert _updates(stream, reply_id)[-1] == {"text": SCRIPT.text, "generating": False}
        assert stream.messages[reply_id]["text"] == SCRIPT.text


def test_final_update_is_retried_after_a_server_error(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_UPDATE_INTERVAL": 3600}
    stream.fail("update message partial", 503)
    sent = _send(chat)
    _finished(stream, sent["replyId"])
    assert stream.messages[sent["replyId"]]["text"] == SCRIPT.text
    assert [c.status for c in stream.ops("update message partial")] == [503, 200]


def test_a_final_update_stream_keeps_refusing_is_written_on_the_next_message(stream, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_UPDATE_INTERVAL": 3600}
    stream.fail("update message partial", 503, times=3)  # every attempt of the final update
    sent = _send(chat)
    reply_id = sent["replyId"]
    stream.wait_for(lambda: Message.objects.filter(public_id=reply_id, transport_unsettled=True).exists())
    assert stream.messages[reply_id]["generating"] is True  # what the visitor still sees
    reply = Message.objects.get(public_id=reply_id)
    assert (reply.status, reply.text) == ("done", SCRIPT.text)  # the stored reply is whole
    # Stream is back: the next message's sweep writes the final state, once.
    second = _send(chat, "Hello again")
    _finished(stream, second["replyId"])
    _finished(stream, reply_id)
    assert stream.messages[reply_id]["text"] == SCRIPT.text
    assert stream.messages[reply_id]["generating"] is False
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"
    assert not Message.objects.filter(transport_unsettled=True).exists()


@pytest.mark.parametrize(("status", "code"), [(429, "stream_rate_limited"), (500, "stream_unavailable")])
def test_stream_failing_the_visitor_s_message_is_a_clear_503_and_nothing_is_lost(stream, chat, status, code):
    stream.fail("send message", status)
    response = chat.post(SEND, {"text": "Where is my order 100234?"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    # The question is kept (and shown in the history); its reply is marked failed, never left streaming.
    assert Message.objects.filter(role="user", text="Where is my order 100234?").exists()
    assert not Message.objects.filter(status="streaming").exists()
    # Sending again works once Stream is back.
    sent = _send(chat, "Where is my order 100234?")
    _finished(stream, sent["replyId"])
    assert Message.objects.get(public_id=sent["replyId"]).status == "done"


def test_stop_ends_the_reply_within_one_chunk(stream, task_worker, chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.fakes.stream_server.GatedProvider"}
    sent = _send(chat)
    reply_id = sent["replyId"]
    assert SCRIPT.waiting.wait(15)
    assert chat.post("/api/chatbot/stop", {"messageId": reply_id}).status_code == 204
    SCRIPT.release.set()
    _finished(stream, reply_id)
    reply = Message.objects.get(public_id=reply_id)
    assert (reply.status, reply.text) == ("stopped", "Hello")
    assert stream.messages[reply_id]["text"] == "Hello"
    assert stream.messages[reply_id]["generating"] is False
    assert stream.event_types(reply_id)[-1] == "ai_indicator.clear"
    # At most the chunk in flight when the stop arrived was read; nothing after it was written.
    assert SCRIPT.sent[:2] == ["Hello", ", I am "] and len(SCRIPT.sent) <= 2


def test_a_reply_left_streaming_by_a_dead_worker_is_swept_on_the_next_message(stream, chat):
    token = chat.post(TOKEN).json()
    conversation = Conversation.objects.get(stream_channel_id=token["channelId"])
    Message.objects.create(conversation=conversation, role="user", text="Are you there?")
    stale = Message.objects.create(conversation=conversation, role="assistant", status="streaming", text="")
    stale_id = str(stale.public_id)
    # What the worker had written before it was killed: the placeholder, still "generating".
    stream.messages[stale_id] = {
        "id": stale_id,
        "text": "Let me",
        "ai_generated": True,
        "generating": True,
        "user": {"id": "shop-assistant"},
        "updates": 1,
        "cid": f"messaging:{token['channelId']}",
    }
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk=stale.pk).update(created=an_hour_ago, updated=an_hour_ago, text="Let me")
    sent = _send(chat, "Hello again")
    _finished(stream, sent["replyId"])
    stale.refresh_from_db()
    assert (stale.status, stale.error_code) == ("error", "interrupted")
    assert stream.messages[stale_id]["generating"] is False
    assert stream.messages[stale_id]["text"] == "Let me"
    assert stream.event_types(stale_id) == ["AI_STATE_ERROR"]
    assert Message.objects.get(public_id=sent["replyId"]).status == "done"


def test_a_retried_task_never_posts_the_reply_twice(stream, chat):
    from chatbot.transports.stream_relay import stream_reply

    sent = _send(chat)
    _finished(stream, sent["replyId"])
    count = len(stream.messages)
    # A second delivery of the same task (the backend retried it) finds the reply finished.
    stream_reply.call(sent["replyId"])
    assert len(stream.messages) == count
    assert [c.body["message"]["id"] for c in stream.ops("send message")].count(sent["replyId"]) == 1


def test_asking_for_a_human_posts_the_notice_and_calls_no_provider(stream, chat):
    sent = _send(chat, "talk to a human")
    notice_id = sent["replyId"]
    stream.wait_for(lambda: notice_id in stream.messages)
    assert "team" in stream.messages[notice_id]["text"]
    assert stream.messages[notice_id]["generating"] is False
    assert SCRIPT.sent == []


def test_the_page_reaches_the_reply_written_into_stream(stream, chat, catalogue, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "local", "LOCAL_STREAM_DELAY": 0}
    boots = catalogue["Leather Hiking Boots"]
    response = chat.post(SEND, {"text": "is this one waterproof?", "page": boots.get_absolute_url()})
    assert response.status_code == 202, response.content
    reply_id = response.json()["replyId"]
    _finished(stream, reply_id)
    text = Message.objects.get(public_id=reply_id).text
    assert text.startswith("Yes") and "Leather Hiking Boots" in text
    assert stream.messages[reply_id]["text"] == text
