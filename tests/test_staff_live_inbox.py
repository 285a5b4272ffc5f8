"""The staff inbox stays current without a reload: the conversation page's JSON (admin and dashboard)
with the same permissions as the page, and the number of conversations waiting for a person on the
admin index and in the dashboard's menu."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from chatbot.models import Conversation, Message
from chatbot.staff import actions

pytestmark = pytest.mark.django_db


def staff(username: str, *codenames: str, is_staff: bool = True) -> Client:
    user = get_user_model().objects.create_user(username, f"{username}@shop.example", "pw", is_staff=is_staff)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot", codename__in=codenames))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def conversation() -> Conversation:
    conversation = Conversation.objects.create(guest_id="g" * 32, state=Conversation.State.WAITING)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, text="Where is my parcel?")
    return conversation


def live_urls(conversation: Conversation) -> list[str]:
    return [f"/admin/chatbot/conversation/{conversation.pk}/live/", f"/dashboard/chat/{conversation.pk}/live/"]


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_new_messages_after_the_cursor_come_rendered_as_the_page_renders_them(conversation):
    reader = staff("rita", "view_conversation")
    first = conversation.messages.get().pk
    for url in live_urls(conversation):
        page = reader.get(url, {"after": first}).json()
        assert page["messages"] == [] and page["after"] == first
        assert page["state"] == "waiting" and page["stateLabel"] == "Waiting for staff"
        assert page["waiting"] == 1
    actions.staff_reply(conversation, staff("sam", "change_conversation").user, "It left <b>today</b>.")
    for url in live_urls(conversation):
        page = reader.get(url, {"after": first}).json()
        assert [m["id"] for m in page["messages"]] == [page["after"]]
        html = page["messages"][0]["html"]
        assert "chatbot-staff" in html and "It left &lt;b&gt;today&lt;/b&gt;." in html and "<b>" not in html
        assert page["state"] == "staff" and page["waiting"] == 0


def test_a_reply_still_streaming_is_sent_again_until_it_is_finished(conversation):
    reader = staff("rita", "view_conversation")
    question = conversation.messages.get().pk
    reply = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING, text="Let me"
    )
    url = live_urls(conversation)[0]
    page = reader.get(url, {"after": question}).json()
    assert [m["id"] for m in page["messages"]] == [reply.pk] and page["after"] == question
    Message.objects.filter(pk=reply.pk).update(status=Message.Status.DONE, text="Let me check: it left today.")
    page = reader.get(url, {"after": page["after"]}).json()
    assert "it left today" in page["messages"][0]["html"] and page["after"] == reply.pk


@pytest.mark.demo  # the dashboard or the demo's admin index
@pytest.mark.parametrize("after", ["x", "-1", "1" * 40])
def test_a_bad_cursor_is_a_400(conversation, after):
    reader = staff("rita", "view_conversation")
    for url in live_urls(conversation):
        response = reader.get(url, {"after": after})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_only_staff_who_may_read_conversations_get_it(conversation):
    for client in (staff("pat"), staff("cust", "view_conversation", is_staff=False), Client()):
        for url in live_urls(conversation):
            response = client.get(url)
            assert response.status_code in (302, 403), (url, response.status_code)
            assert b"Where is my parcel" not in response.content
    missing = f"/admin/chatbot/conversation/{conversation.pk + 99}/live/"
    assert staff("rita", "view_conversation").get(missing).status_code == 404


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_the_conversation_pages_poll_their_own_endpoint(conversation):
    reader = staff("rita", "view_conversation")
    admin_page = reader.get(f"/admin/chatbot/conversation/{conversation.pk}/change/").content.decode()
    dashboard_page = reader.get(f"/dashboard/chat/{conversation.pk}/").content.decode()
    last = conversation.messages.get().pk
    for page, url in zip((admin_page, dashboard_page), live_urls(conversation), strict=True):
        assert f'data-chatbot-live="{url}" data-after="{last}"' in page
        assert "/static/chatbot/staff/inbox.js" in page


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_the_waiting_count_on_the_admin_index_and_in_the_dashboard_menu(conversation):
    Conversation.objects.create(guest_id="h" * 32, state=Conversation.State.WAITING)
    Conversation.objects.create(guest_id="i" * 32, state=Conversation.State.STAFF)
    reader = staff("rita", "view_conversation")
    index = reader.get("/admin/").content.decode()
    assert "Support chat, waiting for a person: <strong data-chatbot-waiting>2</strong>" in index
    assert 'href="/admin/chatbot/conversation/?state__exact=waiting"' in index
    assert "Support chat (2 waiting)" in reader.get("/dashboard/").content.decode()
    # Staff who may not read conversations see neither.
    other = staff("pat")
    assert "waiting for a person" not in other.get("/admin/").content.decode()
    assert "Support chat" not in other.get("/dashboard/").content.decode()
