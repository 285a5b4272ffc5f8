"""The coze provider against a local server speaking Coze's OAuth JWT and v3 chat wire formats."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chatbot.exceptions import (
    ProviderAuthError,
    ProviderBusy,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from chatbot.providers import get_provider
from chatbot.providers.base import Delta
from chatbot.providers.coze import CozeProvider
from tests.fakes.chat import chat_request, collect, collect_until_error
from tests.fakes.coze import BOT_ID, CONVERSATION_ID, FakeCoze

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def key_pair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, private.public_key()


@pytest.fixture
def key_file(key_pair, tmp_path):
    path = tmp_path / "private_key.pem"
    path.write_bytes(key_pair[0])
    return str(path)


@pytest.fixture
def coze(key_pair):
    with FakeCoze(key_pair[1]) as fake:
        yield fake


@pytest.fixture
def provider(coze, key_file, settings):
    settings.CHATBOT = {
        **settings.CHATBOT,
        "PROVIDER": "coze",
        "COZE_API_BASE": coze.url,
        "COZE_BOT_ID": BOT_ID,
        "COZE_CLIENT_ID": coze.client_id,
        "COZE_PUBLIC_KEY_ID": coze.key_id,
        "COZE_PRIVATE_KEY_FILE": key_file,
        "COZE_API_TOKEN": "",
        "READ_TIMEOUT": 5,
    }
    provider = get_provider()
    assert isinstance(provider, CozeProvider)
    return provider


def chat_calls(fake):
    return [r for r in fake.requests if r.path == "/v3/chat"]


def test_streams_answer_deltas_only_and_offers_follow_ups(coze, provider):
    request = chat_request("2024年10月1日是星期几")
    got = collect(provider, request)
    assert got.deltas == ["2024 年 10 月 1 日", "是星期三。"]
    assert got.suggestions == ["How long is delivery?", "Can I return it?"]
    assert got.done.usage["token_count"] == 633
    assert coze.problems == []
    assert request.state == {"conversation_id": CONVERSATION_ID, "bot_id": BOT_ID}
    assert coze.paths() == ["/api/permission/oauth2/token", "/v1/conversation/create", "/v3/chat"]
    sent = chat_calls(coze)[0]
    assert sent.query == {"conversation_id": CONVERSATION_ID}
    assert sent.headers["authorization"] == "Bearer czs_1"
    assert sent.json["user_id"] != request.visitor.key  # pseudonymous, not the shop's own id
    assert sent.json["additional_messages"][-1]["content"] == "2024年10月1日是星期几"


def test_one_token_and_one_conversation_for_many_messages(coze, provider):
    request = chat_request("Hello")
    collect(provider, request)
    second = chat_request("Again", conversation=request.conversation)
    second.state = request.state
    collect(provider, second)
    assert coze.paths().count("/api/permission/oauth2/token") == 1
    assert coze.paths().count("/v1/conversation/create") == 1
    assert len(chat_calls(coze)) == 2 and coze.problems == []
    # The token, the conversation and both chats went over one kept-alive connection.
    assert len({call.client for call in coze.requests}) == 1


def test_another_bot_gets_a_new_conversation(coze, provider):
    request = chat_request("Hello")
    request.state = {"conversation_id": "old-one", "bot_id": "another-bot"}
    collect(provider, request)
    assert request.state["conversation_id"] == CONVERSATION_ID
    assert coze.problems == []


def test_chinese_split_across_packets(coze, provider):
    coze.scenario = "chinese"
    coze.reply = ["您好", "，进入商店", "后点击「订单」即可查看。"]
    got = collect(provider, chat_request("怎么看订单？"))
    assert got.text == "您好，进入商店后点击「订单」即可查看。"


def test_expired_token_is_dropped_and_the_chat_retried_once(coze, provider):
    collect(provider, chat_request("first"))
    coze.revoke_tokens()  # Coze now answers 4100 to the cached token
    got = collect(provider, chat_request("second"))
    assert got.text == "2024 年 10 月 1 日是星期三。"
    assert coze.paths().count("/api/permission/oauth2/token") == 2
    assert chat_calls(coze)[-1].headers["authorization"] == "Bearer czs_2"
    assert coze.problems == []


def test_token_refreshed_before_it_expires(coze, provider):
    coze.token_lifetime = 30  # inside the safety margin: never reused
    collect(provider, chat_request("first"))
    collect(provider, chat_request("second"))
    assert coze.paths().count("/api/permission/oauth2/token") == 2
    assert coze.problems == []


def test_auth_retried_only_once(coze, provider):
    coze.reject_tokens = True
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [] and isinstance(error, ProviderAuthError)
    assert coze.paths().count("/api/permission/oauth2/token") == 2


def test_a_token_issued_already_expired_is_refused(coze, provider):
    coze.token_lifetime = -100
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [] and isinstance(error, ProviderError)
    assert "/v3/chat" not in coze.paths()


def test_wrong_key_id_is_an_auth_error(coze, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "COZE_PUBLIC_KEY_ID": "not-registered"}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderAuthError)
    assert "kid" in error.detail


def test_personal_access_token(coze, provider, settings):
    coze.pat = "pat_test_token"
    settings.CHATBOT = {**settings.CHATBOT, "COZE_CLIENT_ID": "", "COZE_API_TOKEN": "pat_test_token"}
    got = collect(get_provider(), chat_request("Hi"))
    assert got.text and "/api/permission/oauth2/token" not in coze.paths()


def test_bad_personal_access_token_is_not_retried(coze, provider, settings):
    coze.pat = "pat_right"
    settings.CHATBOT = {**settings.CHATBOT, "COZE_CLIENT_ID": "", "COZE_API_TOKEN": "pat_wrong"}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderAuthError) and "4100" in error.detail
    assert coze.paths() == ["/v1/conversation/create"]
    assert "pat_wrong" not in error.detail


def test_json_error_instead_of_a_stream(coze, provider):
    coze.scenario = "json_error"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [] and type(error) is ProviderError and "4000" in error.detail


def test_rate_limited(coze, provider):
    coze.scenario = "429"
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 3


def test_server_error_before_the_stream(coze, provider):
    coze.scenario = "500"
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable)


def test_chat_failed_mid_stream(coze, provider):
    coze.scenario = "failed"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("2024 年 10 月 1 日")]
    assert isinstance(error, ProviderUnavailable) and "event interval error" in error.detail


def test_error_event_mid_stream(coze, provider):
    coze.scenario = "error_event"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert len(events) == 1 and type(error) is ProviderError and "model output blocked" in error.detail


def test_conversation_busy(coze, provider):
    coze.scenario = "busy"
    _, error = collect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderBusy)


def test_connection_cut_mid_stream_cancels_the_chat(coze, provider):
    coze.scenario = "cut"
    events, error = collect_until_error(provider, chat_request("Hi"))
    assert len(events) == 1 and isinstance(error, ProviderUnavailable)
    cancel = coze.requests[-1]
    assert cancel.path == "/v3/chat/cancel"
    assert cancel.json == {"conversation_id": CONVERSATION_ID, "chat_id": "7382159487131697202"}


def test_visitor_stopping_closes_the_stream_and_cancels_the_chat(coze, provider):
    coze.scenario = "long"
    stream = provider.stream(chat_request("Hi"))
    assert isinstance(next(stream), Delta)
    stream.close()
    assert coze.client_gone.wait(5)
    assert coze.paths()[-1] == "/v3/chat/cancel"


def test_a_server_that_never_answers_times_out(coze, provider, settings):
    coze.scenario = "hang"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 0.5}
    _, error = collect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout)


def test_health(coze, provider):
    assert provider.health().ok
    assert coze.requests[-1].query["bot_id"] == BOT_ID


def test_health_with_a_wrong_bot(coze, provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "COZE_BOT_ID": "123"}
    result = get_provider().health()
    assert not result.ok and "4000" in result.detail


def test_describe_shows_no_secret(provider, settings):
    settings.CHATBOT = {**settings.CHATBOT, "COZE_API_TOKEN": "pat_secret_value"}
    described = get_provider().describe()
    assert described["COZE_API_TOKEN"] == "set" and described["auth"] == "JWT app"
    assert "pat_secret_value" not in repr(described)


def test_system_checks(settings, tmp_path):
    from chatbot.conf import chatbot_settings

    def ids(**conf):
        settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "coze", **conf}
        return {m.id for m in CozeProvider.system_checks(chatbot_settings)}

    assert ids(COZE_BOT_ID="", COZE_CLIENT_ID="", COZE_API_TOKEN="") == {"chatbot.E020", "chatbot.E025"}
    assert ids(COZE_BOT_ID="1", COZE_API_TOKEN="pat_x", COZE_API_BASE="api.coze.cn") == {"chatbot.E021"}
    assert ids(COZE_BOT_ID="1", COZE_API_TOKEN="pat_x", COZE_API_BASE="https://coze.example") == {"chatbot.W020"}
    missing = str(tmp_path / "nope.pem")
    assert ids(
        COZE_BOT_ID="1",
        COZE_API_BASE="https://api.coze.com",
        COZE_CLIENT_ID="c",
        COZE_PUBLIC_KEY_ID="",
        COZE_PRIVATE_KEY_FILE=missing,
    ) == {"chatbot.E022", "chatbot.E024"}
    assert ids(COZE_CLIENT_ID="c", COZE_PUBLIC_KEY_ID="k", COZE_PRIVATE_KEY_FILE="") == {"chatbot.E023"}


# -- through the chat API -------------------------------------------------------------------------


def test_chat_api_streams_answers_and_stores_follow_ups(coze, provider, chat):
    from chatbot.models import Conversation

    events = chat.ask("星期几？")
    assert [name for name, _ in events][:3] == ["message", "delta", "delta"]
    done = events[-1][1]
    assert events[-1][0] == "done" and done["text"] == "2024 年 10 月 1 日是星期三。"
    assert done["suggestions"] == ["How long is delivery?", "Can I return it?"]
    assert Conversation.objects.get().provider_state["conversation_id"] == CONVERSATION_ID
    chat.ask("谢谢")
    assert coze.paths().count("/v1/conversation/create") == 1
    assert coze.problems == []


def test_chat_api_reports_a_busy_conversation(coze, provider, chat):
    coze.scenario = "busy"
    events = chat.ask("Hi")
    assert events[-1][0] == "error" and events[-1][1]["code"] == "upstream_busy"


def test_chat_api_asking_for_a_human_never_reaches_coze(coze, provider, chat):
    chat.ask("转人工")
    assert coze.requests == []
