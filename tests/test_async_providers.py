"""The remote providers on the event loop (``astream``, aiohttp) against the same local servers that
speak each service's wire format as the blocking tests: the same answers, the same typed errors, and
an upstream request that ends when the visitor stops."""

from __future__ import annotations

import asyncio
import sys
from contextlib import aclosing

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
from chatbot.providers.chatbot_node import node_user_id
from tests.fakes.chat import acollect, acollect_until_error, arun, chat_request, collect
from tests.fakes.chatbot_node import FakeChatbotNode
from tests.fakes.coze import BOT_ID as COZE_BOT
from tests.fakes.coze import FakeCoze
from tests.fakes.openai import FakeOpenAI, chunk, openai_settings, text_answer, tool_answer
from tests.fakes.shop import FakeShop

pytestmark = pytest.mark.django_db

NODE_SECRET = "a-long-sso-secret-shared-with-chatbot-node-0123456789"
NODE_SHOP = "shop-17"
NODE_BOT = "7480000000000000017"


@pytest.fixture
def llm():
    with FakeOpenAI(api_key="sk-test-key") as fake:
        yield fake


@pytest.fixture
def openai(llm, settings):
    settings.CHATBOT = openai_settings(llm, OPENAI_MAX_TOOL_ROUNDS=3, SHOP_NAME="", READ_TIMEOUT=5)
    return get_provider()


@pytest.fixture(scope="module")
def key_pair():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, private.public_key()


@pytest.fixture
def coze(key_pair, tmp_path, settings):
    key_file = tmp_path / "private_key.pem"
    key_file.write_bytes(key_pair[0])
    with FakeCoze(key_pair[1]) as fake:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "coze",
            "COZE_API_BASE": fake.url,
            "COZE_BOT_ID": COZE_BOT,
            "COZE_CLIENT_ID": fake.client_id,
            "COZE_PUBLIC_KEY_ID": fake.key_id,
            "COZE_PRIVATE_KEY_FILE": str(key_file),
            "COZE_API_TOKEN": "",
            "READ_TIMEOUT": 5,
        }
        yield fake


@pytest.fixture
def node(settings):
    with FakeChatbotNode(NODE_SECRET, NODE_SHOP) as fake:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "chatbot_node",
            "NODE_URL": fake.url + "/",
            "SHOP_ID": NODE_SHOP,
            "SSO_SECRET": NODE_SECRET,
            "NODE_BOT_ID": NODE_BOT,
            "READ_TIMEOUT": 5,
        }
        yield fake


def stop_after_first_delta(provider, request, fake):
    """Read until the first delta, close the async iterator, and report whether the fake saw its
    connection closed before anything else happened (the session is still open)."""

    async def run():
        async with aclosing(provider.astream(request)) as events:
            first = await anext(events)
        # The transport closes on the loop's next turn: wait for the fake without blocking the loop.
        gone = await asyncio.to_thread(fake.client_gone.wait, 5)
        return first, gone

    return arun(provider, run)


# -- the same answers as the blocking path -------------------------------------------------------


def test_openai_answer_equals_the_blocking_one(llm, openai):
    assert acollect(openai, chat_request("Hi")).events == collect(openai, chat_request("Hi")).events
    assert llm.problems == []


def test_openai_tool_rounds_and_product_cards(llm, openai):
    script = [tool_answer(("search_products", {"query": "tent"})), text_answer("The Trail Tent 2P is £149.")]
    llm.script = list(script)
    shop = FakeShop()
    got = acollect(openai, chat_request("Any tents?", shop=shop))
    llm.script = list(script)
    assert got.events == collect(openai, chat_request("Any tents?", shop=FakeShop())).events
    assert got.text == "The Trail Tent 2P is £149." and [c["title"] for c in got.products] == ["Trail Tent 2P"]
    assert shop.calls == [("search_products", "tent")]
    assert llm.completions[0] == llm.completions[2] and llm.completions[1] == llm.completions[3]


def test_openai_model_without_tools_is_asked_again_without_them(llm, openai):
    llm.refuse_tools = True
    assert acollect(openai, chat_request("Hi")).text == "Hello there"
    assert "tools" in llm.completions[0] and "tools" not in llm.completions[1]


def test_coze_answer_equals_the_blocking_one(coze):
    provider = get_provider()
    first, second = chat_request("Hi"), chat_request("Hi")
    got = acollect(provider, first)
    assert got.events == collect(provider, second).events
    assert got.suggestions == ["How long is delivery?", "Can I return it?"] and got.done.usage["token_count"] == 633
    assert first.state == second.state and coze.problems == []
    # One token for both replies: the loop took the cached one without a thread.
    assert coze.paths().count("/api/permission/oauth2/token") == 1


def test_coze_revoked_token_is_fetched_again_once(coze):
    provider = get_provider()
    acollect(provider, chat_request("first"))
    coze.revoke_tokens()  # Coze now answers 4100 (status 200, a JSON body) to the cached token
    assert acollect(provider, chat_request("second")).text == "2024 年 10 月 1 日是星期三。"
    assert coze.paths().count("/api/permission/oauth2/token") == 2


