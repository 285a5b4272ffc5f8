"""The chatbot_node provider against a local server speaking chatbot-node's wire format."""

from __future__ import annotations

import pytest

from chatbot.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from chatbot.providers import get_provider
from chatbot.providers.base import Delta
from chatbot.providers.chatbot_node import ChatbotNodeProvider, chunk_text
from chatbot.providers.http import HEALTH_CACHE_SECONDS
from tests.fakes.chat import chat_request, collect, collect_until_error
from tests.fakes.chatbot_node import FakeChatbotNode

SECRET = "a-long-sso-secret-shared-with-chatbot-node-0123456789"
SHOP_ID = "shop-17"

pytestmark = pytest.mark.django_db


@pytest.fixture
def node():
    with FakeChatbotNode(SECRET, SHOP_ID) as fake:
        yield fake


@pytest.fixture
def provider(node, settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "chatbot_node",
        "NODE_URL": node.url + "/",
        "SHOP_ID": SHOP_ID,
        "SSO_SECRET": SECRET,
        "READ_TIMEOUT": 5,
    }
    provider = get_provider()
    assert isinstance(provider, ChatbotNodeProvider)
    return provider


def test_streams_deltas_and_keeps_the_conversation_id(node, provider):
    request = chat_request("Do you ship to Leeds?")
    got = collect(provider, request)
    assert got.deltas == ["Hello", ", we ship ", "within 2 days."]
    assert got.done.usage == {"token_count": 30, "output_count": 10, "input_count": 20}
    assert request.state == {"conversationId": "conv-42"}
    assert node.problems == []
    sent = node.requests[-1]
    assert sent.path == "/api/coze/chat/stream"
    assert sent.json == {"shopId": SHOP_ID, "message": "Do you ship to Leeds?", "userId": request.visitor.key}
    claims = node.claims[-1]
    assert claims["role"] == "service" and claims["iss"] == "shopsaas" and claims["aud"] == "chatbot-node"


def test_replies_reuse_the_upstream_connection(node, provider):
    for _ in range(3):
        assert collect(provider, chat_request("Do you ship to Leeds?")).deltas
    assert len(node.requests) == 3
    assert len({request.client for request in node.requests}) == 1, "one kept-alive connection"


def test_sends_the_stored_conversation_id_back(node, provider):
    request = chat_request("And to Paris?")
    request.state["conversationId"] = "conv-41"
    collect(provider, request)
    assert node.requests[-1].json["conversationId"] == "conv-41"


def test_chinese_split_across_packets(node, provider):
    node.scenario = "chinese"
    node.reply = ["您好！", "我们在", "星期三发货。进入商店看看吧"]
    got = collect(provider, chat_request("什么时候发货？"))
    assert got.text == "您好！我们在星期三发货。进入商店看看吧"
    assert "\ufffd" not in got.text


def test_falls_back_to_the_json_endpoint_and_chunks_the_answer(node, provider):
    node.scenario = "no_stream"
    node.reply = ["Our returns window is thirty days from delivery; ", "just write to us first."]
    request = chat_request("Returns?")
    got = collect(provider, request)
    assert got.text == "".join(node.reply)
    assert len(got.deltas) > 1
    assert request.state["conversationId"] == "conv-42"
    assert node.paths() == ["/api/coze/chat/stream", "/api/coze/chat"]
    # The process remembers that the stream path is missing.
    collect(provider, chat_request("Again"))
    assert node.paths()[-1] == "/api/coze/chat"
    assert node.problems == []


def test_a_wrong_secret_is_an_auth_error(node, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "SSO_SECRET": "another-secret-that-is-also-long-enough-xx"}
    events, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert events == [] and isinstance(error, ProviderAuthError)
    assert "another-secret" not in str(error)


def test_no_secret_fails_closed_before_calling(node, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "SSO_SECRET": ""}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderError)
    assert node.requests == []


def test_rate_limited_with_retry_after(node, provider):
    node.scenario = "429"
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 7


def test_server_error_before_the_stream(node, provider):
    node.scenario = "500"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [] and isinstance(error, ProviderUnavailable)


def test_error_event_mid_stream(node, provider):
    node.scenario = "error_event"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("Hello")]
    assert type(error) is ProviderError and "Coze chat failed" in error.detail


