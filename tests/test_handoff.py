"""Handing a conversation to staff: the bot stops, staff are told, the staff reply reaches the visitor;
business hours; offering a human when the assistant is stuck."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.dispatch import receiver
from django.test import Client
from django.utils import timezone

from chatbot.business_hours import DAY_NAMES, BusinessHours
from chatbot.exceptions import ChatbotConfigurationError
from chatbot.handoff import OFFER_CHIP, asks_for_human, describe_time, handoff_notice, sounds_frustrated
from chatbot.models import Conversation, Message
from chatbot.signals import handoff_requested
from tests.conftest import reply_text, run_queued_tasks
from tests.fakes.smtp import FakeSMTP

LONDON_WEEKDAYS = {"timezone": "Europe/London", "days": {d: ["09:00", "17:30"] for d in DAY_NAMES[:5]}}
pytestmark = pytest.mark.django_db
ALWAYS_OPEN = {"timezone": "UTC", "days": {d: ["00:00", "24:00"] for d in DAY_NAMES}}


@pytest.fixture(autouse=True)
def recording(recording, settings):
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_EMAILS": ["help@shop.example"]}
    return recording


@pytest.fixture
def staff_client(db):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("sam", "sam@shop.example", "sam-pass", first_name="Sam")
    client = Client()
    client.force_login(staff)
    client.user = staff
    return client


def closed_for_two_days() -> dict:
    # Open only on the day after tomorrow: closed now, however long the test takes.
    day = DAY_NAMES[(timezone.now().astimezone(UTC).weekday() + 2) % 7]
    return {"timezone": "UTC", "days": {day: ["09:00", "17:00"]}}


# -- recognising a request for a human ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a human please?",
        "speak with an agent",
        "I want a real person",
        "agent",
        "Connect me to customer service staff now",
        "I need a human",
        "转人工",
        "我要人工客服",
        "请帮我联系客服",
    ],
)
def test_requests_for_a_human_are_recognised(text):
    assert asks_for_human(text)


@pytest.mark.parametrize(
    "text", ["Do you sell human hair brushes?", "Is the agent of change book in stock?", "人工智能是什么", "hello"]
)
def test_ordinary_questions_are_not_handoffs(text):
    assert not asks_for_human(text)


@pytest.mark.parametrize("text", ["this is useless", "Not helpful at all", "you don't understand", "没用", "答非所问"])
def test_frustration_is_recognised(text):
    assert sounds_frustrated(text)


def test_neutral_words_are_not_frustration():
    assert not sounds_frustrated("Is this jacket useful in rain?")


# -- the handoff over HTTP -------------------------------------------------------------------------------


def test_handoff_stops_the_bot_and_the_staff_reply_reaches_the_visitor(
    chat, staff_client, recording, django_capture_on_commit_callbacks
):
    chat.ask("Do you ship to Ireland?")
    assert recording.texts == ["Do you ship to Ireland?"]

    with django_capture_on_commit_callbacks(execute=True):
        events = chat.ask("I'd like to talk to a human please")
    done = dict(events)["done"]
    assert done["conversation"]["state"] == "waiting"
    assert "member of our team" in done["text"]
    conversation = Conversation.objects.get()
    assert conversation.state == "waiting" and conversation.handoff_requested_at is not None

    events = chat.ask("My order is late, number 12345")
    assert reply_text(events) == ""
    assert recording.texts == ["Do you ship to Ireland?"], "no provider call while waiting for staff"
    last_id = chat.history()["messages"][-1]["id"]

    response = staff_client.post(
        f"/admin/chatbot/conversation/{conversation.pk}/change/", {"action": "reply", "text": "Hi, Sam here."}
    )
    assert response.status_code == 302
    polled = chat.client.get(f"/api/chatbot/messages?after={last_id}").json()
    assert [(m["role"], m["text"]) for m in polled["messages"]] == [("staff", "Hi, Sam here.")]
    assert polled["conversation"]["state"] == "staff"
    conversation.refresh_from_db()
    assert conversation.assigned_to == staff_client.user

    chat.ask("Thanks Sam")
    assert len(recording.calls) == 1, "staff are answering now"

    staff_client.post(f"/admin/chatbot/conversation/{conversation.pk}/change/", {"action": "handback"})
    chat.ask("Is the teapot in stock?")
    assert recording.texts[-1] == "Is the teapot in stock?"


def test_staff_are_emailed_with_a_link_to_the_conversation(chat, django_capture_on_commit_callbacks, queued_tasks):
    with django_capture_on_commit_callbacks(execute=True):
        chat.ask("转人工")
    conversation = Conversation.objects.get()
    assert mail.outbox == [], "the email goes from a task, never from the visitor's request"
    run_queued_tasks()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["help@shop.example"]
    assert f"/admin/chatbot/conversation/{conversation.pk}/change/" in email.body
    assert "转人工" in email.body
    # A second request while waiting does not notify again.
    with django_capture_on_commit_callbacks(execute=True):
        chat.ask("转人工")
    assert queued_tasks.results == []
    assert len(mail.outbox) == 1


def test_a_slow_mail_server_does_not_hold_back_the_visitors_acknowledgement(task_worker, chat, settings):
    # The email is a task the worker sends: the visitor's request never waits for the mail server.
    with FakeSMTP(hold=True) as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp.port, 10
        done = dict(chat.ask("talk to a human"))["done"]
        assert done["text"] and Conversation.objects.get().state == "waiting", "the visitor is answered"
        assert smtp.connected.wait(10), "the email is on its way"
        assert not smtp.delivered.is_set(), "and the mail server has not answered yet"
        smtp.release.set()
        assert smtp.delivered.wait(10)
    (email,) = smtp.messages
    assert email["To"] == "help@shop.example"
    assert str(Conversation.objects.get().pk) in email.get_payload()


def test_chinese_request_gets_a_chinese_acknowledgement(chat, settings):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": ALWAYS_OPEN}
    done = dict(chat.ask("我要人工客服"))["done"]
    assert done["text"].startswith("已为您转接人工客服")


def test_no_email_without_staff_emails_but_the_signal_fires(
    chat, settings, django_capture_on_commit_callbacks, queued_tasks
):
    settings.CHATBOT = {**settings.CHATBOT, "STAFF_EMAILS": []}
    seen = []

    @receiver(handoff_requested)
    def note(sender, conversation, **kwargs):
        seen.append(conversation.pk)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            chat.ask("talk to a human")
    finally:
        handoff_requested.disconnect(note)
    assert seen == [Conversation.objects.get().pk]
    run_queued_tasks()
    assert mail.outbox == []


# -- business hours ----------------------------------------------------------------------------------------


def test_outside_business_hours_the_visitor_is_told_when_and_the_bot_keeps_helping(
    chat, settings, recording, django_capture_on_commit_callbacks, queued_tasks
):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": closed_for_two_days()}
    with django_capture_on_commit_callbacks(execute=True):
        done = dict(chat.ask("talk to a human"))["done"]
    assert "away right now" in done["text"] and "09:00 (UTC time)" in done["text"]
    assert Conversation.objects.get().state == "waiting"
    assert recording.calls == []
    run_queued_tasks()
    assert "outside business hours" in mail.outbox[0].body

    events = chat.ask("What sizes do the boots come in?")
    assert reply_text(events) == "Happy to help with that."
    assert recording.texts == ["What sizes do the boots come in?"]
    assert Conversation.objects.get().state == "waiting", "still queued for staff"


def test_within_business_hours_the_bot_waits_for_staff(chat, settings, recording):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": ALWAYS_OPEN}
    chat.ask("talk to a human")
    chat.ask("hello?")
    assert recording.calls == []


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_business_hours_open_and_next_opening():
    hours = BusinessHours(LONDON_WEEKDAYS)
    assert hours.is_open(at("2026-07-01T08:30:00+00:00"))  # 09:30 in London (BST)
    assert not hours.is_open(at("2026-07-01T07:30:00+00:00"))  # 08:30 in London
    assert not hours.is_open(at("2026-07-01T16:30:00+00:00"))  # 17:30 in London: closed
    friday_evening = at("2026-11-27T18:00:00+00:00")
    assert hours.next_opening(friday_evening) == at("2026-11-30T09:00:00+00:00")
    # Across the clocks going forward: Monday 09:00 BST is 08:00 UTC.
    assert hours.next_opening(at("2026-03-27T20:00:00+00:00")) == at("2026-03-30T08:00:00+00:00")
    assert hours.next_opening(at("2026-07-01T08:30:00+00:00")) == at("2026-07-01T08:30:00+00:00")


def test_split_days_and_never_open():
    hours = BusinessHours({"timezone": "Asia/Shanghai", "days": {"sat": [["09:00", "12:00"], ["14:00", "18:00"]]}})
    saturday_lunch = at("2026-11-28T12:30:00+08:00")
    assert not hours.is_open(saturday_lunch)
    assert hours.next_opening(saturday_lunch) == at("2026-11-28T14:00:00+08:00")
    assert BusinessHours({"timezone": "UTC", "days": {}}).next_opening(saturday_lunch) is None


@pytest.mark.parametrize(
    "config",
    [
        {"timezone": "Mars/Olympus", "days": {}},
        {"timezone": "UTC", "days": {"monday": ["09:00", "17:00"]}},
        {"timezone": "UTC", "days": {"mon": ["17:00", "09:00"]}},
        {"timezone": "UTC", "days": {"mon": ["nine", "five"]}},
    ],
)
def test_bad_business_hours_are_configuration_errors(config):
    with pytest.raises(ChatbotConfigurationError):
        BusinessHours(config)


def test_acknowledgement_names_the_next_opening(settings):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": LONDON_WEEKDAYS}
    friday_evening = at("2026-11-27T18:00:00+00:00")
    assert "on Monday at 09:00 (Europe/London time)" in handoff_notice("en", friday_evening)
    assert "周一 09:00（Europe/London 时间）" in handoff_notice("zh-hans", friday_evening)
    early = at("2026-11-30T07:00:00+00:00")
    assert "today at 09:00" in handoff_notice("en-gb", early)
    assert handoff_notice("en", at("2026-11-30T10:00:00+00:00")).startswith("I've asked a member of our team")
    opening = BusinessHours(LONDON_WEEKDAYS).next_opening(at("2026-11-29T12:00:00+00:00"))
    assert describe_time(opening, "en", at("2026-11-29T12:00:00+00:00")) == "tomorrow at 09:00 (Europe/London time)"


def test_without_business_hours_staff_count_as_available(settings):
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": None}
    assert handoff_notice("en").startswith("I've asked a member of our team")


# -- offering a human ------------------------------------------------------------------------------------


def test_a_frustrated_visitor_is_offered_a_human(chat, recording):
    chat.ask("where is my parcel?")
    done = dict(chat.ask("this is useless"))["done"]
    assert "talk to a human" in done["text"]
    assert done["suggestions"][0] == OFFER_CHIP["en"]
    stored = Message.objects.filter(role="assistant").last()
    assert stored.text == done["text"]
    assert Conversation.objects.get().state == "bot", "an offer is not a handoff"


def test_the_offer_is_a_step_of_the_turn_stored_with_the_reply_not_a_receiver_rewriting_it(chat, recording):
    from chatbot.signals import reply_finished

    seen: list[tuple[str, list]] = []

    def listener(sender, message, **kwargs) -> None:
        # What a receiver is told is the stored reply, offer included.
        stored = Message.objects.get(pk=message.pk)
        seen.append((stored.text, stored.suggestions))

    # Without any other receiver of the signal, the offer is still made.
    receivers, reply_finished.receivers = reply_finished.receivers, []
    reply_finished.sender_receivers_cache.clear()
    reply_finished.connect(listener, weak=False)
    try:
        done = dict(chat.ask("this is useless"))["done"]
    finally:
        reply_finished.receivers = receivers
        reply_finished.sender_receivers_cache.clear()
    assert "talk to a human" in done["text"]
    assert seen == [(done["text"], done["suggestions"])]


def test_chinese_frustration_gets_a_chinese_offer(chat, recording):
    done = dict(chat.ask("你们这个客服真没用"))["done"]
    assert "转人工" in done["text"] and done["suggestions"][0] == "转人工"


def test_two_empty_handed_answers_in_a_row_offer_a_human(chat, recording):
    recording.reply = "I couldn't find any products matching that."
    first = dict(chat.ask("purple unicorn saddle"))["done"]
    assert "talk to a human" not in first["text"]
    second = dict(chat.ask("rainbow unicorn saddle"))["done"]
    assert second["text"].endswith('just say "talk to a human".')
    recording.reply = "Here you go."
    assert "human" not in dict(chat.ask("teapot"))["done"]["text"]


def test_two_errors_in_a_row_add_an_offer_after_the_error(chat, recording):
    recording.fail = True
    assert "error" in dict(chat.ask("hello"))
    assert "error" in dict(chat.ask("hello again"))
    messages = chat.history()["messages"]
    assert messages[-1]["role"] == "assistant" and "talk to a human" in messages[-1]["text"]
    assert messages[-2]["status"] == "error"


def test_the_offer_chip_starts_a_handoff(chat, recording):
    chat.ask("this is not helpful")
    chat.ask(OFFER_CHIP["en"])
    assert Conversation.objects.get().state == "waiting"


def test_bad_business_hours_are_a_system_check_error(settings):
    from chatbot.business_hours import check_business_hours

    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": {"timezone": "UTC", "days": {"mon": ["9", "5"]}}}
    (error,) = check_business_hours()
    assert error.id == "chatbot.E060"
    settings.CHATBOT = {**settings.CHATBOT, "BUSINESS_HOURS": LONDON_WEEKDAYS}
    assert check_business_hours() == []