def test_chatbot_node_answer_equals_the_blocking_one(node):
    provider = get_provider()
    first, second = chat_request("Do you ship?"), chat_request("Do you ship?")
    got = acollect(provider, first)
    assert got.deltas == ["Hello", ", we ship ", "within 2 days."]
    assert got.events == collect(provider, second).events
    assert first.state["conversationId"] and node.problems == []


def test_chatbot_node_lost_conversation_and_json_endpoint(node):
    node.scenario = "no_stream"
    provider = get_provider()
    request = chat_request("Hi")
    request.state = {"conversationId": "conv_gone", "userId": node_user_id(request.visitor)}
    assert acollect(provider, request).text == "Hello, we ship within 2 days."
    assert node.paths() == ["/api/coze/chat/stream", "/api/coze/chat", "/api/coze/chat"]
    assert request.state["conversationId"] == node.conversation_of(request.state["userId"])


# -- failures ----------------------------------------------------------------------------------


def test_connection_cut_mid_stream_after_the_deltas(llm, openai):
    llm.script = [[chunk({"content": "Hel"}), "cut"]]
    events, error = acollect_until_error(openai, chat_request("Hi"))
    assert events == [Delta("Hel")] and isinstance(error, ProviderUnavailable)


def test_stream_ending_without_finish_or_done(llm, openai):
    llm.script = [[chunk({"content": "Hel"}), "no-done"]]
    events, error = acollect_until_error(openai, chat_request("Hi"))
    assert events == [Delta("Hel")] and isinstance(error, ProviderUnavailable)


def test_error_chunk_and_llama_cpp_error_line(llm, openai):
    llm.script = [[chunk({"content": "Hel"}), {"error": {"message": "model crashed", "type": "server_error"}}]]
    events, error = acollect_until_error(openai, chat_request("Hi"))
    assert events == [Delta("Hel")] and type(error) is ProviderError and "model crashed" in error.detail
    llm.script = [[b'error: {"code":400,"message":"the request exceeds the available context size"}\n\n']]
    _, error = acollect_until_error(openai, chat_request("Hi"))
    assert isinstance(error, ProviderError) and "context size" in error.detail


def test_coze_failures_mid_stream(coze):
    provider = get_provider()
    coze.scenario = "failed"
    events, error = acollect_until_error(provider, chat_request("Hi"))
    assert events == [Delta("2024 年 10 月 1 日")] and isinstance(error, ProviderUnavailable)
    coze.scenario = "busy"
    _, error = acollect_until_error(provider, chat_request("Hi"))
    assert isinstance(error, ProviderBusy)


def test_wrong_key_is_an_auth_error(llm, openai, settings):
    settings.CHATBOT = {**settings.CHATBOT, "OPENAI_API_KEY": "sk-wrong"}
    _, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderAuthError) and "sk-wrong" not in error.detail
    assert "Incorrect API key" in error.detail


def test_rate_limited_with_retry_after(llm, openai, coze):
    llm.status = (429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"Retry-After": "20"})
    _, error = acollect_until_error(openai, chat_request("Hi"))
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 20
    coze.scenario = "429"
    _, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 3


def test_server_errors_before_the_stream(llm, openai, node):
    llm.status = (500, {"error": {"message": "boom", "type": "api_error"}}, {})
    _, error = acollect_until_error(openai, chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable) and "boom" in error.detail
    node.scenario = "500"
    _, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable)


def test_nothing_listening_is_unavailable(llm, openai, settings):
    llm.stop()
    _, error = acollect_until_error(openai, chat_request("Hi"))
    assert isinstance(error, ProviderUnavailable)


# -- time limits ---------------------------------------------------------------------------------


def test_a_server_that_never_answers_times_out(llm, openai, settings):
    llm.script = ["hang"]
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 0.3}
    _, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout)


@pytest.mark.parametrize("silence", ["long", "murmur"])
def test_a_stream_that_goes_silent_ends_after_the_idle_time(llm, openai, settings, silence):
    llm.script = [[chunk({"content": "Hel"}), silence]]
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 60, "STREAM_IDLE_TIMEOUT": 0.05}
    events, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert events == [Delta("Hel")]
    assert isinstance(error, ProviderTimeout) and "sent nothing for 0.05 s" in error.detail
    assert llm.client_gone.wait(5)


def test_chatbot_node_silent_after_started(node, settings):
    node.scenario = "coze_json"
    settings.CHATBOT = {**settings.CHATBOT, "READ_TIMEOUT": 60, "STREAM_IDLE_TIMEOUT": 0.05}
    _, error = acollect_until_error(get_provider(), chat_request("Hi"))
    assert isinstance(error, ProviderTimeout) and "sent nothing" in error.detail


# -- the visitor stops ---------------------------------------------------------------------------


