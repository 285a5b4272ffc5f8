"""What a visitor's history says about staff messages and the app's own notices: a first name (never a
username or an email), and no feedback on acknowledgements."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from chatbot.models import Conversation, Message
from chatbot.staff import actions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _assistant(recording):
    return recording


def handed_off(chat) -> Conversation:
    chat.ask("talk to a human")
    return Conversation.objects.get()


def staff(username: str, email: str, **names):
    return get_user_model().objects.create_user(username, email, "pw", is_staff=True, **names)


def test_a_staff_reply_shows_the_first_name_only(chat):
    conversation = handed_off(chat)
    actions.staff_reply(conversation, staff("sam.k", "sam.k@shop.example", first_name="Sam", last_name="Kent"), "Hi!")
    message = chat.history()["messages"][-1]
    assert message["role"] == "staff"
    assert message["author"] == {"name": "Sam"}
    assert "sam.k" not in json.dumps(message) and "Kent" not in json.dumps(message)


def test_a_staff_member_without_a_first_name_is_not_named(chat):
    conversation = handed_off(chat)
    actions.staff_reply(conversation, staff("u8f3a2c9d1", "kim@shop.example"), "Hello")
    message = chat.history()["messages"][-1]
    assert "author" not in message
    assert "u8f3a2c9d1" not in json.dumps(message) and "kim@" not in json.dumps(message)


def test_the_handoff_acknowledgement_is_a_notice_and_takes_no_feedback(chat):
    events = chat.ask("talk to a human")
    done = dict(events)["done"]
    assert done["kind"] == "notice" and "rating" not in done
    stored = chat.history()["messages"][-1]
    assert stored["kind"] == "notice" and "rating" not in stored
    response = chat.post(f"/api/chatbot/messages/{stored['id']}/feedback", {"rating": "up"})
    assert response.status_code == 404
    assert Message.objects.get(public_id=stored["id"]).rating == ""


def test_a_reply_still_takes_feedback(chat):
    chat.ask("What is your returns policy?")
    reply = chat.history()["messages"][-1]
    assert "kind" not in reply and reply["rating"] is None
    assert chat.post(f"/api/chatbot/messages/{reply['id']}/feedback", {"rating": "up"}).status_code == 204


def test_history_with_staff_messages_costs_no_query_per_message(chat, django_assert_max_num_queries):
    conversation = handed_off(chat)
    for n in range(5):
        actions.staff_reply(conversation, staff(f"s{n}", f"s{n}@shop.example", first_name=f"S{n}"), "Hi")
    with django_assert_max_num_queries(4):
        assert len(chat.history()["messages"]) == 7
