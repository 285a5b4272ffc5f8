"""Order questions: only the visitor who owns an order hears about it."""

from __future__ import annotations

import pytest

from tests.conftest import reply_text

pytestmark = pytest.mark.django_db


def test_logged_in_owner_gets_the_status(chat, customers):
    chat.client.login(username="alice", password="alice-pass")
    text = reply_text(chat.ask("where is my order?"))
    assert "200001" in text and "Shipped" in text
    assert "200002" not in text and "200003" not in text
    assert "/accounts/orders/200001/" in text


def test_owner_asking_by_number(chat, customers):
    chat.client.login(username="alice", password="alice-pass")
    assert "Shipped" in reply_text(chat.ask("status of order 200001 please"))


def test_another_customer_learns_nothing_about_an_order(chat, customers):
    chat.client.login(username="bob", password="bob-pass")
    text = reply_text(chat.ask("what is the status of order 200001?"))
    assert "couldn't find order 200001" in text
    assert "Shipped" not in text and "Trail Running Shoes" not in text


def test_guest_with_number_and_email_gets_the_status(chat, customers):
    text = reply_text(chat.ask("order 200003 guest@example.com"))
    assert "200003" in text and "Being processed" in text


def test_guest_email_is_compared_case_insensitively(chat, customers):
    assert "Being processed" in reply_text(chat.ask("order 200003, GUEST@Example.com"))


@pytest.mark.parametrize(
    "question",
    [
        "order 200003 someone@example.com",  # wrong email
        "order 200001 guest@example.com",  # someone else's order with the guest's email
        "order 200001 alice@example.com",  # a logged-in customer's order, named by a guest
        "order 999999 guest@example.com",  # forged number
    ],
)
def test_guest_without_the_right_email_learns_nothing(chat, customers, question):
    text = reply_text(chat.ask(question))
    assert "couldn't find a guest order with that number and email" in text
    for secret in ("Shipped", "Pending", "Being processed", "Trail Running Shoes", "89.00"):
        assert secret not in text


def test_guest_without_details_is_asked_for_them(chat, customers):
    text = reply_text(chat.ask("where is my order 200003?"))
    assert "email address it was placed with" in text
    assert "Being processed" not in text


def test_chinese_order_question(chat, customers):
    chat.client.login(username="alice", password="alice-pass")
    text = reply_text(chat.ask("我的订单到哪了？"))
    assert "200001" in text and "订单" in text