def test_closing_the_iterator_ends_the_upstream_request(llm, openai):
    llm.script = [[chunk({"content": "Hel"}), "long"]]
    first, gone = stop_after_first_delta(openai, chat_request("Hi"), llm)
    assert first == Delta("Hel") and gone


def test_cancelling_the_reading_task_ends_the_upstream_request(llm, openai):
    llm.script = [[chunk({"content": "Hel"}), "long"]]
    request = chat_request("Hi")

    async def run():
        started = asyncio.Event()

        async def read():
            async with aclosing(openai.astream(request)) as events:
                async for _ in events:
                    started.set()

        task = asyncio.create_task(read())
        await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
        assert started.is_set(), task.exception()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await asyncio.to_thread(llm.client_gone.wait, 5)

    assert arun(openai, run)


def test_coze_cancels_the_abandoned_chat(coze):
    coze.scenario = "long"
    first, gone = stop_after_first_delta(get_provider(), chat_request("Hi"), coze)
    assert first == Delta("2024 年 10 月 1 日") and gone
    cancel = [r for r in coze.requests if r.path == "/v3/chat/cancel"]
    assert len(cancel) == 1 and cancel[0].json["chat_id"] and coze.problems == []


def test_chatbot_node_stop_closes_the_stream(node):
    node.scenario = "long"
    first, gone = stop_after_first_delta(get_provider(), chat_request("Hi"), node)
    assert first == Delta("Hello") and gone


# -- connections and bytes -------------------------------------------------------------------------


def test_replies_reuse_one_kept_alive_connection(llm, openai):
    requests = [chat_request("Hi") for _ in range(3)]

    async def three():
        return [[e async for e in openai.astream(request)] for request in requests]

    # The requests' own session is not used: the fake counts the aiohttp connection only.
    replies = arun(openai, three)
    assert [len(reply) for reply in replies] == [3, 3, 3]
    assert llm.connections == 1 and len(llm.requests) == 3


def test_a_body_that_does_not_end_after_done_costs_its_connection_not_the_reply(llm, openai):
    llm.script = [[*text_answer("Hello", " there"), "stall"], text_answer("Again")]

    requests = [chat_request("Hi"), chat_request("Hi")]

    async def two():
        return [[e async for e in openai.astream(request)] for request in requests]

    first, second = arun(openai, two)
    assert first[:2] == [Delta("Hello"), Delta(" there")] and second[0] == Delta("Again")
    assert llm.client_gone.wait(5) and llm.connections == 2


@pytest.mark.parametrize("piece", [1, 2, 5])
def test_multi_byte_characters_split_across_chunks(llm, openai, piece):
    llm.piece = piece
    llm.script = [text_answer("您好！", "帐篷进入", "库存充足。")]
    got = acollect(openai, chat_request("有帐篷吗？"))
    assert got.text == "您好！帐篷进入库存充足。"


def test_a_session_per_event_loop(llm, openai):
    # Two loops, one after the other (as async_to_sync makes them): each gets a session of its own.
    assert acollect(openai, chat_request("Hi")).text == "Hello there"
    assert acollect(openai, chat_request("Hi")).text == "Hello there"
    openai.close()
    assert llm.connections == 2


def test_the_documented_provider_streams_natively_and_one_that_sends_its_own_request_from_a_thread(
    settings, tmp_path, monkeypatch
):
    # The documented example describes its request (stream_request): astream reads it with aiohttp. A
    # provider written before that, which sends its request itself (open_stream, requests), still
    # answers on the loop, through the blocking path in a worker thread.
    from tests.fakes.acme import FakeAcme
    from tests.test_provider_from_docs import MODULE, documented_provider_source

    (tmp_path / "myshop").mkdir()
    (tmp_path / "myshop" / "__init__.py").write_text("")
    (tmp_path / MODULE).write_text(
        documented_provider_source()
        + """

class SendsItsOwn(HTTPProvider):
    name = "acme-own"
    map_event = AcmeProvider.map_event
    headers = AcmeProvider.headers

    def open_stream(self, reply):
        request = reply.request
        return self.send(
            "POST",
            self.options.ACME_URL + "/v1/chat",
            json={"user": request.visitor.key, "text": request.text, "thread": request.state.get("thread")},
            headers=self.headers(),
            stream=True,
        )
"""
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with FakeAcme(key="acme-key") as acme:
            for name, natively in (("AcmeProvider", True), ("SendsItsOwn", False)):
                settings.CHATBOT = {
                    **settings.CHATBOT,
                    "PROVIDER": f"myshop.chat_provider.{name}",
                    "ACME_URL": acme.url,
                    "ACME_KEY": "acme-key",
                }
                provider = get_provider()
                assert provider.streams_natively is natively
                first, second = chat_request("Hi"), chat_request("Hi")
                assert acollect(provider, first).events == collect(provider, second).events
                provider.close()
    finally:
        for name in [n for n in sys.modules if n == "myshop" or n.startswith("myshop.")]:
            del sys.modules[name]