def test_connection_cut_mid_stream(node, provider):
    node.scenario = "cut"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("Hello")] and isinstance(error, ProviderUnavailable)


def test_stream_ended_by_closing_the_connection_without_completing(node, provider):
    node.scenario = "close_delimited"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert [e.text for e in events] == node.reply
    assert isinstance(error, ProviderUnavailable)


def test_a_server_that_never_answers_times_out(node, provider, settings):
    node.scenario = "hang"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 0.5}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout)


def test_closing_the_generator_closes_the_upstream_response(node, provider):
    node.scenario = "long"
    stream = provider.stream(chat_request("Hi"))
    assert next(stream) == Delta("Hello")
    stream.close()
    assert node.client_gone.wait(5)


def test_health(node, provider):
    assert provider.health().ok
    assert node.paths() == ["/health"]
    assert node.requests[0].headers.get("authorization") is None
    assert HEALTH_CACHE_SECONDS > 0


def test_health_down(node, provider):
    node.scenario = "health_down"
    result = provider.health()
    assert not result.ok and "upstream_unavailable" in result.detail


def test_describe_shows_no_secret(provider):
    described = provider.describe()
    assert described["CHATBOT_SSO_SECRET"] == "set"
    assert SECRET not in repr(described)


def test_system_checks(settings):
    from chatbot.conf import chatbot_settings

    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "chatbot_node", "NODE_URL": "", "SSO_SECRET": "short"}
    ids = {m.id for m in ChatbotNodeProvider.system_checks(chatbot_settings)}
    assert ids == {"chatbot.E010", "chatbot.E012", "chatbot.W010"}
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": "ftp://x", "SHOP_ID": "1", "SSO_SECRET": ""}
    ids = {m.id for m in ChatbotNodeProvider.system_checks(chatbot_settings)}
    assert ids == {"chatbot.E011", "chatbot.E013"}


def test_chunk_text_keeps_every_character():
    text = "Hello there, 这是一个很长很长很长很长很长很长很长很长的中文句子。 end"
    pieces = chunk_text(text, size=8)
    assert "".join(pieces) == text and all(len(p) <= 8 for p in pieces)


# -- through the chat API -------------------------------------------------------------------------


def test_chat_api_streams_the_reply_and_keeps_the_conversation_id(node, provider, chat):
    from chatbot.models import Conversation

    events = chat.ask("Do you ship to Leeds?")
    assert [name for name, _ in events] == ["message", "delta", "delta", "delta", "done"]
    assert events[-1][1]["text"] == "Hello, we ship within 2 days." and events[-1][1]["status"] == "done"
    conversation = Conversation.objects.get()
    assert conversation.provider_state == {"conversationId": "conv-42"}
    assert conversation.provider == "chatbot_node"
    chat.ask("And to Paris?")
    assert node.requests[-1].json["conversationId"] == "conv-42"
    assert node.problems == []


def test_chat_api_chinese_split_across_packets(node, provider, chat):
    from tests.conftest import reply_text

    node.scenario = "chinese"
    node.reply = ["您好！", "星期三发货。"]
    assert reply_text(chat.ask("什么时候发货？")) == "您好！星期三发货。"


def test_chat_api_error_mid_stream_keeps_the_partial_reply(node, provider, chat):
    from chatbot.models import Message

    node.scenario = "error_event"
    events = chat.ask("Hi")
    assert events[-1][0] == "error" and events[-1][1]["code"] == "upstream_error"
    assert events[-1][1]["message"]
    reply = Message.objects.get(role="assistant")
    assert reply.status == "error" and reply.text == "Hello"


def test_health_endpoint_asks_chatbot_node(node, provider, client):
    response = client.get("/api/chatbot/health")
    assert response.status_code == 200
    assert response.json()["checks"]["provider"] == {"ok": True, "detail": "ok"}
    assert node.paths() == ["/health"]


def test_health_endpoint_names_chatbot_node_when_it_is_down(node, provider, client):
    node.scenario = "health_down"
    response = client.get("/api/chatbot/health")
    assert response.status_code == 503
    provider_check = response.json()["checks"]["provider"]
    # A code, not the service's words: the endpoint needs no authentication.
    assert provider_check == {"ok": False, "detail": "upstream_unavailable"}
