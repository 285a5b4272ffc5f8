"""Every visitor text the app stores or forwards is masked: chat messages on both transports, the
Stream webhook path (masked before it is cut to length) and feedback comments."""

from __future__ import annotations

import re

import pytest

from chatbot.models import Message
from tests.fakes.stream_server import SCRIPT, stream_fixture  # noqa: F401 - fixture
from tests.test_stream_webhook import deliver, message_new

CARD_FORMS = [
    "4111\t1111\t1111\t1111",
    "4111\n1111\n1111\n1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "4111\u00a01111\u00a01111\u00a01111",
    "４１１１ １１１１ １１１１ １１１１",
    "\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661",
]
LEAK = re.compile(r"1111\D{0,3}1111|[\uff10-\uff19\u0660-\u0669]{4}|737")


def _clear(text: str) -> bool:
    return not LEAK.search(text)


@pytest.mark.django_db
@pytest.mark.parametrize("card", CARD_FORMS)
def test_builtin_messages_are_masked_before_storage_and_the_provider(chat, recording, card):
    chat.ask(f"pay with {card}, my security code is 737")
    stored = Message.objects.get(role="user").text
    assert stored == "pay with [card ending 1111], my security code is [hidden]"
    assert recording.calls[0].text == stored


@pytest.mark.django_db
def test_feedback_comments_are_masked_before_they_are_stored_and_shown_to_staff(chat, admin_client):
    reply = chat.ask("hello")[-1][1]["id"]
    comment = "charged twice on 4111.1111.1111.1111, security code is 737"
    response = chat.post(f"/api/chatbot/messages/{reply}/feedback", {"rating": "down", "comment": comment})
    assert response.status_code == 204
    stored = Message.objects.get(public_id=reply).feedback_comment
    assert stored == "charged twice on [card ending 1111], security code is [hidden]"
    page = admin_client.get("/admin/chatbot/conversation/insights/")
    assert page.status_code == 200
    assert "[card ending 1111]" in page.content.decode() and "4111.1111" not in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_stream_message_forwards_only_the_masked_text(stream, chat):
    chat.post("/api/chatbot/stream-chat-token")
    response = chat.post("/api/chatbot/stream-message", {"text": "card 4111/1111/1111/1111 cvv 737"})
    assert response.status_code == 202, response.content
    sent = [call.body["message"]["text"] for call in stream.ops("send message")]
    assert "card [card ending 1111] cvv [hidden]" in sent
    assert all(_clear(text) for text in sent)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("card", CARD_FORMS[:5])
def test_the_stream_webhook_masks_before_it_cuts_the_text_to_length(stream, chat, settings, card):
    settings.CHATBOT = {**settings.CHATBOT, "MAX_MESSAGE_LENGTH": 80}
    visitor = chat.post("/api/chatbot/stream-chat-token").json()
    # The card straddles the 80th character: a cut first would keep "4111 1111" in clear.
    text = "x" * 70 + " " + card + " my security code is 737"
    response = deliver(message_new(visitor, text=text))
    assert response.status_code == 200 and response.json()["result"] == "queued", response.content
    stream.wait_for(lambda: stream.has_event("ai_indicator.clear"))
    stored = Message.objects.get(role="user").text
    assert stored == ("x" * 70 + " [card ending 1111] my security code is [hidden]")[:80]
    assert _clear(stored)
    assert SCRIPT.text


@pytest.mark.django_db(transaction=True)
def test_a_message_the_visitors_client_posted_is_masked_in_the_channel_too(stream, chat, queued_tasks):
    from chatbot.transports.stream import get_client
    from tests.conftest import run_queued_tasks

    visitor = chat.post("/api/chatbot/stream-chat-token").json()
    typed = "card 4111.1111.1111.1111 and my security code is 737"
    # What the visitor's own Stream client does: the message reaches the channel as typed ...
    event = message_new(visitor, text=typed)
    get_client().channel("messaging", visitor["channelId"]).send_message(
        {"id": event["message"]["id"], "text": typed}, visitor["userId"]
    )
    # ... and Stream's webhook tells the site.
    assert deliver(event).json()["result"] == "queued"
    run_queued_tasks()
    in_channel = stream.messages[event["message"]["id"]]["text"]
    assert in_channel == "card [card ending 1111] and my security code is [hidden]"
    assert Message.objects.get(external_id=event["message"]["id"]).text == in_channel
