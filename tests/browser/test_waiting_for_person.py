"""Waiting for a person in real Chromium: the header says so with the expected wait, and a guest
leaves an email for the reply through the app's own API."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chatbot.business_hours import DAY_NAMES
from chatbot.models import Conversation
from tests.browser.conftest import screenshot
from tests.browser.widget import CHINESE, Chat

pytestmark = pytest.mark.browser
ALWAYS_OPEN = {"timezone": "UTC", "days": {d: ["00:00", "24:00"] for d in DAY_NAMES}}
NEVER_OPEN = {"timezone": "UTC", "days": {}}


def hand_off(chat: Chat) -> None:
    chat.dialog.get_by_role("button", name="Talk to a human").click()
    expect(chat.last_reply()).to_contain_text(re.compile("team", re.I))


def test_the_header_says_a_person_is_wanted_and_how_soon(pages, chatbot_conf):
    chatbot_conf(BUSINESS_HOURS=ALWAYS_OPEN, STAFF_REPLY_MINUTES=30)
    page = pages.open("/")
    chat = Chat(page).open()
    status = chat.dialog.get_by_role("status").filter(has_text="Waiting for a person")
    expect(status).to_have_count(0)
    hand_off(chat)
    expect(status).to_have_text("Waiting for a person We usually reply within 30 minutes.")
    expect(chat.dialog.get_by_role("textbox", name="Your email, for our reply")).to_be_visible()
    screenshot(page, "widget-waiting")
    # The next page of the shop says the same.
    page.goto("/returns/")
    expect(status).to_have_text(re.compile("We usually reply within 30 minutes"))


def test_offline_the_header_says_the_reply_comes_by_email(pages, chatbot_conf):
    chatbot_conf(BUSINESS_HOURS=NEVER_OPEN)
    chat = Chat(pages.open("/")).open()
    hand_off(chat)
    expect(chat.dialog.get_by_role("status").filter(has_text="Waiting for a person")).to_contain_text(
        "We're offline; we'll reply by email."
    )


def test_a_guest_leaves_an_email_a_bad_one_is_refused(pages):
    page = pages.open("/")
    chat = Chat(page).open()
    hand_off(chat)
    email = chat.dialog.get_by_role("textbox", name="Your email, for our reply")
    save = chat.dialog.get_by_role("button", name="Save", exact=True)
    email.fill("not-an-email")
    save.click()
    expect(chat.dialog.get_by_text("Please enter a valid email address.")).to_be_visible()
    expect(email).to_have_attribute("aria-invalid", "true")
    assert Conversation.objects.get().contact_email == ""
    email.fill("bo@example.com")
    email.press("Enter")
    expect(chat.dialog.get_by_text("We'll reply to bo@example.com.")).to_be_visible()
    expect(email).to_be_hidden()
    assert Conversation.objects.get().contact_email == "bo@example.com"
    # Remembered on the next page: the form is not offered again.
    page.reload()
    Chat(page).open()
    expect(chat.dialog.get_by_text("We'll reply to bo@example.com.")).to_be_visible()
    expect(email).to_be_hidden()


def test_the_waiting_words_follow_a_visitor_who_writes_chinese(pages):
    chat = Chat(pages.open("/")).open()
    chat.ask("转人工")
    chinese = Chat(chat.page, **CHINESE)
    expect(chinese.dialog.get_by_role("status").filter(has_text="正在等待人工客服")).to_be_visible()
    expect(chinese.dialog.get_by_role("textbox", name="您的电子邮箱，以便我们回复")).to_be_visible()


def test_staff_appear_by_first_name_and_initial_and_the_acknowledgement_takes_no_feedback(pages):
    from django.contrib.auth import get_user_model

    from chatbot.staff import actions

    page = pages.open("/")
    chat = Chat(page).open()
    hand_off(chat)
    acknowledgement = chat.last_reply()
    expect(acknowledgement.get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
    conversation = Conversation.objects.get()
    users = get_user_model().objects
    actions.staff_reply(conversation, users.create_user("sam.k", "sam.k@shop.example", "pw", first_name="Sam"), "Hi!")
    staff = chat.log.locator(".msg.staff")
    expect(staff).to_have_count(1)
    expect(staff.locator(".who")).to_have_text("SSam")
    expect(staff.locator(".avatar")).to_have_attribute("aria-hidden", "true")
    expect(staff).not_to_contain_text("sam.k")
    expect(staff.get_by_role("button", name="Helpful", exact=True)).to_have_count(0)
    actions.staff_reply(conversation, users.create_user("u8f3a2c9d1", "kim@shop.example", "pw"), "Hello")
    expect(staff).to_have_count(2)
    expect(staff.last.locator(".who")).to_have_text("SSupport team")
    expect(chat.dialog.get_by_role("status").filter(has_text="You're chatting with our team")).to_be_visible()
    # Reloaded from the history: the same, still no feedback on the acknowledgement.
    page.reload()
    Chat(page).open()
    expect(staff.first.locator(".who")).to_have_text("SSam")
    expect(chat.log.locator(".msg.assistant:not(.greeting)").get_by_role("button", name="Helpful")).to_have_count(0)


@pytest.mark.parametrize(
    ("name", "options", "ask", "staff_reply"),
    [
        ("widget-waiting-light", {}, "talk to a human", "Hi, I'm Sam. Your parcel left today."),
        ("widget-waiting-dark", {"color_scheme": "dark"}, "talk to a human", "Hi, I'm Sam. Your parcel left today."),
        (
            "widget-waiting-phone",
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
            "talk to a human",
            "Hi, I'm Sam. Your parcel left today.",
        ),
        ("widget-waiting-zh", {}, "转人工", "您好，我是 Sam。您的包裹今天已经发出。"),
    ],
)
def test_screenshots_of_a_visitor_with_our_team(pages, name, options, ask, staff_reply):
    """The documentation's pictures (docs/screenshots/), written to artifacts/screenshots/."""
    from django.contrib.auth import get_user_model

    from chatbot.staff import actions

    page = pages.open("/", **options)
    chat = Chat(page).open()
    chat.ask(ask)
    names = CHINESE if ask == "转人工" else {}
    chat = Chat(page, **names)
    chat.wait_until_idle()
    expect(chat.dialog.get_by_role("status").first).to_be_visible()
    sam = get_user_model().objects.create_user("sam.k", "sam.k@shop.example", "pw", first_name="Sam")
    actions.staff_reply(Conversation.objects.get(), sam, staff_reply)
    expect(chat.log.locator(".msg.staff")).to_contain_text(staff_reply)
    expect(chat.dialog.get_by_role("status").first).to_be_visible()
    screenshot(page, name)
