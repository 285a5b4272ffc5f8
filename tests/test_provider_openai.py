"""The openai provider against a local OpenAI-compatible server, tools backed by a test shop."""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from chatbot.exceptions import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from chatbot.providers import get_provider
from chatbot.providers.base import Delta
from chatbot.providers.openai import OpenAIProvider
from chatbot.providers.shop_tools import ShopTools
from tests.fakes.chat import chat_request, collect, collect_until_error
from tests.fakes.openai import MODEL, FakeOpenAI, chunk, openai_settings, text_answer, tool_answer
from tests.fakes.shop import FakeShop

pytestmark = pytest.mark.django_db


@pytest.fixture
def llm():
    with FakeOpenAI(api_key="sk-test-key") as fake:
        yield fake


@pytest.fixture
def provider(llm, settings):
    settings.CHATBOT = openai_settings(llm, OPENAI_MAX_TOOL_ROUNDS=3, SHOP_NAME="", READ_TIMEOUT=5)
    provider = get_provider()
    assert isinstance(provider, OpenAIProvider)
    return provider


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice-openai", "alice@example.com", "pw")


def test_streams_text_with_system_prompt_and_history(llm, provider):
    request = chat_request(
        "And the price?", shop=FakeShop(), history=[("user", "Do you sell tents?"), ("assistant", "Yes.")]
    )
    got = collect(provider, request)
    assert got.deltas == ["Hello", " there"]
    assert got.done.usage == {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}
    body = llm.completions[0]
    system = body["messages"][0]["content"]
    assert "Maple & Pine" in system and "other customers" in system
    assert body["messages"][1:] == [
        {"role": "user", "content": "Do you sell tents?"},
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "And the price?"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["search_products", "get_product", "order_status"]
    assert llm.problems == []


def test_no_authorization_header_without_a_key(settings):
    with FakeOpenAI(api_key=None) as llm:
        settings.CHATBOT = openai_settings(llm, READ_TIMEOUT=5)
        assert collect(get_provider(), chat_request("Hi")).text == "Hello there"
        assert llm.problems == []


def test_chinese_split_across_packets(llm, provider):
    llm.piece = 1
    llm.script = [text_answer("您好！", "帐篷进入", "库存充足。")]
    assert collect(provider, chat_request("有帐篷吗？")).text == "您好！帐篷进入库存充足。"


def test_tool_call_fragments_are_assembled_and_products_become_cards(llm, provider):
    llm.script = [
        tool_answer(("search_products", {"query": "tent"})),
        text_answer("The Trail Tent 2P is £149 and in stock."),
    ]
    shop = FakeShop()
    got = collect(provider, chat_request("Any tents?", shop=shop))
    assert got.text == "The Trail Tent 2P is £149 and in stock."
    assert [card["title"] for card in got.products] == ["Trail Tent 2P"]
    assert shop.calls == [("search_products", "tent")]
    second = llm.completions[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"] == {"name": "search_products", "arguments": '{"query": "tent"}'}
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == "call_search_products_0"
    assert json.loads(second[-1]["content"])["products"][0]["price"] == "£149.00"


def test_whole_tool_calls_in_one_chunk_ollama_style(llm, provider):
    llm.script = [
        tool_answer(("get_product", {"product_id": "9"}), ("search_products", {"query": "tea"}), whole=True),
        text_answer("Sencha is out of stock."),
    ]
    got = collect(provider, chat_request("Sencha?", shop=FakeShop()))
    assert got.text == "Sencha is out of stock."
    tool_messages = [m for m in llm.completions[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_get_product_0", "call_search_products_1"]


def test_tool_rounds_are_bounded(llm, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "OPENAI_MAX_TOOL_ROUNDS": 2}
    llm.script = [tool_answer(("search_products", {"query": "tent"}))]
    _, error = collect_until_error(get_provider(), chat_request("Loop", shop=FakeShop()))
    assert isinstance(error, ProviderBadResponse)
    assert len(llm.completions) == 3
    assert [c["tool_choice"] for c in llm.completions] == ["auto", "auto", "none"]


def test_a_model_without_tools_is_asked_again_without_them(llm, provider):
    llm.refuse_tools = True
    assert collect(provider, chat_request("Hi")).text == "Hello there"
    assert "tools" in llm.completions[0] and "tools" not in llm.completions[1]
    collect(provider, chat_request("Again"))
    assert "tools" not in llm.completions[2]


def test_guest_order_status_needs_number_and_email(llm, provider):
    llm.script = [
        tool_answer(("order_status", {"order_number": "100002"})),
        tool_answer(("order_status", {"order_number": "100002", "email": "someone@else.com"})),
        tool_answer(("order_status", {"order_number": "100002", "email": "BOB@example.com"})),
        text_answer("Your order is being processed."),
    ]
    shop = FakeShop()
    collect(provider, chat_request("Where is 100002?", shop=shop))
    results = [json.loads(m["content"]) for m in llm.completions[-1]["messages"] if m["role"] == "tool"]
    assert "email" in results[0]["error"]
    assert results[1] == {"error": "no order matches that number and email"}
    assert results[2]["orders"][0]["status"] == "Processing"
    assert [c[0] for c in shop.calls] == ["order_lookup", "order_lookup"]


def test_logged_in_visitor_sees_only_their_own_orders(llm, provider, alice):
    llm.script = [
        tool_answer(("order_status", {"order_number": "100002", "email": "bob@example.com"})),
        tool_answer(("order_status", {})),
        text_answer("Done."),
    ]
    shop = FakeShop(owner_orders={alice.pk: ["100001"]})
    collect(provider, chat_request("My orders?", user=alice, shop=shop))
    results = [json.loads(m["content"]) for m in llm.completions[-1]["messages"] if m["role"] == "tool"]
    # Bob's order number with Bob's email is still not Alice's order.
    assert results[0] == {"error": "this customer has no order with that number"}
    assert [o["number"] for o in results[1]["orders"]] == ["100001"]
    assert all(call[0] == "orders_for" for call in shop.calls)


def test_tool_errors_are_told_to_the_model(db, alice):
    tools = ShopTools(chat_request("x", shop=FakeShop()))
    assert "unknown tool" in json.loads(tools.call("delete_everything", "{}"))["error"]
    assert "not valid JSON" in json.loads(tools.call("search_products", "{oops"))["error"]
    assert "wrong arguments" in json.loads(tools.call("search_products", '{"nope": "x"}'))["error"]


def test_wrong_key_is_an_auth_error(llm, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "OPENAI_API_KEY": "sk-wrong"}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderAuthError) and "sk-wrong" not in error.detail


def test_rate_limited(llm, provider):
    llm.status = (429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "20"})
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 20


def test_server_error_before_the_stream(llm, provider):
    llm.status = (500, {"error": {"message": "boom", "type": "api_error"}}, {})
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable)


def test_error_chunk_mid_stream(llm, provider):
    llm.script = [[chunk({"content": "Hel"}), {"error": {"message": "model crashed", "type": "server_error"}}]]
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("Hel")] and type(error) is ProviderError and "model crashed" in error.detail


