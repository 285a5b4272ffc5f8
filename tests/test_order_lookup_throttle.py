"""Guest order look-ups are throttled per email and per order number in the shared cache, whatever the
session or the address: order numbers are sequential, so fresh sessions must not buy fresh guesses."""

from __future__ import annotations

import json
import re

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from chatbot.order_lookups import OrderLookupThrottled, lookup_guest_order
from chatbot.shop import get_shop
from tests.conftest import ChatClient, reply_text
from tests.fakes.openai import FakeOpenAI, openai_settings, text_answer, tool_answer

pytestmark = [pytest.mark.django_db, pytest.mark.demo]
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def shared_cache(settings):
    """Redis (db 11), as a shop with several servers configures it."""
    redis.Redis.from_url("redis://127.0.0.1:6379/11").flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/11"}
    }
    yield cache
    redis.Redis.from_url("redis://127.0.0.1:6379/11").flushdb()


@pytest.fixture
def llm(settings, shared_cache):
    with FakeOpenAI(api_key="sk-test-key") as fake:
        settings.CHATBOT = openai_settings(fake, ORDER_LOOKUP_LIMIT=5, ORDER_LOOKUP_WINDOW=600)
        yield fake


def _guess(llm: FakeOpenAI, number: str, email: str, address: str, **headers: str) -> dict:
    """A brand-new visitor (fresh session, given address) asks the assistant to look one order up."""
    llm.script = [tool_answer(("order_status", {"order_number": number, "email": email})), text_answer("ok")]
    visitor = ChatClient(Client(enforce_csrf_checks=True, REMOTE_ADDR=address))
    events = visitor.ask(f"where is order {number}? my email is {email}")
    assert events[-1][0] == "done"
    return [json.loads(m["content"]) for m in llm.completions[-1]["messages"] if m["role"] == "tool"][0]


def test_guessing_emails_for_one_order_is_stopped_even_from_fresh_sessions_and_addresses(llm, customers):
    for attempt in range(5):
        result = _guess(llm, "200003", f"guess{attempt}@example.com", f"10.0.0.{attempt + 1}")
        assert result == {"error": "no order matches that number and email"}
    # The sixth try is refused before the shop is asked, the right email included.
    refused = _guess(llm, "200003", "guest@example.com", "10.0.1.1")
    assert "orders" not in refused
    assert "try again in 10 minutes" in refused["error"] and "sign in" in refused["error"]
    # Another order and another email are not affected.
    assert "orders" not in _guess(llm, "200002", "bob@example.com", "10.0.1.2")  # an account's order
    unrelated = _guess(llm, "200004", "someone@example.com", "10.0.1.3")
    assert unrelated == {"error": "no order matches that number and email"}


def test_guessing_order_numbers_for_one_email_is_stopped(llm, customers):
    for number in ("199990", "199991", "199992", "199993", "#199994"):
        assert "orders" not in _guess(llm, number, "Guest@Example.com ", "10.0.2.1")
    refused = _guess(llm, "200003", "guest@example.com", "10.0.2.9")
    assert "orders" not in refused and "sign in" in refused["error"]


def test_a_right_pair_still_works_below_the_limit(llm, customers):
    for attempt in range(4):
        _guess(llm, "200003", f"wrong{attempt}@example.com", "10.0.3.1")
    right = _guess(llm, "200003", "guest@example.com", "10.0.3.2")
    assert right["orders"][0]["number"] == "200003"


def test_the_limit_holds_in_the_shared_cache_and_names_its_kind(settings, shared_cache, customers):
    settings.CHATBOT = {**settings.CHATBOT, "ORDER_LOOKUP_LIMIT": 2, "ORDER_LOOKUP_WINDOW": 60}
    shop = get_shop()
    assert lookup_guest_order(shop, "200003", "a@example.com") is None
    assert lookup_guest_order(shop, "200003", "b@example.com") is None
    with pytest.raises(OrderLookupThrottled) as refused:
        lookup_guest_order(shop, "200003", "guest@example.com")
    assert (refused.value.kind, refused.value.status, refused.value.code) == ("order", 429, "order_lookup_throttled")
    assert "1 minute" in refused.value.message
    from django.utils import translation

    with translation.override("zh-hans"):
        assert CJK.search(refused.value.message)
    # Nothing readable about the customer is kept in the cache.
    keys = [key.decode() for key in redis.Redis.from_url("redis://127.0.0.1:6379/11").keys("*")]
    assert keys and not [key for key in keys if "example.com" in key or "200003" in key]


def test_the_limit_can_be_switched_off(settings, shared_cache, customers):
    settings.CHATBOT = {**settings.CHATBOT, "ORDER_LOOKUP_LIMIT": 0}
    shop = get_shop()
    for attempt in range(10):
        assert lookup_guest_order(shop, "200003", f"x{attempt}@example.com") is None
    assert lookup_guest_order(shop, "200003", "guest@example.com").number == "200003"


def test_the_local_assistant_says_kindly_when_guesses_are_stopped(settings, shared_cache, customers):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "local", "ORDER_LOOKUP_LIMIT": 3, "ORDER_LOOKUP_WINDOW": 600}
    for attempt in range(3):
        visitor = ChatClient(Client(enforce_csrf_checks=True, REMOTE_ADDR=f"10.0.1.{attempt}"))
        text = reply_text(visitor.ask(f"where is order 200003? my email is guess{attempt}@example.com"))
        assert "couldn't find a guest order" in text
    visitor = ChatClient(Client(enforce_csrf_checks=True, REMOTE_ADDR="10.0.1.9"))
    events = visitor.ask("where is order 200003? my email is guest@example.com")
    text = reply_text(events)
    assert events[-1][0] == "done" and "Being processed" not in text
    assert "minute" in text or "sign in" in text
