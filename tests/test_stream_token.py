"""``POST stream-chat-token``: identity from the session only, short-lived tokens, no needless calls."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.fakes.stream_server import API_KEY, API_SECRET, stream_fixture  # noqa: F401 - fixture

TOKEN = "/api/chatbot/stream-chat-token"
pytestmark = pytest.mark.django_db


def test_token_is_for_the_session_visitor_whatever_the_body_says(stream, chat):
    response = chat.post(TOKEN, {"userId": "shop-assistant", "userRole": "admin"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "userId", "apiKey", "channelType", "channelId", "expiresAt", "baseUrl"}
    assert body["baseUrl"] == stream.url  # set only when STREAM_CHAT_BASE_URL is
    assert body["apiKey"] == API_KEY
    assert body["userId"].startswith("shop-guest-")
    assert body["userId"] != "shop-assistant"
    claims = jwt.decode(body["token"], API_SECRET, algorithms=["HS256"])
    assert claims["user_id"] == body["userId"]
    assert "role" not in claims and "server" not in claims
    now = time.time()
    assert now - 60 < claims["iat"] < now  # a few seconds in the past, against clock skew
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert API_SECRET not in response.content.decode()
    # The channel is the visitor's, with the assistant as the only other member.
    channel = stream.channels[f"messaging:{body['channelId']}"]
    assert channel["members"] == [body["userId"], "shop-assistant"]
    assert stream.users[body["userId"]]["role"] == "user"
    assistant = stream.users["shop-assistant"]
    assert assistant == {
        "id": "shop-assistant",
        "name": "Maple Helper",
        "role": "user",
        "image": "https://shop.example/helper.png",
    }


def test_returning_visitor_costs_no_call_to_stream_and_no_query_but_the_session(
    stream, chat, django_assert_num_queries
):
    first = chat.post(TOKEN).json()
    before = len(stream.ops())
    with django_assert_num_queries(1):  # the session (none with a shared cache for sessions)
        second = chat.post(TOKEN)
    assert second.status_code == 200
    assert len(stream.ops()) == before
    assert second.json()["channelId"] == first["channelId"]
    assert second.json()["userId"] == first["userId"]


def test_a_purged_channel_is_made_again_on_the_next_token(stream, chat):
    from chatbot.models import Conversation
    from chatbot.staff.purge import purge

    first = chat.post(TOKEN).json()
    purge(Conversation.objects.all())
    assert not any(key.endswith(first["channelId"]) for key in stream.channels)
    second = chat.post(TOKEN).json()
    assert second["channelId"] == first["channelId"]
    assert any(key.endswith(first["channelId"]) for key in stream.channels)


def test_two_visitors_get_two_channels_and_a_customer_is_known_by_account(stream, make_chat, customers):
    guest = make_chat()
    customer = make_chat()
    customer.client.force_login(customers["alice"])
    a = guest.post(TOKEN).json()
    b = customer.post(TOKEN).json()
    assert a["channelId"] != b["channelId"]
    assert b["userId"] == f"shop-user-{customers['alice'].pk}"
    assert stream.users[b["userId"]]["name"] == "alice"
    assert "email" not in stream.users[b["userId"]]


def test_token_needs_csrf(stream, make_chat):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(TOKEN, "{}", content_type="application/json")
    assert response.status_code == 403


def test_token_when_stream_is_off_is_503_with_a_reason(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STREAM_CHAT_ENABLED": False}
    response = chat.post(TOKEN)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stream_disabled"


def test_token_when_the_app_is_off_is_404(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "ENABLED": False}
    assert chat.post(TOKEN).status_code == 404


def test_token_when_stream_fails_is_503_with_a_reason(stream, chat):
    stream.fail("upsert users", 502)
    response = chat.post(TOKEN)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "stream_unavailable"
    assert "unavailable" in error["message"]
    # Nothing was remembered from the failed attempt: the next try does the whole setup.
    ok = chat.post(TOKEN)
    assert ok.status_code == 200
    assert f"messaging:{ok.json()['channelId']}" in stream.channels


def test_token_when_stream_rate_limits_is_503_with_retry_after(stream, chat):
    stream.fail("query channel", 429)
    response = chat.post(TOKEN)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stream_rate_limited"
    assert int(response["Retry-After"]) > 0
