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
from chatbot.providers.chatbot_node import USER_ID_MAX, ChatbotNodeProvider, chunk_text, node_user_id
from chatbot.providers.http import HEALTH_CACHE_SECONDS
from tests.fakes.chat import chat_request, collect, collect_until_error
from tests.fakes.chatbot_node import FakeChatbotNode, js_parse_int

SECRET = "a-long-sso-secret-shared-with-chatbot-node-0123456789"
SHOP_ID = "shop-17"
BOT_ID = "7480000000000000017"

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
        "NODE_BOT_ID": BOT_ID,
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
    user_id = node_user_id(request.visitor)
    assert request.state == {"conversationId": node.conversation_of(user_id), "userId": user_id}
    assert node.problems == []
    sent = node.requests[-1]
    assert sent.path == "/api/coze/chat/stream"
    assert sent.json == {"shopId": SHOP_ID, "message": "Do you ship to Leeds?", "userId": user_id, "botId": BOT_ID}
    claims = node.claims[-1]
    assert claims["role"] == "service" and claims["iss"] == "shopsaas" and claims["aud"] == "chatbot-node"


def test_replies_reuse_the_upstream_connection(node, provider):
    for _ in range(3):
        assert collect(provider, chat_request("Do you ship to Leeds?")).deltas
    assert len(node.requests) == 3
    assert len({request.client for request in node.requests}) == 1, "one kept-alive connection"


