"""A visitor's conversation over HTTP, through the real API, relay, local assistant and PostgreSQL."""

from __future__ import annotations

import pytest

from chatbot.models import Conversation, Message
from tests.conftest import reply_text

pytestmark = pytest.mark.django_db


def test_product_question_streams_an_answer_with_real_products(chat, catalogue):
    events = chat.ask("Do you have any running shoes?")
    names = [name for name, _ in events]
    assert names[0] == "message"
    assert names[-1] == "done"
    assert names.count("delta") > 3, "the answer arrives in pieces"
    question = events[0][1]
    assert question["role"] == "user" and question["text"] == "Do you have any running shoes?"
    text = reply_text(events)
    assert "Trail Running Shoes" in text
    assert "£89.00" in text
    done = events[-1][1]
    assert done["role"] == "assistant" and done["status"] == "done" and done["text"] == text
    assert done["products"][0]["title"] == "Trail Running Shoes"
    assert done["products"][0]["url"].startswith("/catalogue/")


def test_history_comes_back_on_the_next_get(chat, catalogue):
    chat.ask("hello")
    chat.ask("ceramic teapot")
    history = chat.history()
    assert history["conversation"]["state"] == "bot"
    roles = [m["role"] for m in history["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert "Ceramic Teapot" in history["messages"][3]["text"]
    assert all(m["status"] == "done" for m in history["messages"])


def test_a_new_visitor_has_no_history(chat):
    assert chat.history() == {"conversation": None, "messages": []}


@pytest.mark.parametrize(
    "question, expected",
    [
        ("hikng boots", "Leather Hiking Boots"),  # typo
        ("teapots", "Ceramic Teapot"),  # plural
        ("water bottles", "Stainless Steel Water Bottle"),
        ("有没有龙井茶", "龙井绿茶"),  # Chinese
    ],
)
def test_search_forgives_typos_plurals_and_speaks_chinese(chat, catalogue, question, expected):
    assert expected in reply_text(chat.ask(question))


def test_stock_is_reported(chat, catalogue):
    assert "out of stock" in reply_text(chat.ask("waterproof jacket"))
    assert "only 2 left" in reply_text(chat.ask("leather hiking boots"))


def test_chinese_question_gets_a_chinese_answer(chat, catalogue):
    text = reply_text(chat.ask("请问有龙井绿茶吗？"))
    assert "为您找到" in text and "有货" in text


def test_unknown_product_says_so(chat, catalogue):
    text = reply_text(chat.ask("do you sell submarines"))
    assert "couldn't find any products" in text


def test_greeting_offers_suggestions(chat):
    done = chat.ask("hello")[-1][1]
    assert "assistant" in done["text"]
    assert done["suggestions"]


def test_guest_keeps_conversation_after_login(chat, catalogue, customers):
    chat.ask("ceramic teapot")
    assert chat.client.login(username="alice", password="alice-pass")
    history = chat.history()
    assert len(history["messages"]) == 2
    assert Conversation.objects.get().user == customers["alice"]


def test_card_numbers_are_masked_before_storing(chat):
    events = chat.ask("my card is 4111 1111 1111 1111 cvv 123, why was it declined?")
    stored = Message.objects.get(role="user").text
    assert "4111" not in stored.replace("ending 1111", "")
    assert "[card ending 1111]" in stored and "cvv [hidden]" in stored
    assert events[0][1]["text"] == stored


def test_a_returning_visitors_message_costs_a_fixed_number_of_queries(chat, settings, django_assert_num_queries):
    """Session, the locked conversation, its counts, question and reply in one insert, the conversation's
    time, the history, the finished reply: the same nine queries however long the conversation is."""
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.RecordingProvider"}
    for _ in range(3):
        chat.ask("hello")
    with django_assert_num_queries(9):
        events = chat.ask("hello again")
    assert [name for name, _ in events] == ["message", "delta", "done"]
    messages = chat.history()["messages"]
    assert [(m["role"], m["text"], m["status"]) for m in messages[-2:]] == [
        ("user", "hello again", "done"),
        ("assistant", "ok", "done"),
    ]