def test_llama_cpp_error_line(llm, provider):
    llm.script = [[b'error: {"code":400,"message":"the request exceeds the available context size"}\n\n']]
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderError) and "context size" in error.detail


def test_a_server_that_ignores_stream_true(llm, provider):
    completion = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Whole answer."}, "finish_reason": "stop"}
        ],
    }
    llm.script = [[json.dumps(completion).encode(), "no-done"]]
    assert collect(provider, chat_request("Hi")).deltas == ["Whole answer."]


def test_keep_alive_comments_are_ignored(llm, provider):
    llm.script = [[b": OPENROUTER PROCESSING\n\n", *text_answer("Hi")]]
    assert collect(provider, chat_request("Hi")).text == "Hi"


def test_connection_cut_mid_stream(llm, provider):
    llm.script = [[chunk({"content": "Hel"}), "cut"]]
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("Hel")] and isinstance(error, ProviderUnavailable)


def test_stream_ending_without_finish_or_done(llm, provider):
    llm.script = [[chunk({"content": "Hel"}), "no-done"]]
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable)


def test_a_server_that_never_answers_times_out(llm, provider, settings):
    llm.script = ["hang"]
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 0.5}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout)


# "long": nothing more at all; "murmur": keep-alive comments only, which do not count as events.
@pytest.mark.parametrize("silence", ["long", "murmur"])
def test_a_stream_that_goes_silent_ends_after_the_idle_time(llm, provider, settings, silence):
    # The idle limit lives in the shared HTTP base: every remote provider gets it.
    llm.script = [[chunk({"content": "Hel"}), silence]]
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 60, "STREAM_IDLE_TIMEOUT": 0.05}
    events, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert events == [Delta("Hel")]
    assert isinstance(error, ProviderTimeout) and "sent nothing for 0.05 s" in error.detail
    assert llm.client_gone.wait(5)


def test_replies_reuse_the_upstream_connection(llm, provider):
    # Closed with the end of its body unread, a finished stream's connection was thrown away: every
    # reply opened a new one (over HTTPS, a TLS handshake before its first token).
    for _ in range(3):
        assert collect(provider, chat_request("Hi")).text == "Hello there"
    assert len(llm.requests) == 3
    assert len({request.client for request in llm.requests}) == 1, "one kept-alive connection"


def test_a_body_that_does_not_end_after_done_costs_its_connection_not_the_reply(llm, provider):
    llm.script = [[*text_answer("Hello", " there"), "stall"], text_answer("Again")]
    assert collect(provider, chat_request("Hi")).text == "Hello there"
    assert llm.client_gone.wait(5), "the connection was given up"
    assert collect(provider, chat_request("Hi")).text == "Again"
    assert len({request.client for request in llm.requests}) == 2


