"""The transcript staff read in the Django admin, in Chromium: the reply as the visitor saw it, inert."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from chatbot.models import Conversation, Message
from tests.browser.test_xss import ATTACKS

pytestmark = pytest.mark.browser


def test_staff_read_the_reply_as_the_visitor_saw_it_and_its_markup_stays_text(pages):
    staff = get_user_model().objects.create_user("sam", "sam@shop.example", "sam-pass", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    customer = get_user_model().objects.create_user(
        "u8f3a2c9d1", "alice@example.com", "pw", first_name="Alice", last_name="Smith"
    )
    conversation = Conversation.objects.create(user=customer, state=Conversation.State.WAITING)
    Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text="We have:\n\n- **Hiking Boots**, [see them](/catalogue/)\n- Trail shoes\n\n" + "\n\n".join(ATTACKS),
    )
    page = pages.open("/admin/login/?next=/admin/chatbot/conversation/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("sam-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Alice Smith <alice@example.com>").click()

    transcript = page.get_by_role("log")
    expect(transcript.get_by_role("link", name="see them")).to_have_attribute("href", "/catalogue/")
    expect(transcript.locator("strong", has_text="Hiking Boots")).to_be_visible()
    expect(transcript.get_by_role("listitem").filter(has_text="Trail shoes").last).to_have_text("Trail shoes")
    expect(transcript).to_contain_text("<script>window.__pwned=2</script>")
    expect(transcript.locator("img, script, iframe, svg")).to_have_count(0)
    hrefs = transcript.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["/catalogue/"]
    assert page.evaluate("window.__pwned") is None


def test_new_messages_appear_in_the_open_conversation_without_a_reload(pages):
    staff = get_user_model().objects.create_user("sam", "sam@shop.example", "sam-pass", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    conversation = Conversation.objects.create(guest_id="g" * 32, state=Conversation.State.BOT)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, text="Hello?")
    page = pages.open("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("sam-pass")
    page.get_by_role("button", name="Log in").click()
    waiting = page.get_by_role("link", name="Support chat, waiting for a person: 0")
    expect(waiting).to_be_visible()
    for path in (f"/admin/chatbot/conversation/{conversation.pk}/change/", f"/dashboard/chat/{conversation.pk}/"):
        page.goto(path)
        transcript = page.get_by_role("log")
        expect(transcript.get_by_role("listitem")).to_have_count(Message.objects.count())
        text = f"Is anyone there? ({path.split('/')[1]}) <img src=x onerror=window.__pwned=1>"
        Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text)
        Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.WAITING)
        expect(transcript.get_by_role("listitem").last).to_contain_text(text)
        expect(page.locator(".chatbot-state")).to_have_text("Waiting for staff")
        assert page.evaluate("window.__pwned") is None
    page.goto("/admin/")
    expect(page.get_by_role("link", name="Support chat, waiting for a person: 1")).to_be_visible()
    page.goto("/dashboard/")
    expect(page.get_by_role("link", name="Support chat (1 waiting)")).to_be_visible()


def test_a_canned_reply_goes_into_the_reply_box_with_a_click_and_is_sent(pages):
    from chatbot.models import CannedReply

    staff = get_user_model().objects.create_user("sam", "sam@shop.example", "sam-pass", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="chatbot"))
    CannedReply.objects.create(title="Delivery times", text="Orders leave within <b>2 days</b>.")
    conversation = Conversation.objects.create(guest_id="g" * 32, state=Conversation.State.WAITING)
    page = pages.open(f"/admin/login/?next=/dashboard/chat/{conversation.pk}/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("sam-pass")
    page.get_by_role("button", name="Log in").click()
    for path in (f"/admin/chatbot/conversation/{conversation.pk}/change/", f"/dashboard/chat/{conversation.pk}/"):
        page.goto(path)
        box = page.get_by_role("textbox", name="Reply")
        box.fill("Hi! ")
        page.get_by_role("group", name="Canned replies").get_by_role("button", name="Delivery times").click()
        expect(box).to_have_value("Hi! Orders leave within <b>2 days</b>.")
        expect(box).to_be_focused()
        page.get_by_role("button", name="Send reply").click()
        expect(page.get_by_role("log").get_by_role("listitem").last).to_contain_text(
            "Hi! Orders leave within <b>2 days</b>."
        )
    assert Message.objects.filter(role=Message.Role.STAFF).count() == 2
