"""Waiting for a person: the widget's header words from business hours, and the email a guest leaves
for the reply (``GET``/``POST /api/chatbot/handoff``), as staff then see it."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from chatbot.business_hours import DAY_NAMES
from chatbot.models import Conversation

pytestmark = pytest.mark.django_db
URL = "/api/chatbot/handoff"
ALWAYS_OPEN = {"timezone": "UTC", "days": {d: ["00:00", "24:00"] for d in DAY_NAMES}}


@pytest.fixture(autouse=True)
def _assistant(recording):
    return recording


def closed_now() -> dict:
    day = DAY_NAMES[(timezone.now().astimezone(UTC).weekday() + 2) % 7]
    return {"timezone": "UTC", "days": {day: ["09:00", "17:00"]}}


def waiting(chat) -> Conversation:
    chat.ask("talk to a human")
    return Conversation.objects.get(state=Conversation.State.WAITING)


def test_nothing_to_say_while_the_assistant_answers(chat):
    assert chat.client.get(URL).json() == {"state": None, "title": "", "wait": "", "open": None, "email": None}
    chat.ask("What is your returns policy?")
    assert chat.client.get(URL).json()["title"] == ""


def test_within_hours_the_header_gives_the_usual_wait(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": ALWAYS_OPEN, "STAFF_REPLY_MINUTES": 120}
    waiting(chat)
    data = chat.client.get(URL).json()
    assert data["state"] == "waiting"
    assert data["title"] == "Waiting for a person"
    assert data["wait"] == "We usually reply within 2 hours."
    assert data["open"] is True
    assert data["email"] == {"value": "", "label": "Your email, for our reply", "save": "Save", "saved": ""}


def test_outside_hours_the_reply_comes_by_email(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": closed_now()}
    waiting(chat)
    data = chat.client.get(URL).json()
    assert data["wait"] == "We're offline; we'll reply by email."
    assert data["open"] is False


def test_the_words_follow_the_language_the_visitor_writes(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_REPLY_MINUTES": 15}
    waiting(chat)
    data = chat.client.get(URL, {"lang": "zh-hans"}).json()
    assert data["title"] == "正在等待人工客服"
    assert data["wait"] == "我们通常在 15 分钟内回复。"
    # A language the site does not have falls back to the page's.
    assert chat.client.get(URL, {"lang": "xx"}).json()["title"] == "Waiting for a person"


def test_a_guest_leaves_an_email_for_the_reply(chat):
    conversation = waiting(chat)
    response = chat.post(URL, {"email": "bo@example.com"})
    assert response.status_code == 200
    assert response.json()["email"]["value"] == "bo@example.com"
    assert response.json()["email"]["saved"] == "We'll reply to bo@example.com."
    conversation.refresh_from_db()
    assert conversation.contact_email == "bo@example.com"
    assert chat.client.get(URL).json()["email"]["value"] == "bo@example.com"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not an email"},
        {"email": ""},
        {"email": 5},
        {},
        {"mail": "a@b.co"},
        {"email": None},
        {"email": ["a@b.co"]},
        {"email": "a" * 300 + "@example.com"},
        {"email": "a@b.co\nBcc: c@d.co"},
        {"email": "客服 @例子.中国"},
    ],
)
def test_a_bad_email_is_refused_and_changes_nothing(chat, body):
    conversation = waiting(chat)
    chat.post(URL, {"email": "first@example.com"})
    response = chat.post(URL, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_email"
    assert response.json()["error"]["message"] == "Please enter a valid email address."
    conversation.refresh_from_db()
    assert conversation.contact_email == "first@example.com"


def test_no_email_without_a_conversation_waiting_for_a_person(chat):
    response = chat.post(URL, {"email": "bo@example.com"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_waiting"
    chat.ask("What is your returns policy?")
    assert chat.post(URL, {"email": "bo@example.com"}).status_code == 409
    assert not Conversation.objects.exclude(contact_email="").exists()


def test_the_email_goes_on_the_session_s_own_conversation_only(chat, make_chat):
    mine = waiting(chat)
    other = make_chat()
    other.ask("talk to a human")
    theirs = Conversation.objects.exclude(pk=mine.pk).get()
    # Naming the other conversation in the body changes nothing: the session decides.
    response = other.post(URL, {"email": "eve@example.com", "conversation": str(mine.public_id)})
    assert response.status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.contact_email, theirs.contact_email) == ("", "eve@example.com")


def test_csrf_is_required(chat):
    waiting(chat)
    response = chat.client.post(URL, '{"email": "bo@example.com"}', content_type="application/json")
    assert response.status_code == 403
    assert not Conversation.objects.exclude(contact_email="").exists()


def test_a_signed_in_customer_is_answered_at_their_account_address(chat):
    customer = get_user_model().objects.create_user("c1", "cara@example.com", "pw", first_name="Cara")
    chat.client.force_login(customer)
    waiting(chat)
    assert chat.client.get(URL).json()["email"] is None
    assert chat.post(URL, {"email": "other@example.com"}).status_code == 403
    assert Conversation.objects.get().contact_email == ""


@pytest.mark.demo  # the dashboard or the demo's admin index
def test_staff_see_the_email_in_the_admin_and_the_dashboard(chat):
    conversation = waiting(chat)
    chat.post(URL, {"email": "bo@example.com"})
    staff = get_user_model().objects.create_user("sam", "sam@shop.example", "pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client = Client()
    client.force_login(staff)
    label = f"Guest {conversation.guest_id[:8]} &lt;bo@example.com&gt;"
    for path in (
        "/admin/chatbot/conversation/",
        f"/admin/chatbot/conversation/{conversation.pk}/change/",
        "/dashboard/chat/",
        f"/dashboard/chat/{conversation.pk}/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert label in response.content.decode(), path
    page = client.get(f"/admin/chatbot/conversation/{conversation.pk}/change/").content.decode()
    assert 'href="mailto:bo@example.com"' in page


@pytest.mark.parametrize("minutes", [0, -5, "60", 1.5, True, None])
def test_a_usual_wait_that_is_not_whole_minutes_is_a_system_check_error(settings, minutes):
    from chatbot.business_hours import check_business_hours

    settings.CHATBOT = {**settings.CHATBOT, "STAFF_REPLY_MINUTES": minutes}
    assert [error.id for error in check_business_hours()] == ["chatbot.E061"]
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_REPLY_MINUTES": 45}
    assert check_business_hours() == []