def test_sends_the_conversation_id_back(node, provider, django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    first = chat_request("Do you ship to Leeds?", user=alice)
    collect(provider, first)
    again = chat_request("And to Paris?", user=alice, conversation=first.conversation)
    again.state = dict(first.state)
    collect(provider, again)
    assert node.requests[-1].json["conversationId"] == first.state["conversationId"]
    assert len(node.conversations) == 1 and node.problems == []


def test_each_visitor_has_a_conversation_of_their_own(node, provider, django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    requests = [chat_request("Hi", user=alice), chat_request("Hi"), chat_request("Hi")]
    for request in requests:
        collect(provider, request)
    user_ids = [request.json["userId"] for request in node.requests]
    assert len(set(user_ids)) == 3
    for user_id in user_ids:
        # chatbot-node's parseInt reads all of it, and it fits its 32-bit column.
        assert user_id.isdigit() and 1 <= js_parse_int(user_id) <= USER_ID_MAX == 2**31 - 1
    assert str(alice.pk) not in user_ids and "alice" not in str(user_ids)
    assert len({request.state["conversationId"] for request in requests}) == 3
    assert len(node.conversations) == 3 and node.problems == []


def test_a_visitor_keeps_their_number(node, provider, django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    collect(provider, chat_request("Hi", user=alice))
    collect(provider, chat_request("Hi again, in a new conversation", user=alice))
    first, second = (request.json for request in node.requests)
    assert first["userId"] == second["userId"]
    assert "conversationId" not in second
    assert len(node.conversations) == 1, "chatbot-node files both under the visitor's conversation"


def test_the_number_depends_on_the_server_secret(settings, django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    visitor = chat_request("Hi", user=alice).visitor
    before = node_user_id(visitor)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert node_user_id(visitor) != before


def test_a_conversation_id_filed_under_no_user_is_not_reused(node, provider):
    # What an older build of the app kept: chatbot-node's one conversation for every visitor.
    node.conversations["conv_shared"] = {"inboxUserId": None, "shopId": SHOP_ID, "botId": BOT_ID}
    request = chat_request("Hi")
    request.state = {"conversationId": "conv_shared"}
    collect(provider, request)
    assert "conversationId" not in node.requests[-1].json
    assert request.state["conversationId"] != "conv_shared"
    assert request.state["userId"] == node.requests[-1].json["userId"]


def test_bot_id_falls_back_to_coze_bot_id(node, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_BOT_ID": "", "COZE_BOT_ID": "7480000000000000099"}
    assert collect(get_provider(), chat_request("Hi")).deltas
    assert node.requests[-1].json["botId"] == "7480000000000000099"


def test_no_bot_id_is_an_error_before_calling(node, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "NODE_BOT_ID": "", "COZE_BOT_ID": ""}
    events, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert events == [] and isinstance(error, ProviderError) and "CHATBOT_NODE_BOT_ID" in error.detail
    assert node.requests == []


def test_a_stream_that_starts_then_goes_silent_ends_after_the_idle_time(node, provider, settings):
    # Coze answered JSON (an expired token, a wrong bot): chatbot-node sends "started", then nothing.
    node.scenario = "coze_json"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 60, "STREAM_IDLE_TIMEOUT": 0.05}
    events, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert events == []
    assert isinstance(error, ProviderTimeout) and "started, then sent nothing for 0.05 s" in error.detail
    assert node.client_gone.wait(5), "the held-open response is closed"


def test_without_an_idle_time_the_read_timeout_still_ends_a_silent_stream(node, provider, settings):
    node.scenario = "coze_json"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 0.2, "STREAM_IDLE_TIMEOUT": 0}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout) and error.detail == "the stream stalled"


def test_a_conversation_chatbot_node_no_longer_has_is_started_again(node, provider):
    # Deleted in chatbot-node's admin, or a new database there: it answers "Conversation not found".
    request = chat_request("Hi")
    request.state = {"conversationId": "conv_gone", "userId": node_user_id(request.visitor)}
    got = collect(provider, request)
    assert got.text == "Hello, we ship within 2 days."
    asked = [r.json for r in node.requests]
    assert asked[0]["conversationId"] == "conv_gone" and "conversationId" not in asked[1]
    assert request.state["conversationId"] == node.conversation_of(request.state["userId"])
    assert node.problems == []


def test_the_json_endpoint_also_starts_a_lost_conversation_again(node, provider):
    node.scenario = "no_stream"
    request = chat_request("Hi")
    request.state = {"conversationId": "conv_gone", "userId": node_user_id(request.visitor)}
    assert collect(provider, request).text == "Hello, we ship within 2 days."
    assert node.paths() == ["/api/coze/chat/stream", "/api/coze/chat", "/api/coze/chat"]
    assert request.state["conversationId"] == node.conversation_of(request.state["userId"])


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
    assert request.state["conversationId"] == node.conversation_of(node_user_id(request.visitor))
    assert node.requests[-1].json["botId"] == BOT_ID
    assert node.paths() == ["/api/coze/chat/stream", "/api/coze/chat"]
    # The process remembers that the stream path is missing.
    collect(provider, chat_request("Again"))
    assert node.paths()[-1] == "/api/coze/chat"
    assert node.problems == []


def test_a_wrong_secret_is_an_auth_error_where_tokens_are_checked(node, provider, settings):
    node.checks_tokens = True  # the deployed service checks none on chat; a gateway in front may
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
    assert described["CHATBOT_NODE_BOT_ID"] == BOT_ID
    assert SECRET not in repr(described)


def test_describe_says_where_the_bot_id_comes_from(settings):
    from chatbot.conf import chatbot_settings

    settings.CHATBOT = {**settings.CHATBOT, "NODE_BOT_ID": "", "COZE_BOT_ID": "7480000000000000099"}
    assert ChatbotNodeProvider(chatbot_settings).describe()["CHATBOT_NODE_BOT_ID"] == (
        "7480000000000000099 (from COZE_BOT_ID)"
    )
    settings.CHATBOT = {**settings.CHATBOT, "COZE_BOT_ID": ""}
    assert ChatbotNodeProvider(chatbot_settings).describe()["CHATBOT_NODE_BOT_ID"] == "missing"


def test_system_checks(settings):
    from chatbot.conf import chatbot_settings

    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "chatbot_node",
        "NODE_URL": "",
        "SSO_SECRET": "short",
        "COZE_BOT_ID": "b",
    }
    ids = {m.id for m in ChatbotNodeProvider.system_checks(chatbot_settings)}
    assert ids == {"chatbot.E010", "chatbot.E012", "chatbot.W010"}
    settings.CHATBOT = {**settings.CHATBOT, "NODE_URL": "ftp://x", "SHOP_ID": "1", "SSO_SECRET": "", "COZE_BOT_ID": ""}
    ids = {m.id for m in ChatbotNodeProvider.system_checks(chatbot_settings)}
    assert ids == {"chatbot.E011", "chatbot.E013", "chatbot.E014"}


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
    user_id = node.requests[-1].json["userId"]
    conversation_id = node.conversation_of(user_id)
    assert conversation.provider_state == {"conversationId": conversation_id, "userId": user_id}
    assert conversation.provider == "chatbot_node"
    chat.ask("And to Paris?")
    assert node.requests[-1].json["conversationId"] == conversation_id
    assert node.requests[-1].json["userId"] == user_id
    assert node.problems == []


def test_chat_api_visitors_do_not_share_a_conversation(node, provider, chat, make_chat):
    chat.ask("Do you ship to Leeds?")
    make_chat().ask("Where is my order?")
    assert len(node.conversations) == 2
    by_conversation = {(cid, sender) for cid, _, sender, _ in node.messages}
    assert len({cid for cid, _ in by_conversation}) == 2


def test_chat_api_a_silent_stream_ends_with_a_timeout_error(node, provider, chat, settings):
    from chatbot.models import Message

    node.scenario = "coze_json"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 60, "STREAM_IDLE_TIMEOUT": 0.05}
    events = chat.ask("Hi")
    assert events[-1][0] == "error" and events[-1][1]["code"] == "upstream_timeout"
    assert Message.objects.get(role="assistant").status == "error"


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
