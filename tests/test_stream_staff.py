"""Staff replies reach the visitor's Stream channel as the staff member; purges remove what Stream holds."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from chatbot.models import Conversation, Message
from chatbot.staff.actions import staff_reply
from chatbot.staff.purge import purge
from tests.fakes.stream_server import stream_fixture, stream_settings  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _channel_conversation(chat) -> Conversation:
    response = chat.post("/api/chatbot/stream-chat-token", {})
    assert response.status_code == 200, response.content
    return Conversation.objects.filter(stream_channel_id=response.json()["channelId"]).open().latest("id")


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("sam", "sam@example.com", "sam-pass", first_name="Sam", is_staff=True)


def test_staff_reply_is_posted_to_the_channel_as_the_staff_member(stream, chat, staff):
    conversation = _channel_conversation(chat)
    message = staff_reply(conversation, staff, "Hi, I'm Sam from the shop. How can I help?")
    stream.wait_for(lambda: str(message.public_id) in stream.messages)
    posted = stream.messages[str(message.public_id)]
    assert posted["text"] == "Hi, I'm Sam from the shop. How can I help?"
    staff_id = posted["user"]["id"]
    assert staff_id.endswith(f"-staff-{staff.pk}")
    upserted = [c.body["users"] for c in stream.ops("upsert users") if staff_id in c.body["users"]]
    assert upserted[-1][staff_id]["role"] == "user", "staff join with the least privilege"
    assert Message.objects.get(pk=message.pk).external_id == str(message.public_id)
    assert stream.problems == []


def test_deleting_a_user_deletes_their_stream_channel(stream, customers):
    from django.test import Client

    from tests.conftest import ChatClient

    alice = ChatClient(Client(enforce_csrf_checks=True))
    alice.client.force_login(customers["alice"])
    bob = ChatClient(Client(enforce_csrf_checks=True))
    bob.client.force_login(customers["bob"])
    alice_channel = alice.post("/api/chatbot/stream-chat-token", {}).json()["channelId"]
    bob_channel = bob.post("/api/chatbot/stream-chat-token", {}).json()["channelId"]
    customers["alice"].delete()
    stream.wait_for(lambda: not any(key.endswith(alice_channel) for key in stream.channels))
    assert any(key.endswith(bob_channel) for key in stream.channels)
    assert not Conversation.objects.filter(stream_channel_id=alice_channel).exists()


def test_purging_the_only_conversation_deletes_the_channel(stream, chat):
    conversation = _channel_conversation(chat)
    channel_id = conversation.stream_channel_id
    result = purge(Conversation.objects.filter(pk=conversation.pk))
    assert result.channels == 1
    assert not any(key.endswith(channel_id) for key in stream.channels)
    assert not Conversation.objects.exists()


def test_purging_an_old_conversation_keeps_the_newer_one_in_the_shared_channel(stream, chat, staff):
    old = _channel_conversation(chat)
    old_reply = staff_reply(old, staff, "An old answer")
    old.state = Conversation.State.CLOSED
    old.save()
    # The visitor writes again: a new conversation in the same channel.
    assert chat.post("/api/chatbot/stream-message", {"text": "Hello again"}).status_code == 202
    new = _channel_conversation(chat)
    assert new.pk != old.pk and new.stream_channel_id == old.stream_channel_id
    new_reply = staff_reply(new, staff, "A new answer")
    stream.wait_for(lambda: str(new_reply.public_id) in stream.messages)
    purge(Conversation.objects.filter(pk=old.pk))
    assert str(old_reply.public_id) not in stream.messages
    assert str(new_reply.public_id) in stream.messages
    assert any(key.endswith(new.stream_channel_id) for key in stream.channels)
