"""The staff inbox in the Django admin and in Oscar's dashboard: listing, transcript, orders, reply,
hand back, close; who may use it; the sync and webhook pages."""

from __future__ import annotations

import pytest
from django.test import Client

from chatbot.models import Conversation, Message, SyncState, WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording")]


@pytest.fixture
def staff(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("sam", "sam@shop.example", "sam-pass", is_staff=True)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def waiting(chat, customers):
    """Alice, signed in, asked about her order and then for a human."""
    assert chat.client.login(username="alice", password="alice-pass")
    chat.ask("Where is order 200001?")
    chat.ask("talk to a human")
    return Conversation.objects.get(user=customers["alice"])


def change_url(conversation: Conversation) -> str:
    return f"/admin/chatbot/conversation/{conversation.pk}/change/"


def test_inbox_lists_conversations_by_state_newest_first(staff, waiting, make_chat):
    other = make_chat()
    other.ask("hello")
    page = staff.get("/admin/chatbot/conversation/?state__exact=waiting")
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice@example.com" in html and "Guest" not in html
    assert "Waiting for staff (1)" in html and "With the assistant (1)" in html
    everything = staff.get("/admin/chatbot/conversation/").content.decode()
    assert everything.index("Guest") < everything.index("alice@example.com"), "newest first"
    assert "/admin/chatbot/conversation/insights/" in everything


def test_conversation_page_shows_transcript_and_the_visitors_orders(staff, waiting):
    html = staff.get(change_url(waiting)).content.decode()
    assert "Where is order 200001?" in html and "talk to a human" in html
    assert "200001" in html and "Shipped" in html and "Trail Running Shoes" in html
    assert "200002" not in html, "only the visitor's own orders"
    assert 'name="action" value="handback"' in html


def test_reply_assigns_and_reaches_the_visitor(staff, waiting, chat):
    response = staff.post(change_url(waiting), {"action": "reply", "text": "Your parcel left today."})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == "staff" and waiting.assigned_to == staff.user
    message = Message.objects.get(role="staff")
    assert message.author == staff.user and message.text == "Your parcel left today."
    assert chat.history()["messages"][-1] == {**message.as_dict()}


def test_empty_reply_is_refused(staff, waiting):
    response = staff.post(change_url(waiting), {"action": "reply", "text": "   "})
    assert response.status_code == 200
    assert not Message.objects.filter(role="staff").exists()
    waiting.refresh_from_db()
    assert waiting.state == "waiting"


def test_hand_back_and_close(staff, waiting, chat, recording):
    staff.post(change_url(waiting), {"action": "handback"})
    waiting.refresh_from_db()
    assert waiting.state == "bot"
    assert Message.objects.filter(role="system", text__startswith="Handed back").exists()
    assert all(m["role"] != "system" for m in chat.history()["messages"]), "notes are for staff only"
    chat.ask("and the teapot?")
    assert recording.texts[-1] == "and the teapot?"

    staff.post(change_url(waiting), {"action": "close"})
    waiting.refresh_from_db()
    assert waiting.state == "closed"
    chat.ask("one more thing")
    assert Conversation.objects.filter(user=waiting.user).count() == 2


def test_visitors_cannot_use_the_inbox(waiting, customers):
    alice = Client()
    alice.force_login(customers["alice"])
    response = alice.post(change_url(waiting), {"action": "reply", "text": "I am staff now"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert alice.post(f"/dashboard/chat/{waiting.pk}/", {"action": "close"}).status_code == 302
    assert not Message.objects.filter(role="staff").exists()
    waiting.refresh_from_db()
    assert waiting.state == "waiting"
    assert alice.get("/dashboard/chat/").status_code == 302
    assert alice.get("/admin/chatbot/conversation/insights/").status_code == 302


def test_view_only_staff_cannot_reply(waiting):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    viewer = get_user_model().objects.create_user("vic", "vic@shop.example", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client = Client()
    client.force_login(viewer)
    assert client.get(change_url(waiting)).status_code == 200
    assert client.post(change_url(waiting), {"action": "close"}).status_code == 403


def test_oscar_dashboard_inbox(staff, waiting, chat):
    dashboard = staff.get("/dashboard/")
    assert dashboard.status_code == 200
    assert "/dashboard/chat/" in dashboard.content.decode(), "linked from the dashboard navigation"
    inbox = staff.get("/dashboard/chat/?state=waiting").content.decode()
    assert "alice@example.com" in inbox
    page = staff.get(f"/dashboard/chat/{waiting.pk}/").content.decode()
    assert "Where is order 200001?" in page and "200001" in page
    response = staff.post(f"/dashboard/chat/{waiting.pk}/", {"action": "reply", "text": "From the dashboard"})
    assert response.status_code == 302
    assert chat.history()["messages"][-1]["text"] == "From the dashboard"
    staff.post(f"/dashboard/chat/{waiting.pk}/", {"action": "close"})
    waiting.refresh_from_db()
    assert waiting.state == "closed"


def test_sync_and_webhook_pages(staff, queued_tasks):
    SyncState.objects.create(kind="products", result="failed", last_error="HTTP 503: down", records_sent=10)
    WebhookDelivery.objects.create(event="product.updated", status="failed", attempts=6, last_error="HTTP 500")
    page = staff.get("/admin/chatbot/syncstate/").content.decode()
    assert "Failed" in page and "10" in page
    page = staff.get("/admin/chatbot/webhookdelivery/?status__exact=failed").content.decode()
    assert "product.updated" in page and "HTTP 500" in page

    delivery = WebhookDelivery.objects.get()
    response = staff.post("/admin/chatbot/webhookdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert [r.args for r in queued_tasks.results] == [[delivery.pk]]
