"""Oscar's dashboard inbox enforces the admin's rules: reading needs ``chatbot.view_conversation``;
replying, handing back and closing need ``chatbot.change_conversation``. Being staff is not enough."""

from __future__ import annotations

import pytest
from django.test import Client

from chatbot.models import Conversation, Message
from tests.test_staff_admin import waiting  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording"), pytest.mark.demo]

ACTIONS = [
    {"action": "reply", "text": "I read your orders"},
    {"action": "handback"},
    {"action": "close"},
    {"text": "no action given"},
    {"action": "something-else", "text": "x"},
]


def _staff(username: str, *codenames: str) -> Client:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, f"{username}@shop.example", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _snapshot(conversation: Conversation) -> tuple:
    conversation.refresh_from_db()
    messages = list(Message.objects.order_by("id").values_list("id", "role", "text"))
    return conversation.state, conversation.assigned_to_id, messages


def test_staff_without_chatbot_permissions_see_and_change_nothing(waiting):  # noqa: F811
    client = _staff("nora")
    before = _snapshot(waiting)
    for url in ("/dashboard/chat/", "/dashboard/chat/?state=waiting", f"/dashboard/chat/{waiting.pk}/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "200001" not in response.content.decode() and "Where is order" not in response.content.decode()
    for data in ACTIONS:
        assert client.post(f"/dashboard/chat/{waiting.pk}/", data).status_code == 403, data
    assert _snapshot(waiting) == before
    # Nor is the inbox offered in the dashboard's navigation.
    assert "/dashboard/chat/" not in client.get("/dashboard/").content.decode()


def test_view_only_staff_read_but_cannot_reply_hand_back_or_close(waiting):  # noqa: F811
    client = _staff("vera", "view_conversation")
    assert client.get("/dashboard/chat/").status_code == 200
    page = client.get(f"/dashboard/chat/{waiting.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where is order 200001?" in html
    assert 'name="action"' not in html, "no reply form without the change permission"
    assert "/dashboard/chat/" in client.get("/dashboard/").content.decode()
    before = _snapshot(waiting)
    for data in ACTIONS:
        assert client.post(f"/dashboard/chat/{waiting.pk}/", data).status_code == 403, data
    assert _snapshot(waiting) == before


def test_staff_who_may_change_conversations_reply_and_close(waiting):  # noqa: F811
    client = _staff("carl", "change_conversation")
    assert client.get(f"/dashboard/chat/{waiting.pk}/").status_code == 200
    response = client.post(f"/dashboard/chat/{waiting.pk}/", {"action": "reply", "text": "On its way"})
    assert response.status_code == 302
    assert Message.objects.filter(role="staff", text="On its way").exists()
    assert client.post(f"/dashboard/chat/{waiting.pk}/", {"action": "close"}).status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == Conversation.State.CLOSED
