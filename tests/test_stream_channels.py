"""Stream channel squatting: channel ids cannot be guessed (derived with the site's secret), and a
channel with one of our ids that someone else created, or that has other members, is never used.

The attacker talks to the loopback Stream server with the user token the site gave them, as a
browser would; the fake answers get-or-create as Stream does (the existing channel, as it is)."""

from __future__ import annotations

import jwt
import pytest
import requests
from django.core.cache import cache
from django.test import override_settings

from chatbot.models import Conversation, Message
from tests.fakes.stream_server import API_KEY, stream_fixture  # noqa: F401 - fixture

TOKEN = "/api/chatbot/stream-chat-token"
SEND = "/api/chatbot/stream-message"
pytestmark = pytest.mark.django_db(transaction=True)


def _as_visitor(stream, token: dict, path: str, body: dict) -> requests.Response:
    """A call to Stream with a visitor's own user token (what a browser client can do)."""
    return requests.post(
        f"{stream.url}{path}",
        params={"api_key": API_KEY},
        json=body,
        headers={"Authorization": token["token"], "stream-auth-type": "jwt"},
        timeout=10,
    )


def test_channel_ids_reveal_nothing_and_depend_on_the_site_secret(stream, make_chat, customers):
    alice = make_chat()
    alice.client.force_login(customers["alice"])
    first = alice.post(TOKEN).json()["channelId"]
    assert f"user-{customers['alice'].pk}" not in first and "alice" not in first
    assert first.startswith("shop-support-") and len(first) <= 64
    assert len(first.removeprefix("shop-support-")) >= 32
    guest = make_chat().post(TOKEN).json()
    guest_id = guest["userId"].removeprefix("shop-guest-")
    assert guest_id not in guest["channelId"]
    with override_settings(SECRET_KEY="another-site-secret-" + "x" * 40):
        stream.channels.clear()
        other = make_chat()
        other.client.force_login(customers["alice"])
        assert other.post(TOKEN).json()["channelId"] != first


def _squat(stream, attacker: dict, channel_id: str, victim_user_id: str) -> None:
    response = _as_visitor(
        stream,
        attacker,
        f"/channels/messaging/{channel_id}/query",
        {"data": {"members": [attacker["userId"], victim_user_id]}, "state": True, "watch": False},
    )
    assert response.status_code == 201, response.text
    channel = stream.channels[f"messaging:{channel_id}"]
    assert channel["created_by"] == attacker["userId"]


def test_a_channel_someone_else_created_first_is_never_used(stream, make_chat, customers):
    # The attacker learnt the customer's channel id (it cannot be guessed, so say it leaked).
    with override_settings(SECRET_KEY="leaked-" + "y" * 50):
        probe = make_chat()
        probe.client.force_login(customers["alice"])
        target = probe.post(TOKEN).json()
        # Back to before the customer's first visit: no channel, nothing remembered.
        stream.channels.clear()
        cache.clear()
        Conversation.objects.all().delete()
        attacker = make_chat().post(TOKEN).json()
        _squat(stream, attacker, target["channelId"], target["userId"])

        alice = make_chat()
        alice.client.force_login(customers["alice"])
        token = alice.post(TOKEN)
        assert token.status_code == 503, token.content
        assert token.json()["error"]["code"] == "stream_channel_conflict"
        sent = alice.post(SEND, {"text": "Where is my order 200001?"})
        assert sent.status_code == 503
    # Nothing of the customer's reached the attacker's channel, and no reply was queued for it.
    cid = f"messaging:{target['channelId']}"
    assert not [m for m in stream.messages.values() if m.get("cid") == cid]
    assert not Message.objects.filter(role="assistant", status="streaming").exists()
    assert not [c for c in stream.ops("send message") if c.params.get("id") == target["channelId"]]


def test_a_channel_of_ours_with_a_stranger_added_is_not_used(stream, make_chat, customers):
    alice = make_chat()
    alice.client.force_login(customers["alice"])
    token = alice.post(TOKEN).json()
    channel = stream.channels[f"messaging:{token['channelId']}"]
    assert channel["created_by"] == "shop-assistant"
    # Someone managed to get into the channel (a role with too many permissions on Stream's side).
    channel["members"].append("shop-guest-intruder")
    Conversation.objects.update(stream_channel_id="")  # the next message checks the channel again
    cache.clear()
    assert alice.post(TOKEN).status_code == 503
    assert alice.post(SEND, {"text": "my card is 4111 1111 1111 1111"}).status_code == 503
    assert not [m for m in stream.messages.values() if m.get("cid") == f"messaging:{token['channelId']}"]


def test_our_own_channel_is_used_as_before(stream, make_chat, customers):
    alice = make_chat()
    alice.client.force_login(customers["alice"])
    token = alice.post(TOKEN).json()
    claims = jwt.decode(token["token"], options={"verify_signature": False})
    assert claims["user_id"] == token["userId"]
    assert alice.post(SEND, {"text": "Hello"}).status_code == 202