def test_closing_the_generator_closes_the_upstream_response(llm, provider):
    llm.script = [[chunk({"content": "Hel"}), "long"]]
    stream = provider.stream(chat_request("Hi"))
    assert next(stream) == Delta("Hel")
    stream.close()
    assert llm.client_gone.wait(5)


def test_health(llm, provider, settings):
    assert provider.health().ok
    settings.CHATBOT = {**settings.CHATBOT, "OPENAI_MODEL": "other-model"}
    result = get_provider().health()
    assert result.ok and "not listed" in result.detail


def test_health_down(settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    result = get_provider().health()
    assert not result.ok and "upstream_unavailable" in result.detail


def test_system_checks(settings):
    from chatbot.conf import chatbot_settings

    def ids(**conf):
        settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "openai", **conf}
        return {m.id for m in OpenAIProvider.system_checks(chatbot_settings)}

    assert ids(OPENAI_BASE_URL="", OPENAI_MODEL="") == {"chatbot.E030", "chatbot.E033"}
    assert ids(OPENAI_BASE_URL="localhost:11434", OPENAI_MODEL="m") == {"chatbot.E031"}
    assert ids(OPENAI_BASE_URL="https://api.openai.com/v1", OPENAI_API_KEY="") == {"chatbot.E032"}
    assert ids(OPENAI_BASE_URL="http://x/v1", OPENAI_MAX_TOOL_ROUNDS=-1) == {"chatbot.E034"}
    assert ids(OPENAI_BASE_URL="http://x/v1", OPENAI_MAX_TOOL_ROUNDS=3) == set()


# -- through the chat API, with the real Oscar shop -------------------------------------------------


def tool_results(llm) -> list[dict]:
    return [json.loads(m["content"]) for m in llm.completions[-1]["messages"] if m["role"] == "tool"]


def test_chat_api_answers_from_the_oscar_catalogue(llm, provider, chat, catalogue):
    from tests.conftest import reply_text

    llm.script = [tool_answer(("search_products", {"query": "teapot"})), text_answer("We have a ", "teapot.")]
    events = chat.ask("Do you sell teapots?")
    assert reply_text(events) == "We have a teapot."
    assert tool_results(llm)[0]["products"][0]["title"] == "Ceramic Teapot"
    done = events[-1][1]
    assert events[-1][0] == "done" and done["products"][0]["title"] == "Ceramic Teapot"


def test_chat_api_logged_in_customer_sees_only_their_orders(llm, provider, chat, customers):
    chat.client.force_login(customers["alice"])
    llm.script = [
        tool_answer(("order_status", {})),
        tool_answer(("order_status", {"order_number": "200002", "email": "bob@example.com"})),
        text_answer("Your order has shipped."),
    ]
    chat.ask("Where is my order?")
    mine, bobs = tool_results(llm)
    assert [o["number"] for o in mine["orders"]] == ["200001"]
    assert "orders" not in bobs


def test_chat_api_guest_order_lookup(llm, provider, chat, customers):
    llm.script = [
        tool_answer(("order_status", {"order_number": "200003", "email": "someone@example.com"})),
        tool_answer(("order_status", {"order_number": "200003", "email": "guest@example.com"})),
        text_answer("It is being processed."),
    ]
    chat.ask("Order 200003?")
    wrong, right = tool_results(llm)
    assert "orders" not in wrong
    assert right["orders"][0]["status"] == "Being processed"


def test_chat_api_rate_limit_is_an_error_event(llm, provider, chat):
    llm.status = (429, {"error": {"message": "slow down"}}, {"Retry-After": "5"})
    events = chat.ask("Hi")
    assert events[-1] == ("error", {**events[-1][1], "code": "upstream_rate_limited"})


@pytest.mark.django_db(transaction=True)
def test_chat_api_disconnect_closes_the_upstream_stream(llm, provider, live_server):
    from chatbot.models import Message
    from chatbot.signals import reply_finished

    finished = threading.Event()

    def on_finished(**kwargs):
        finished.set()

    reply_finished.connect(on_finished, weak=False)
    llm.script = [[chunk({"content": "Hel"}), "pause", "flood"]]
    url = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    csrf = "c" * 32
    conn.request(
        "POST",
        "/api/chatbot/messages",
        body=json.dumps({"text": "Hi"}),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": csrf,
            "Cookie": f"csrftoken={csrf}",
            "Referer": live_server.url + "/",
        },
    )
    response = conn.getresponse()
    received = b""
    while b'"Hel"' not in received:
        received += response.read1(4096)
    # The visitor closes the tab; the model keeps talking until someone hangs up on it.
    response.close()
    conn.close()
    llm.proceed.set()
    try:
        assert llm.client_gone.wait(10), "the upstream stream was never closed"
        assert finished.wait(10)
    finally:
        reply_finished.disconnect(on_finished)
    reply = Message.objects.get(role="assistant")
    assert reply.status == "stopped" and reply.text.startswith("Hel")
